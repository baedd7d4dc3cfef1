"""Which SCIM reads count as point reads (run inline on SQLite, see `ScimApi.endpoint`)."""

from __future__ import annotations

import pytest

from scimitar.faces.scim.call import Call
from scimitar.faces.scim.groups_api import GROUPS
from scimitar.faces.scim.resources import Resources
from scimitar.faces.scim.users_api import USERS


def call(query: dict[str, str] | None = None, **params: str) -> Call:
    return Call("GET", "/scim/Users", "http://x/scim", params, query or {}, {})


@pytest.mark.parametrize(
    ("resources", "request_", "one"),
    [
        (USERS, call({"filter": 'userName eq "a@example.com"'}), True),
        (USERS, call({"filter": 'id eq "x"', "attributes": "userName"}), True),
        (USERS, call(id="x"), True),
        (USERS, call({"filter": 'externalId eq "x"'}), False),  # not unique
        (USERS, call({"filter": 'userName co "a"'}), False),
        (USERS, call({"filter": 'userName eq "a"', "startindex": "2"}), False),
        (USERS, call({"filter": 'userName eq "a"', "sortby": "userName"}), False),
        (USERS, call({"filter": "userName eq"}), False),  # malformed: the handler says why
        (USERS, call({"filter": 'shoeSize eq "a"'}), False),
        (USERS, call({"count": "x", "filter": 'userName eq "a"'}), False),
        (USERS, call(), False),
        (GROUPS, call({"filter": 'displayName eq "Eng"'}), False),  # members: unbounded
        (GROUPS, call({"filter": 'displayName eq "Eng"', "excludedattributes": "members"}), True),
        (GROUPS, call({"filter": 'displayName eq "Eng"', "attributes": "displayName"}), True),
        (GROUPS, call(id="x"), False),
        (GROUPS, call({"excludedattributes": "members"}, id="x"), True),
    ],
)
def test_point_reads(resources: Resources[object], request_: Call, one: bool) -> None:  # type: ignore[type-var]
    assert resources.reads_one(request_) is one
