"""Client bodies → documents (`scimitar.protocol.resource`)."""

from __future__ import annotations

from typing import Any

import pytest

from scimitar.protocol.errors import InvalidSyntax, InvalidValue
from scimitar.protocol.resource import (
    MAX_STRING_LENGTH,
    MAX_VALUES,
    member_values,
    normalize,
    normalize_value,
)
from scimitar.protocol.schema import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    GROUP,
    SCIMITAR_USER,
    USER,
    Attribute,
    AttrType,
)


def user(**attributes: Any) -> dict[str, Any]:
    return normalize(USER, {"schemas": [CORE_USER], "userName": "a@x.com", **attributes})


# --- IdP payloads ---------------------------------------------------------------------------


def test_okta_create_user() -> None:
    """Okta's push body: readOnly `groups` and writeOnly `password` are dropped, not stored."""
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    assert normalize(USER, body) == {
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "active": True,
    }


def test_entra_create_user() -> None:
    """Entra's create body: client-sent `meta` is ignored and `roles: []` means absent."""
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": True,
        "emails": [
            {
                "primary": True,
                "type": "work",
                "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
            }
        ],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
    }
    assert normalize(USER, body) == {
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": True,
        "emails": [
            {
                "primary": True,
                "type": "work",
                "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
            }
        ],
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
    }


def test_entra_legacy_create_user_with_nulls_and_malformed_urn() -> None:
    """Entra's older body lists a malformed enterprise URN and sends nulls: both tolerated."""
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
        ],
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "addresses": None,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@testuser.com", "primary": True}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": None,
        "title": None,
        "department": None,
        "manager": None,
    }
    assert normalize(USER, body) == {
        "externalId": "jyoung",
        "userName": "jyoung@testuser.com",
        "active": True,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@testuser.com", "primary": True}],
        "name": {"familyName": "Young", "givenName": "Joy"},
    }


def test_entra_create_group_with_extra_schema_urn() -> None:
    """Entra lists its non-standard ADSCIM Group URN in `schemas`; it is tolerated."""
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    assert normalize(GROUP, body) == {
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
    }


def test_okta_create_group_drops_members() -> None:
    """Okta pushes `members: []`; a Group document never holds members (they are rows)."""
    body = {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2", "members": []}
    assert normalize(GROUP, body) == {"displayName": "Test SCIMv2"}
    with_members = {**body, "members": [{"value": "u1", "display": "A"}]}
    assert normalize(GROUP, with_members) == {"displayName": "Test SCIMv2"}


def test_microsoft_capitalised_sub_attribute() -> None:
    """Microsoft's reference tests send `"Primary"` in emails; names match in any case."""
    body = {
        "schemas": [CORE_USER],
        "USERNAME": "ryan",
        "Emails": [{"Primary": True, "Type": "work", "VALUE": "ryan@x.com"}],
    }
    assert normalize(USER, body) == {
        "userName": "ryan",
        "emails": [{"primary": True, "type": "work", "value": "ryan@x.com"}],
    }


def test_microsoft_string_boolean() -> None:
    """Microsoft's robustness test POSTs `"active": "True"`; string booleans in any case."""
    assert user(active="True")["active"] is True
    assert user(active="fALSE")["active"] is False


def test_validator_string_boolean_inside_roles() -> None:
    """Entra's validator sends `roles: [{"primary": "True", ...}]`."""
    document = user(roles=[{"primary": "True", "display": "Admin", "value": "admin"}])
    assert document["roles"] == [{"primary": True, "display": "Admin", "value": "admin"}]


def test_microsoft_misspelled_optional_attribute_is_ignored() -> None:
    """Microsoft's PUT with a misspelled non-required attribute must succeed (it is ignored)."""
    assert user(displayNmae="Bob") == {"userName": "a@x.com"}


def test_microsoft_misspelled_username_is_missing_username() -> None:
    """Microsoft's PUT with `userame` fails: userName is required (RFC 7643 §4.1.1)."""
    with pytest.raises(InvalidValue, match="'userName' is required") as caught:
        normalize(USER, {"schemas": [CORE_USER], "userame": "bob"})
    assert caught.value.scim_type == "invalidValue"


# --- message shape --------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[], "x", None, 3])
def test_body_must_be_an_object(payload: Any) -> None:
    """A body that is not a JSON object is invalidSyntax."""
    with pytest.raises(InvalidSyntax):
        normalize(USER, payload)


def test_schemas_must_contain_the_core_urn() -> None:
    """`schemas` without the resource type's core URN is invalidSyntax (RFC 7643 §3)."""
    with pytest.raises(InvalidSyntax, match=CORE_USER) as caught:
        normalize(USER, {"schemas": [CORE_GROUP], "userName": "a"})
    assert caught.value.scim_type == "invalidSyntax"


@pytest.mark.parametrize("schemas", ["urn:ietf:params:scim:schemas:core:2.0:User", [1], {}])
def test_schemas_must_be_a_list_of_strings(schemas: Any) -> None:
    """`schemas` that is not a list of strings is invalidSyntax."""
    with pytest.raises(InvalidSyntax, match="list of schema URNs"):
        normalize(USER, {"schemas": schemas, "userName": "a"})


def test_schemas_match_case_insensitively_and_may_be_missing() -> None:
    """URNs are case-insensitive; a body without `schemas` is tolerated."""
    assert normalize(USER, {"schemas": [CORE_USER.upper()], "userName": "a"}) == {"userName": "a"}
    assert normalize(USER, {"userName": "a"}) == {"userName": "a"}


def test_unknown_extension_urn_is_rejected() -> None:
    """A top-level `urn:` key that is no extension of this type is invalidSyntax naming it."""
    urn = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
    with pytest.raises(InvalidSyntax, match=urn):
        user(**{urn: {"badge": "1"}})
    with pytest.raises(InvalidSyntax, match="enterprise"):
        normalize(GROUP, {"displayName": "g", ENTERPRISE_USER: {"department": "x"}})


def test_extension_urn_key_in_any_case() -> None:
    """Extension URN keys match case-insensitively and are stored under the canonical URN."""
    document = user(**{ENTERPRISE_USER.lower(): {"Department": "Eng"}})
    assert document[ENTERPRISE_USER] == {"department": "Eng"}


def test_extension_must_be_an_object() -> None:
    """An extension value that is not an object is invalidValue; null or {} is absent."""
    with pytest.raises(InvalidValue, match="must be an object"):
        user(**{ENTERPRISE_USER: "Eng"})
    assert ENTERPRISE_USER not in user(**{ENTERPRISE_USER: None})
    assert ENTERPRISE_USER not in user(**{ENTERPRISE_USER: {"department": ""}})


def test_same_attribute_twice_in_different_case_is_rejected() -> None:
    """`displayName` and `DisplayName` in one body is ambiguous: invalidSyntax."""
    with pytest.raises(InvalidSyntax, match="displayName"):
        user(displayName="A", DisplayName="B")


def test_read_only_and_write_only_attributes_are_ignored() -> None:
    """`id`, `meta`, `groups` (readOnly) and `password` (writeOnly) never reach the document."""
    document = user(
        id="abc",
        meta={"created": "2020-01-01T00:00:00Z"},
        groups=[{"value": "g1"}],
        password="secret",
    )
    assert document == {"userName": "a@x.com"}


# --- types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "detail"),
    [
        ({"userName": 5}, "Attribute 'userName' must be a string"),
        ({"name": {"givenName": True}}, "Attribute 'name.givenName' must be a string"),
        ({"name": "Ann"}, "Attribute 'name' must be an object"),
        ({"active": "yes"}, "Attribute 'active' must be a boolean"),
        ({"active": 1}, "Attribute 'active' must be a boolean"),
        ({"emails": ["a@x.com"]}, "Attribute 'emails' must be an object"),
        ({"emails": [{"value": 1}]}, "Attribute 'emails.value' must be a string"),
    ],
)
def test_wrong_types_are_invalid_value(attributes: dict[str, Any], detail: str) -> None:
    """Values are checked against the declared attribute type (RFC 7643 §2.3)."""
    with pytest.raises(InvalidValue, match=detail) as caught:
        user(**attributes)
    assert caught.value.scim_type == "invalidValue"


def test_single_object_for_multi_valued_attribute_is_wrapped() -> None:
    """A single object where a list belongs is read as a one-element list."""
    assert user(emails={"value": "a@x.com"})["emails"] == [{"value": "a@x.com"}]


def test_empty_values_are_absent() -> None:
    """null, "", [] and {} all mean absent, also nested (Entra, Microsoft null update)."""
    document = user(
        title="",
        nickName=None,
        name={"givenName": "", "familyName": None},
        emails=[{}, {"value": ""}],
        addresses={},
        phoneNumbers=[{"value": "+1", "type": None}],
    )
    assert document == {"userName": "a@x.com", "phoneNumbers": [{"value": "+1"}]}


def test_unknown_sub_attribute_is_ignored() -> None:
    """Unknown sub-attributes are ignored like unknown attributes (Microsoft's `displayName`)."""
    assert user(emails=[{"value": "a@x.com", "label": "x"}])["emails"] == [{"value": "a@x.com"}]


def test_integer_decimal_and_datetime_types() -> None:
    """Numbers and ISO 8601 date-times are checked by type (RFC 7643 §2.3.4-§2.3.5)."""
    count = Attribute("count", AttrType.INTEGER)
    ratio = Attribute("ratio", AttrType.DECIMAL)
    when = Attribute("when", AttrType.DATETIME)
    assert normalize_value(count, 3, label="count") == 3
    assert normalize_value(ratio, 0.5, label="ratio") == 0.5
    assert normalize_value(when, "2015-10-10T14:38:21Z", label="when") == "2015-10-10T14:38:21Z"
    for attribute, bad in ((count, True), (count, 1.5), (ratio, "1"), (when, "yesterday")):
        with pytest.raises(InvalidValue):
            normalize_value(attribute, bad, label=attribute.name)


# --- manager --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manager", "expected"),
    [
        ({"value": "m1"}, {"value": "m1"}),
        (
            {"value": "m1", "$ref": "../Users/m1", "displayName": "Boss"},
            {
                "value": "m1",
                "$ref": "../Users/m1",
            },
        ),
        ("m1", {"value": "m1"}),
        (
            [{"$ref": "http://host/scim/Users/m1", "value": "m1"}],
            {
                "value": "m1",
                "$ref": "http://host/scim/Users/m1",
            },
        ),
    ],
)
def test_entra_manager_forms(manager: Any, expected: dict[str, Any]) -> None:
    """Entra sends the manager as an object, a bare id or a one-element array."""
    document = user(**{ENTERPRISE_USER: {"manager": manager}})
    assert document[ENTERPRISE_USER] == {"manager": expected}


@pytest.mark.parametrize("manager", ["", {"value": ""}, {"$ref": "../Users/m1"}, [], None])
def test_manager_without_value_is_absent(manager: Any) -> None:
    """A manager without a value is no manager (Entra removes it with `""`)."""
    assert ENTERPRISE_USER not in user(**{ENTERPRISE_USER: {"manager": manager}})


def test_manager_takes_one_value() -> None:
    """Two managers is invalidValue."""
    with pytest.raises(InvalidValue, match="single value"):
        user(**{ENTERPRISE_USER: {"manager": [{"value": "m1"}, {"value": "m2"}]}})


# --- rules ----------------------------------------------------------------------------------


def test_at_most_one_primary() -> None:
    """The primary value "true" may appear at most once (RFC 7643 §2.4)."""
    emails = [{"value": "a@x.com", "primary": True}, {"value": "b@x.com", "primary": "True"}]
    with pytest.raises(InvalidValue, match="more than one primary"):
        user(emails=emails)


def test_group_display_name_is_required() -> None:
    """A Group needs a non-empty displayName (RFC 7643 §4.2)."""
    with pytest.raises(InvalidValue, match="'displayName' is required"):
        normalize(GROUP, {"schemas": [CORE_GROUP], "displayName": ""})


def test_empty_username_is_missing() -> None:
    """An empty userName counts as absent, so it is required-missing."""
    with pytest.raises(InvalidValue, match="'userName' is required"):
        normalize(USER, {"userName": ""})


def test_org_role_is_canonicalised() -> None:
    """orgRole accepts Owner, Admin or Member in any case and stores the canonical spelling."""
    assert user(**{SCIMITAR_USER: {"orgRole": "admin"}})[SCIMITAR_USER] == {"orgRole": "Admin"}


def test_org_role_outside_the_roles_is_rejected() -> None:
    """Any other orgRole is invalidValue listing the allowed values."""
    with pytest.raises(InvalidValue, match="Owner, Admin, Member"):
        user(**{SCIMITAR_USER: {"orgRole": "Root"}})


def test_string_length_limit() -> None:
    """Strings longer than MAX_STRING_LENGTH are invalidValue."""
    assert user(title="x" * MAX_STRING_LENGTH)["title"] == "x" * MAX_STRING_LENGTH
    with pytest.raises(InvalidValue, match="longer than"):
        user(title="x" * (MAX_STRING_LENGTH + 1))


def test_multi_valued_limit() -> None:
    """More than MAX_VALUES values in a multi-valued attribute is invalidValue."""
    emails = [{"value": f"{n}@x.com"} for n in range(MAX_VALUES + 1)]
    assert len(user(emails=emails[:MAX_VALUES])["emails"]) == MAX_VALUES
    with pytest.raises(InvalidValue, match="more than 100 values"):
        user(emails=emails)


# --- members --------------------------------------------------------------------------------


def test_member_values_okta() -> None:
    """Okta's members carry `display` and no `type`; ids come back in order."""
    members = [
        {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"},
        {"value": "89bb1940-b905-4575-9e7f-6f887cfb368e", "display": "other@okta.local"},
    ]
    assert member_values(members) == [
        "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "89bb1940-b905-4575-9e7f-6f887cfb368e",
    ]


def test_member_values_entra_and_microsoft_extras() -> None:
    """Entra sends `"$ref": null`, Microsoft `displayName`; both ignored, repeats dropped."""
    members = [
        {"$ref": None, "value": "f648f8d5ea4e4cd38e9c"},
        {"displayName": "new User", "value": "id4", "type": "User"},
        {"Value": "id4"},
    ]
    assert member_values(members) == ["f648f8d5ea4e4cd38e9c", "id4"]
    assert member_values([]) == []


@pytest.mark.parametrize(
    ("members", "detail"),
    [
        ("string id 1", r"members\[0\] must be an object"),
        ([{"value": "u1"}, "u2"], r"members\[1\] must be an object"),
        ([{"display": "A"}], r"members\[0\] must have a non-empty string 'value'"),
        ([{"value": ""}], r"members\[0\] must have a non-empty string 'value'"),
        ([{"value": 7}], r"members\[0\] must have a non-empty string 'value'"),
    ],
)
def test_member_values_rejects_malformed_members(members: Any, detail: str) -> None:
    """Microsoft's garbage `"value": "string id 1"` and other malformed members: invalidValue."""
    with pytest.raises(InvalidValue, match=detail):
        member_values(members)
