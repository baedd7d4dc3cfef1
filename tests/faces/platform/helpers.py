"""An operator token on a real app, beside the two orgs of the admin API tests."""

from __future__ import annotations

from dataclasses import dataclass

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import operators
from scimitar.storage.database import Database
from tests.faces.admin.helpers import Api, Site


def operator_token(db: Database, name: str = "host") -> str:
    with db.write() as conn:
        secret, _ = operators.create_token(Tx(conn, CLI_ACTOR), name)
    return secret


@dataclass
class Platform:
    """The admin API's site (orgs acme and globex) and an operator token."""

    site: Site
    token: str

    @property
    def operator(self) -> Api:
        return Api(self.site.client, {"Authorization": f"Bearer {self.token}"})

    def create_org(self, slug: str, **fields: object) -> dict[str, object]:
        body = {
            "name": slug.title(),
            "slug": slug,
            "owner_email": f"owner@{slug}.example",
            **fields,
        }
        created: dict[str, object] = self.operator.post("/orgs", body)
        return created
