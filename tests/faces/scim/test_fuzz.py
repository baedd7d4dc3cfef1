"""No input may produce a 500: hypothesis throws malformed filters, paths, bodies and
headers at /scim, on SQLite and on PostgreSQL, and only 4xx (or a success) may come back,
always as a SCIM body."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ENGINES, empty_postgresql
from tests.faces.scim.harness import Scim, make_org, start

FILTER_WORDS = [
    "userName",
    "emails",
    "name.givenName",
    "meta.created",
    "active",
    "members",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "eq",
    "ne",
    "co",
    "sw",
    "pr",
    "gt",
    "and",
    "or",
    "not",
    "(",
    ")",
    "[",
    "]",
    '"x"',
    "true",
    "null",
    "1.5e9",
    "1e5",
    "-2E+3",
    "99999999999999999999",
    '"',
    "\\",
    ".",
    "%",
    "_",
]
PATHS = [
    "userName",
    'emails[type eq "work"].value',
    'members[value eq "x"]',
    "name",
    "active",
    "groups",
    "id",
    "meta.created",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "x[",
    "]",
    "emails[",
    "",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "userName",
                    "value",
                    "op",
                    "path",
                    "Operations",
                    "schemas",
                    "members",
                    "active",
                    "emails",
                    "name",
                    "displayName",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
operations = st.lists(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "Replace", "remove", "bogus", ""]),
            "path": st.sampled_from(PATHS),
        },
        optional={"value": json_values},
    ),
    max_size=4,
)


@pytest.fixture(scope="module", params=ENGINES)
def fuzz_scim(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scim]:
    """One app per engine for the whole module (hypothesis runs many examples)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
        shutil.copy(str(request.getfixturevalue("sqlite_template")), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
    client, db = start(url)
    with client:
        org, key = make_org(db)
        scim = Scim(client, db, org, key)
        user = scim.request("POST", "/Users", {"userName": "fuzz@example.com"}).json()
        group = scim.request("POST", "/Groups", {"displayName": "Fuzz"}).json()
        scim.client.headers.update({"X-User": user["id"], "X-Group": group["id"]})
        yield scim
    db.dispose()
    if request.param != "sqlite":
        empty_postgresql(url)


def check(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, response.text  # type: ignore[attr-defined]
    if status >= 400:
        assert response.headers["content-type"].startswith("application/scim+json")  # type: ignore[attr-defined]
        body = response.json()  # type: ignore[attr-defined]
        assert body["status"] == str(status) and body["detail"]


fuzz = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fuzz
@given(st.lists(st.sampled_from(FILTER_WORDS), max_size=12).map(" ".join) | st.text(max_size=60))
def test_filters(fuzz_scim: Scim, text: str) -> None:
    """Any filter text → 200 or 400, never 500."""
    for resource in ("Users", "Groups"):
        check(
            fuzz_scim.client.get(
                f"/scim/{resource}", params={"filter": text}, headers=fuzz_scim.auth
            )
        )


@fuzz
@given(operations)
def test_patch_bodies(fuzz_scim: Scim, ops: list[dict[str, object]]) -> None:
    """Any PATCH operations on a user or a group → never 500."""
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}
    user = fuzz_scim.client.headers["X-User"]
    group = fuzz_scim.client.headers["X-Group"]
    check(fuzz_scim.request("PATCH", f"/Users/{user}", body))
    check(fuzz_scim.request("PATCH", f"/Groups/{group}", body))


@fuzz
@given(json_values)
def test_create_and_replace_bodies(fuzz_scim: Scim, body: object) -> None:
    """Any JSON body for POST and PUT → never 500."""
    user = fuzz_scim.client.headers["X-User"]
    check(fuzz_scim.request("POST", "/Users", body))
    check(fuzz_scim.request("POST", "/Groups", body))
    check(fuzz_scim.request("PUT", f"/Users/{user}", body))


@fuzz
@given(
    st.binary(max_size=200),
    st.sampled_from(
        [
            "application/scim+json",
            "application/json",
            "text/plain",
            "",
            "application/scim+json; charset=latin-1",
        ]
    ),
)
def test_raw_bodies_and_content_types(fuzz_scim: Scim, raw: bytes, ctype: str) -> None:
    """Arbitrary bytes with any content type → never 500."""
    headers = {**fuzz_scim.auth, "Content-Type": ctype}
    check(fuzz_scim.client.post("/scim/Users", content=raw, headers=headers))


@fuzz
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "startIndex",
                "count",
                "sortBy",
                "sortOrder",
                "attributes",
                "excludedAttributes",
                "filter",
                "cursor",
            ]
        ),
        st.text(max_size=20),
        max_size=5,
    ),
    st.sampled_from(["Users", "Groups", "Users/x", "Schemas/x", "ResourceTypes/x"]),
)
def test_query_parameters(fuzz_scim: Scim, params: dict[str, str], resource: str) -> None:
    """Any list parameters → never 500."""
    check(fuzz_scim.client.get(f"/scim/{resource}", params=params, headers=fuzz_scim.auth))


@fuzz
@given(st.text(max_size=80))
def test_authorization_headers(fuzz_scim: Scim, header: str) -> None:
    """Any Authorization header → 401 (or 200 for the real key), never 500."""
    try:
        response = fuzz_scim.client.get("/scim/Users", headers={"Authorization": header})
    except (UnicodeEncodeError, ValueError):
        return  # not a header an HTTP client can send
    check(response)


def test_deeply_nested_patch_value(fuzz_scim: Scim) -> None:
    """A pathological nesting depth is a 400, not a recursion error."""
    value = "[" * 5000 + '"x"' + "]" * 5000
    raw = '{"Operations": [{"op": "add", "path": "emails", "value": ' + value + "}]}"
    user = fuzz_scim.client.headers["X-User"]
    response = fuzz_scim.client.patch(
        f"/scim/Users/{user}",
        content=raw,
        headers={**fuzz_scim.auth, "Content-Type": "application/scim+json"},
    )
    check(response)
    assert response.status_code == 400
