"""Auth, media types, body limits, discovery and error envelopes of /scim."""

from __future__ import annotations

import json

import pytest

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.identity import keys
from tests.faces.scim.harness import PUBLIC_URL, Scim, make_org

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_error(response: object, status: int, scim_type: str | None = None) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/scim+json")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "header", [None, "non-token", "Bearer ", "Bearer scim-wrong", "Basic dXNlcjpwYXNz"]
)
def test_bad_credentials_are_401_with_scim_body(scim: Scim, header: str | None) -> None:
    """No, malformed or unknown credentials → 401 with a SCIM error (Okta SPEC step 11)."""
    headers = {"Authorization": header} if header is not None else {}
    response = scim.client.get("/scim/Users", headers=headers)
    assert_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "path",
    [
        "/Users",
        # Point reads, run on the event loop on SQLite, where a checked key is remembered
        # until the next commit.
        '/Users?filter=userName eq "owner@example.com"',
        '/Groups?filter=displayName eq "none"&excludedAttributes=members',
        "/Users/{owner}",
    ],
)
def test_deactivated_key_stops_at_once(scim: Scim, path: str) -> None:
    """A deactivated key is refused on the next request."""
    if "{owner}" in path:
        found = scim.request("GET", '/Users?filter=userName eq "owner@example.com"').json()
        path = path.format(owner=found["Resources"][0]["id"])
    assert scim.request("GET", path).status_code == 200
    assert scim.request("GET", path).status_code == 200
    with scim.db.write() as conn:
        keys.deactivate_scim_key(Tx(conn, CLI_ACTOR), scim.org)
    assert_error(scim.request("GET", path), 401)


def test_key_of_one_org_never_sees_another(scim: Scim) -> None:
    """A key selects its org: another org's users are invisible and untouchable."""
    _, other_key = make_org(scim.db, "globex")
    created = scim.request("POST", "/Users", {"userName": "mine@example.com"})
    assert created.status_code == 201
    user_id = created.json()["id"]
    other = {"Authorization": f"Bearer {other_key}"}
    assert scim.client.get(f"/scim/Users/{user_id}", headers=other).status_code == 404
    assert scim.client.delete(f"/scim/Users/{user_id}", headers=other).status_code == 404
    listed = scim.client.get(
        '/scim/Users?filter=userName eq "mine@example.com"', headers=other
    ).json()
    assert listed["totalResults"] == 0
    assert scim.request("GET", f"/Users/{user_id}").status_code == 200


@pytest.mark.parametrize(
    "ctype", ["application/json", "application/scim+json", "application/scim+json; charset=utf-8"]
)
def test_both_media_types_accepted(scim: Scim, ctype: str) -> None:
    """Requests may be application/json or application/scim+json; answers are scim+json."""
    response = scim.request(
        "POST", "/Users", {"userName": f"m-{len(ctype)}@example.com"}, **{"Content-Type": ctype}
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/scim+json"


def test_wrong_media_type_is_415(scim: Scim) -> None:
    """A non-JSON body type is refused with a SCIM error."""
    response = scim.client.post(
        "/scim/Users",
        content=b"userName=x",
        headers={**scim.auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"{not json", "not valid JSON"), (b"", "empty"), (b"[" * 100 + b"]" * 100, "nested")],
)
def test_malformed_json_is_invalid_syntax(scim: Scim, content: bytes, fragment: str) -> None:
    """Malformed, empty or absurdly nested JSON → 400 invalidSyntax."""
    response = scim.client.post(
        "/scim/Users",
        content=content,
        headers={**scim.auth, "Content-Type": "application/scim+json"},
    )
    body = assert_error(response, 400, "invalidSyntax")
    assert fragment in str(body["detail"])


def test_oversized_body_is_413(scim: Scim) -> None:
    """Bodies over the limit are refused before parsing."""
    big = b'{"userName": "' + b"x" * 2_000_000 + b'"}'
    response = scim.client.post(
        "/scim/Users", content=big, headers={**scim.auth, "Content-Type": "application/scim+json"}
    )
    assert_error(response, 413)


def test_service_provider_config_is_complete_and_true(scim: Scim) -> None:
    """SPC has every block the Okta 2016 suite and authentik read, and says what we do."""
    spc = scim.client.get("/scim/ServiceProviderConfig").json()
    assert spc["patch"]["supported"] is True and spc["filter"]["supported"] is True
    assert spc["filter"]["maxResults"] == 1000 and spc["sort"]["supported"] is True
    assert spc["etag"]["supported"] is True and spc["bulk"]["supported"] is False
    assert spc["changePassword"]["supported"] is False
    assert spc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert spc["meta"]["location"] == f"{PUBLIC_URL}/scim/ServiceProviderConfig"


def test_discovery_lists(scim: Scim) -> None:
    """ResourceTypes and Schemas are ListResponses generated from the schema definitions."""
    types = scim.client.get("/scim/v2/ResourceTypes").json()
    assert types["totalResults"] == 2 and types["Resources"][0]["endpoint"] == "/Users"
    assert types["Resources"][0]["schemaExtensions"][0]["schema"].endswith("enterprise:2.0:User")
    schemas = scim.client.get("/scim/Schemas").json()
    ids = [s["id"] for s in schemas["Resources"]]
    assert "urn:ietf:params:scim:schemas:extension:scimitar:2.0:User" in ids
    user = scim.client.get("/scim/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").json()
    user_name = next(a for a in user["attributes"] if a["name"] == "userName")
    assert user_name["caseExact"] is False and user_name["uniqueness"] == "server"
    password = next(a for a in user["attributes"] if a["name"] == "password")
    assert password["returned"] == "never"
    assert scim.client.get("/scim/ResourceTypes/Group").json()["endpoint"] == "/Groups"
    assert_error(scim.client.get("/scim/Schemas/urn:nope"), 404)


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"])
def test_post_to_discovery_is_405(scim: Scim, path: str) -> None:
    """Okta's 2016 suite POSTs `test` to discovery endpoints and expects 405."""
    response = scim.client.post("/scim" + path, content=b"test", headers=scim.auth)
    assert_error(response, 405)
    assert response.headers["allow"] == "GET, HEAD"


def test_unknown_endpoint_and_bulk(scim: Scim) -> None:
    """Unknown endpoints are SCIM 404s; /Bulk and /Me are 501."""
    assert_error(scim.request("GET", "/Nope"), 404)
    assert_error(scim.request("POST", "/Bulk", {"schemas": []}), 501)
    assert_error(scim.request("GET", "/Me"), 501)


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PATCH"])
@pytest.mark.parametrize("path", ["/Users", "/scim/v2/Groups", "/.search"])
def test_any_other_method_on_a_resource_path_is_a_scim_405(
    scim: Scim, method: str, path: str
) -> None:
    """Whatever the method, the answer is a SCIM error, never the framework's plain text."""
    url = path if path.startswith("/scim") else "/scim" + path
    response = scim.client.request(method, url, headers=scim.auth)
    assert_error(response, 405)
    expected = {
        "/Users": "GET, HEAD, POST",
        "/scim/v2/Groups": "GET, HEAD, POST",
        "/.search": "POST",
    }
    assert response.headers["allow"] == expected[path]


def test_head_reads_like_get_and_paths_are_matched_whole(scim: Scim) -> None:
    """HEAD is GET without a body; a path longer than any endpoint's is a SCIM 404."""
    head = scim.client.head("/scim/v2/ServiceProviderConfig")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0
    found = scim.request("GET", '/Users?filter=userName eq "owner@example.com"').json()
    owner = found["Resources"][0]["id"]
    assert scim.request("GET", f"/Users/{owner}").status_code == 200
    posted = scim.request("POST", f"/Users/{owner}", {"userName": "x@example.com"})
    assert_error(posted, 405)
    assert posted.headers["allow"] == "GET, HEAD, PUT, PATCH, DELETE"
    assert_error(scim.request("GET", f"/Users/{owner}/groups"), 404)
    assert_error(scim.request("GET", f"//Users/{owner}"), 404)
    assert_error(scim.client.get("/scim", headers=scim.auth), 404)
    assert_error(scim.client.get("/scim/v2", headers=scim.auth), 404)
    assert scim.client.get("/scimitar", headers=scim.auth).status_code == 404  # not SCIM's


def test_health(scim: Scim) -> None:
    """/healthz answers without the database; /readyz checks it."""
    assert scim.client.get("/healthz").json() == {"status": "ok"}
    assert scim.client.get("/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize(
    "body",
    [
        {"userName": "a", "password": "hunter2"},
        {"userName": "a", "PASSWORD": "hunter2"},
        {"Operations": [{"op": "replace", "path": "password", "value": "hunter2"}]},
        {"Operations": [{"op": "replace", "Path": "Password", "Value": "hunter2"}]},
        {
            "Operations": [
                {
                    "op": "replace",
                    "value": {"urn:ietf:params:scim:schemas:core:2.0:User:password": "hunter2"},
                }
            ]
        },
        {
            "Operations": [
                {
                    "op": "replace",
                    "path": "urn:ietf:params:scim:schemas:core:2.0:User:password",
                    "value": "hunter2",
                }
            ]
        },
    ],
)
def test_redact_hides_passwords_in_every_spelling(body: dict[str, object]) -> None:
    """A password never survives redaction, whatever the key's case or URN qualification."""
    from scimitar.faces.scim.wire import redact

    assert "hunter2" not in json.dumps(redact(body))


@pytest.mark.parametrize(
    "query",
    [
        "filter=userName eq 1e5",
        "filter=userName eq -2E+3",
        "startIndex=100000000000000000000",
        'filter=meta.lastModified gt "0001-01-01T00:00:00+14:00"',
        'filter=meta.lastModified lt "9999-12-31T23:59:59-23:59"',
    ],
)
def test_edge_inputs_are_4xx_or_200(scim: Scim, query: str) -> None:
    """Exponent numbers, a huge startIndex, out-of-range dates: a clean answer, never 500."""
    response = scim.client.get(f"/scim/Users?{query}", headers=scim.auth)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["scimType"] == "invalidFilter"
