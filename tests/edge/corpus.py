"""One corpus of hostile inputs, each with the one answer both engines must give.

Every case is (what it is, method, path, JSON body or None, expected status). A value no
database stores is refused before it reaches one (`storage.limits`): SCIM 400, admin API 422,
an id in a path 404, another value looked up (a query) admin 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scimitar.storage.limits import INDEXED_BYTES, text_limit
from scimitar.storage.tables import (
    api_tokens,
    groups,
    member_emails,
    members,
    orgs,
    projects,
    roles,
    teams,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
NUL = "\x00"
LONE = "\ud800"
#: Strings that are odd but storable: stored and answered alike.
ODD = ["e\u0301", "\u202etxet", "\ufeff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010ffff", "\u00a0", "١٢٣", "ﬀ"]


def cjk(count: int) -> str:
    """`count` CJK characters (3 bytes each in UTF-8) that do not compress."""
    return "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(count))


def over(column: Any) -> str:
    """A value one character longer than `column` holds (the limit read from the table)."""
    limit = text_limit(column)
    assert limit is not None
    return "x" * (limit + 1)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: Any
    status: int
    #: The SCIM error's `scimType`, where the case is about which one.
    scim_type: str | None = None

    def __str__(self) -> str:
        return self.name


def _user(user_name: str, **more: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": user_name, **more}


def scim_cases() -> list[Case]:
    """Paths are below /scim; `{user}` and `{group}` are an existing user and group."""
    cases = [
        Case(
            "filter escaped NUL",
            "GET",
            '/Users?filter=userName eq "%5Cu0000"',
            None,
            400,
            "invalidFilter",
        ),
        Case(
            "filter escaped surrogate",
            "GET",
            '/Users?filter=title co "%5Cud800"',
            None,
            400,
            "invalidFilter",
        ),
        Case(
            "filter escaped NUL in brackets",
            "GET",
            '/Users?filter=emails[type eq "%5Cu0000"]',
            None,
            400,
        ),
        Case(
            "search escaped NUL", "POST", "/Users/.search", {"filter": 'userName eq "\\u0000"'}, 400
        ),
        Case("filter NUL", "GET", '/Users?filter=userName eq "%00"', None, 400, "invalidFilter"),
        Case(
            "filter NUL co", "GET", '/Users?filter=userName co "a%00"', None, 400, "invalidFilter"
        ),
        Case(
            "filter NUL emails",
            "GET",
            '/Users?filter=emails.value eq "%00"',
            None,
            400,
            "invalidFilter",
        ),
        Case(
            "group filter NUL",
            "GET",
            '/Groups?filter=displayName eq "%00"',
            None,
            400,
            "invalidFilter",
        ),
        Case(
            "filter NUL externalId",
            "GET",
            '/Users?filter=externalId eq "%00"',
            None,
            400,
            "invalidFilter",
        ),
        Case(
            "search NUL",
            "POST",
            "/Users/.search",
            {"filter": f'userName eq "{NUL}"'},
            400,
            "invalidFilter",
        ),
        Case(
            "search lone surrogate",
            "POST",
            "/Users/.search",
            {"filter": f'userName eq "{LONE}"'},
            400,
        ),
        Case(
            "filter long",
            "GET",
            f'/Users?filter=emails.type eq "{over(member_emails.c.type)}"',
            None,
            200,
        ),
        Case("user id NUL", "GET", "/Users/%00", None, 404),
        Case("user id NUL put", "PUT", "/Users/%00", _user("a@example.com"), 404),
        Case(
            "user id NUL patch",
            "PATCH",
            "/Users/a%00b",
            {"schemas": [PATCH], "Operations": []},
            404,
        ),
        Case("user id NUL delete", "DELETE", "/Users/%00", None, 404),
        Case("group id NUL", "GET", "/Groups/%00", None, 404),
        Case("user id long", "GET", "/Users/" + "x" * 5000, None, 404),
        Case("userName NUL", "POST", "/Users", _user(f"a{NUL}@example.com"), 400, "invalidValue"),
        Case("userName lone surrogate", "POST", "/Users", _user(f"a{LONE}@example.com"), 400),
        Case(
            "externalId NUL",
            "POST",
            "/Users",
            _user("e@example.com", externalId=f"e{NUL}"),
            400,
            "invalidValue",
        ),
        Case(
            "displayName NUL",
            "POST",
            "/Users",
            _user("d@example.com", displayName=NUL),
            400,
            "invalidValue",
        ),
        Case(
            "title NUL",
            "POST",
            "/Users",
            _user("t@example.com", title=f"x{NUL}"),
            400,
            "invalidValue",
        ),
        Case(
            "name NUL",
            "POST",
            "/Users",
            _user("n@example.com", name={"givenName": NUL}),
            400,
            "invalidValue",
        ),
        Case(
            "email NUL",
            "POST",
            "/Users",
            _user("m@example.com", emails=[{"value": f"m{NUL}@example.com"}]),
            400,
        ),
        Case(
            "email type NUL",
            "POST",
            "/Users",
            _user("m@example.com", emails=[{"value": "m@example.com", "type": NUL}]),
            400,
        ),
        Case(
            "email type long",
            "POST",
            "/Users",
            _user(
                "m@example.com",
                emails=[{"value": "m@example.com", "type": over(member_emails.c.type)}],
            ),
            400,
        ),
        Case("userName long", "POST", "/Users", _user(over(members.c.user_name)), 400),
        Case(
            "externalId long",
            "POST",
            "/Users",
            _user("x@example.com", externalId=over(members.c.external_id)),
            400,
        ),
        Case(
            "displayName long",
            "POST",
            "/Users",
            _user("y@example.com", displayName=over(members.c.display_name)),
            400,
        ),
        Case(
            "givenName long",
            "POST",
            "/Users",
            _user("z@example.com", name={"givenName": over(members.c.given_name_key)}),
            400,
        ),
        Case(
            "familyName long",
            "POST",
            "/Users",
            _user("fam@example.com", name={"familyName": over(members.c.family_name_key)}),
            400,
        ),
        Case(
            "email long",
            "POST",
            "/Users",
            _user("w@example.com", emails=[{"value": over(member_emails.c.value)}]),
            400,
        ),
        # Indexed text holds at most INDEXED_BYTES of UTF-8 (PostgreSQL's btree entries);
        # incompressible CJK text, as the index would really hold it.
        Case(
            "userName multibyte within bytes", "POST", "/Users", _user(cjk(INDEXED_BYTES // 3)), 201
        ),
        Case("userName multibyte over bytes", "POST", "/Users", _user(cjk(900)), 400),
        Case("userName euro over bytes", "POST", "/Users", _user("€" * 2048), 400),
        Case(
            "externalId multibyte over bytes",
            "POST",
            "/Users",
            _user("cjk@example.com", externalId=cjk(1000)),
            400,
        ),
        Case(
            "displayName multibyte over bytes",
            "POST",
            "/Users",
            _user("cjd@example.com", displayName=cjk(1000)),
            400,
        ),
        Case(
            "group displayName multibyte over bytes",
            "POST",
            "/Groups",
            {"displayName": cjk(700)},
            400,
        ),
        Case("group displayName NUL", "POST", "/Groups", {"displayName": f"g{NUL}"}, 400),
        Case(
            "group displayName long",
            "POST",
            "/Groups",
            {"displayName": over(groups.c.display_name)},
            400,
        ),
        Case(
            "group externalId long",
            "POST",
            "/Groups",
            {"displayName": "gl", "externalId": over(groups.c.external_id)},
            400,
        ),
        Case(
            "patch NUL",
            "PATCH",
            "/Users/{user}",
            {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "displayName", "value": NUL}],
            },
            400,
        ),
        Case(
            "patch long type",
            "PATCH",
            "/Users/{user}",
            {
                "schemas": [PATCH],
                "Operations": [
                    {
                        "op": "add",
                        "path": "emails",
                        "value": [{"value": "p@example.com", "type": over(member_emails.c.type)}],
                    }
                ],
            },
            400,
        ),
        Case(
            "patch group name NUL",
            "PATCH",
            "/Groups/{group}",
            {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "displayName", "value": NUL}],
            },
            400,
        ),
        Case(
            "put NUL",
            "PUT",
            "/Users/{user}",
            _user("victim@example.com", nickName=NUL),
            400,
            "invalidValue",
        ),
        Case("huge number", "POST", "/Users", _user("h@example.com", x=10**30), 201),
        Case("huge float", "POST", "/Users", _user("f@example.com", active=1e308), 400),
        Case("userName number", "POST", "/Users", {"schemas": [USER], "userName": 12}, 400),
        Case("userName list", "POST", "/Users", {"schemas": [USER], "userName": ["a"]}, 400),
        Case(
            "emails object",
            "POST",
            "/Users",
            _user("o@example.com", emails={"value": "o@example.com"}),
            201,
        ),
        Case("body list", "POST", "/Users", [1, 2], 400),
        Case("deep nesting", "POST", "/Users", _user("deep@example.com", x=_deep(200)), 400),
        Case("count huge", "GET", "/Users?count=99999999999999999999999", None, 200),
        Case("startIndex negative", "GET", "/Users?startIndex=-5", None, 200),
        Case("attributes NUL", "GET", "/Users?attributes=%00", None, 200),
        Case("sortBy NUL", "GET", "/Users?sortBy=%00", None, 400),
    ]
    cases += [
        Case(
            f"odd unicode {i}",
            "POST",
            "/Users",
            _user(f"odd{i}{s}@example.com", displayName=s),
            201,
        )
        for i, s in enumerate(ODD)
    ]
    return cases


def admin_cases() -> list[Case]:
    """Paths are below /api/v1."""
    return [
        Case("project id NUL", "GET", "/projects/%00", None, 404),
        Case("project id NUL patch", "PATCH", "/projects/%00", {"name": "x"}, 404),
        Case("project id NUL delete", "DELETE", "/projects/a%00", None, 404),
        Case("member id NUL", "GET", "/members/%00", None, 404),
        Case("group id NUL", "GET", "/groups/%00", None, 404),
        Case("webhook id NUL", "GET", "/webhooks/%00", None, 404),
        Case("member events id NUL", "GET", "/members/%00/events", None, 404),
        Case("token id NUL", "DELETE", "/api-tokens/%00", None, 404),
        Case("audit action NUL", "GET", "/audit-log?action=%00", None, 400),
        Case("audit resource NUL", "GET", "/audit-log?resource_id=%00", None, 400),
        Case("provisioning path NUL", "GET", "/provisioning-log?path=%00", None, 400),
        Case("members q NUL", "GET", "/members?q=%00", None, 400),
        Case("groups q NUL", "GET", "/groups?q=%00", None, 400),
        Case("teams project NUL", "GET", "/teams?project_id=%00", None, 400),
        Case("project name NUL", "POST", "/projects", {"name": f"p{NUL}"}, 422),
        # JSON cannot carry a lone surrogate: the body is unreadable.
        Case("project name lone surrogate", "POST", "/projects", {"name": f"p{LONE}"}, 400),
        Case("project name long", "POST", "/projects", {"name": over(projects.c.name)}, 422),
        Case(
            "role name long", "POST", "/roles", {"name": over(roles.c.name), "permissions": []}, 422
        ),
        Case("role name NUL", "POST", "/roles", {"name": NUL, "permissions": []}, 422),
        Case("team name NUL", "POST", "/teams", {"project_id": "{project}", "name": NUL}, 422),
        Case(
            "team name long",
            "POST",
            "/teams",
            {"project_id": "{project}", "name": over(teams.c.name)},
            422,
        ),
        Case("org name NUL", "PATCH", "/org", {"name": NUL}, 422),
        Case("org name long", "PATCH", "/org", {"name": over(orgs.c.name)}, 422),
        Case("token name long", "POST", "/api-tokens", {"name": over(api_tokens.c.name)}, 422),
        Case("org prefix NUL", "PATCH", "/org", {"group_prefix": NUL}, 422),
        Case("token name NUL", "POST", "/api-tokens", {"name": NUL}, 422),
        Case(
            "webhook url NUL",
            "POST",
            "/webhooks",
            {"url": f"https://hooks.example.com/{NUL}", "events": ["member.created"]},
            422,
        ),
        Case("project name number", "POST", "/projects", {"name": 5}, 400),
        Case("project body list", "POST", "/projects", [1], 400),
        Case("project deep", "POST", "/projects", {"name": _deep(200)}, 400),
        Case("limit huge", "GET", "/audit-log?limit=99999999999999999999999", None, 400),
        Case("events after huge", "GET", "/events?after=99999999999999999999999", None, 400),
    ]


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"x": value}
    return value
