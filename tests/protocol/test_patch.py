"""The PATCH engine (`scimitar.protocol.patch`), driven by what identity providers send."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimitar.protocol.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    MutabilityViolation,
    NoTarget,
    ScimError,
)
from scimitar.protocol.patch import (
    MAX_OPERATIONS,
    MemberChange,
    PatchResult,
    apply_patch,
    parse_patch,
)
from scimitar.protocol.resource import normalize
from scimitar.protocol.schema import (
    ENTERPRISE_USER,
    GROUP,
    PATCH_OP,
    SCIMITAR_USER,
    USER,
    ResourceType,
)

USER_ID = "2819c223-7f76-453a-919d-413861904646"
GROUP_ID = "e9e30dba-f08f-4109-8486-d5c6a331660a"


def base_user() -> dict[str, Any]:
    return {
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "active": True,
        ENTERPRISE_USER: {"department": "Eng", "manager": {"value": "m1", "$ref": "../Users/m1"}},
    }


def base_group() -> dict[str, Any]:
    return {"displayName": "Engineering", "externalId": "8aa1a0c0"}


def run(
    body: dict[str, Any],
    document: dict[str, Any] | None = None,
    *,
    resource_type: ResourceType = USER,
) -> PatchResult:
    if document is None:
        document = base_user() if resource_type is USER else base_group()
    resource_id = USER_ID if resource_type is USER else GROUP_ID
    return apply_patch(resource_type, document, parse_patch(body), resource_id=resource_id)


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def raises(kind: type[ScimError], body: dict[str, Any], **kw: Any) -> ScimError:
    with pytest.raises(kind) as caught:
        run(body, **kw)
    return caught.value


# --- the message ----------------------------------------------------------------------------


def test_entra_capitalised_ops() -> None:
    """Entra default mode sends `"Replace"`, `"Add"`, `"Remove"`; op is case-insensitive."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": "nickName", "value": "Babs"},
            {"op": "Replace", "path": "title", "value": "Tour Guide"},
            {"op": "Remove", "path": "name.givenName"},
        ],
    }
    document = run(body).document
    assert document["nickName"] == "Babs"
    assert document["title"] == "Tour Guide"
    assert document["name"] == {"familyName": "Jensen"}


def test_unknown_op_is_invalid_syntax_naming_it() -> None:
    """An op other than add/remove/replace is invalidSyntax naming it (RFC 7644 §3.5.2)."""
    error = raises(InvalidSyntax, ops({"op": "move", "path": "title", "value": "x"}))
    assert "'move'" in error.detail
    assert error.scim_type == "invalidSyntax"


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [PATCH_OP]},
        {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": {"op": "add"}},
        {"schemas": [PATCH_OP], "Operations": ["replace"]},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []},
        {"schemas": "urn:ietf:params:scim:api:messages:2.0:PatchOp", "Operations": []},
    ],
)
def test_malformed_message_is_invalid_syntax(body: dict[str, Any]) -> None:
    """A PatchOp needs its URN in `schemas` and a non-empty `Operations` list of objects."""
    with pytest.raises(InvalidSyntax):
        parse_patch(body)


def test_body_must_be_an_object() -> None:
    """A PATCH body that is not an object is invalidSyntax."""
    with pytest.raises(InvalidSyntax):
        parse_patch([{"op": "add"}])


def test_message_keys_in_any_case_and_schemas_optional() -> None:
    """`operations`, `OP`, `Path`, `VALUE` are read case-insensitively; `schemas` may be absent."""
    body = {"operations": [{"OP": "replace", "Path": "title", "VALUE": "Boss"}]}
    assert run(body).document["title"] == "Boss"


def test_microsoft_extra_operation_keys_are_ignored() -> None:
    """Microsoft's reference test sends `"name": "addMember"` inside an operation."""
    body = ops(
        {
            "name": "addMember",
            "op": "add",
            "path": "members",
            "value": [{"displayName": "new User", "value": "id4"}],
        }
    )
    result = run(body, resource_type=GROUP)
    assert result.member_changes == (MemberChange("add", ("id4",)),)


def test_add_and_replace_need_a_value() -> None:
    """add and replace must carry a `value` (RFC 7644 §3.5.2.1, §3.5.2.3)."""
    with pytest.raises(InvalidSyntax, match="no 'value'"):
        parse_patch(ops({"op": "replace", "path": "title"}))


def test_path_must_be_a_valid_string() -> None:
    """A path that is not a string, or does not parse, is invalidPath."""
    with pytest.raises(InvalidPath):
        parse_patch(ops({"op": "replace", "path": 5, "value": "x"}))
    with pytest.raises(InvalidPath):
        parse_patch(ops({"op": "replace", "path": "emails[type eq", "value": "x"}))


def test_operation_limit() -> None:
    """More than MAX_OPERATIONS operations is invalidValue (documented choice)."""
    operation = {"op": "replace", "path": "title", "value": "x"}
    assert len(parse_patch(ops(*[operation] * MAX_OPERATIONS))) == MAX_OPERATIONS
    with pytest.raises(InvalidValue, match="at most 1000 operations"):
        parse_patch(ops(*[operation] * (MAX_OPERATIONS + 1)))


# --- pathless operations --------------------------------------------------------------------


def test_okta_deactivate() -> None:
    """Okta deactivates with a pathless replace `{"active": false}`."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    result = run(body)
    assert result.document == {**base_user(), "active": False}
    assert result.changed


def test_entra_replace_many_with_dotted_and_urn_keys() -> None:
    """Entra (aadOptscim062020) sends a pathless replace with dotted and URN-qualified keys."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": (
                        "Aklq"
                    ),
                },
            },
        ],
    }
    document = run(body).document
    assert document["emails"][0] == {
        "value": "updatedEmail@microsoft.com",
        "type": "work",
        "primary": True,
    }
    assert document["displayName"] == "Bjfe"
    assert document["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert document[ENTERPRISE_USER]["employeeNumber"] == "Aklq"
    assert document[ENTERPRISE_USER]["department"] == "Eng"


def test_okta_group_rename_repeats_own_id() -> None:
    """Okta's group push sends `{"id": <own id>, "displayName": ...}`; the own id is ignored."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": GROUP_ID, "displayName": "Test SCIMv2"}}],
    }
    result = run(body, resource_type=GROUP)
    assert result.document == {"displayName": "Test SCIMv2", "externalId": "8aa1a0c0"}
    assert result.member_changes == ()


def test_pathless_other_id_is_mutability() -> None:
    """A pathless value with a different `id` tries to change a readOnly attribute."""
    body = ops({"op": "replace", "value": {"id": "other", "displayName": "x"}})
    assert raises(MutabilityViolation, body, resource_type=GROUP).scim_type == "mutability"


def test_authentik_whole_group_replace() -> None:
    """authentik replaces pathless with the whole group: `id`, `schemas`, `meta` are ignored."""
    value = {
        "id": GROUP_ID,
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Platform",
        "externalId": "ak-1",
        "meta": {"resourceType": "Group"},
    }
    result = run(ops({"op": "replace", "value": value}), resource_type=GROUP)
    assert result.document == {"displayName": "Platform", "externalId": "ak-1"}


def test_keycloak_json_encoded_string_value_is_invalid_value() -> None:
    """scim-for-keycloak once sent a pathless replace whose value was a JSON-encoded string."""
    body = ops({"op": "replace", "value": '{"displayName": "Team"}'})
    assert raises(InvalidValue, body, resource_type=GROUP).scim_type == "invalidValue"


def test_pathless_remove_is_no_target() -> None:
    """remove without a path fails with noTarget (RFC 7644 §3.5.2.2)."""
    assert raises(NoTarget, ops({"op": "remove"})).scim_type == "noTarget"


def test_pathless_unknown_key_is_invalid_path() -> None:
    """A pathless key names an attribute like a path does; an unknown one is invalidPath."""
    error = raises(InvalidPath, ops({"op": "replace", "value": {"nickname": "B", "shoeSize": 9}}))
    assert "shoeSize" in error.detail


def test_pathless_add_merges_complex_and_appends_multi_valued() -> None:
    """Pathless add merges sub-attributes and appends values (RFC 7644 §3.5.2.1)."""
    value = {
        "name": {"middleName": "Jane"},
        "emails": [{"value": "b@other.org", "type": "other"}],
    }
    document = run(ops({"op": "add", "value": value})).document
    assert document["name"] == {
        "givenName": "Barbara",
        "familyName": "Jensen",
        "middleName": "Jane",
    }
    assert document["emails"][-1] == {"value": "b@other.org", "type": "other"}
    assert len(document["emails"]) == 3


def test_pathless_extension_object() -> None:
    """A pathless key may be an extension URN holding an object of its attributes."""
    value = {ENTERPRISE_USER: {"costCenter": "4130", "Department": "Ops"}}
    document = run(ops({"op": "replace", "value": value})).document
    assert document[ENTERPRISE_USER] == {
        "department": "Ops",
        "costCenter": "4130",
        "manager": {"value": "m1", "$ref": "../Users/m1"},
    }


def test_validator_pathless_username_update() -> None:
    """Entra's validator updates userName with a pathless replace."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"userName": "emilio@hermann.uk"}}],
    }
    assert run(body).document["userName"] == "emilio@hermann.uk"


# --- paths ----------------------------------------------------------------------------------


def test_entra_replace_username() -> None:
    """Entra replaces a single-valued attribute by path."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Replace",
                "path": "userName",
                "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com",
            }
        ],
    }
    document = run(body).document
    assert document["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"


def test_entra_disable_with_string_boolean() -> None:
    """Entra default mode disables with `"value": "False"` (a string)."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    assert run(body).document["active"] is False


def test_non_boolean_active_is_invalid_value() -> None:
    """A value of the wrong type is invalidValue, as in a POST."""
    error = raises(InvalidValue, ops({"op": "replace", "path": "active", "value": "no"}))
    assert "must be a boolean" in error.detail


def test_entra_replace_family_name() -> None:
    """Entra replaces `name.familyName`; the other name parts stay."""
    body = ops({"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"})
    assert run(body).document["name"] == {"givenName": "Barbara", "familyName": "updatedFamilyName"}


def test_replace_complex_merges_sub_attributes() -> None:
    """replace on a complex attribute keeps unmentioned sub-attributes (RFC 7644 §3.5.2.3)."""
    body = ops({"op": "replace", "path": "name", "value": {"givenName": "Babs", "familyName": ""}})
    assert run(body).document["name"] == {"givenName": "Babs"}


def test_filter_honours_case_exact() -> None:
    """`emails[type eq "WORK"]` matches type "work": type is not caseExact."""
    body = ops({"op": "replace", "path": 'emails[type eq "WORK"].value', "value": "new@x.com"})
    assert run(body).document["emails"][0]["value"] == "new@x.com"


def test_entra_filtered_sub_attribute_creates_missing_value() -> None:
    """Entra sets `phoneNumbers[type eq "mobile"].value` on a user without one: it is created."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0100"},
            {"op": "Replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Main"},
            {"op": "Replace", "path": 'addresses[type eq "work"].locality', "value": "Springfield"},
        ],
    }
    document = run(body).document
    assert document["phoneNumbers"] == [{"type": "mobile", "value": "+1 555 0100"}]
    assert document["addresses"] == [
        {"type": "work", "streetAddress": "1 Main", "locality": "Springfield"}
    ]


def test_validator_primary_filter() -> None:
    """Entra's validator targets `emails[primary eq true].value`."""
    body = ops({"op": "replace", "path": "emails[primary eq true].value", "value": "p@x.com"})
    emails = run(body).document["emails"]
    assert emails[0] == {"value": "p@x.com", "type": "work", "primary": True}
    assert emails[1] == {"value": "babs@jensen.org", "type": "home"}


def test_filter_without_eq_and_no_match_is_no_target() -> None:
    """A filter matching nothing that does not state the new value is noTarget (§3.5.2.3)."""
    body = ops({"op": "replace", "path": 'emails[value co "nomatch"].value', "value": "x@y.z"})
    assert raises(NoTarget, body).scim_type == "noTarget"


def test_replace_filtered_element_merges_value_object() -> None:
    """replace with a filter and no sub-attribute sets the value object's sub-attributes."""
    body = ops({"op": "replace", "path": 'emails[type eq "home"]', "value": {"value": "h@x.com"}})
    assert run(body).document["emails"][1] == {"value": "h@x.com", "type": "home"}


def test_replace_multi_valued_without_filter_replaces_all() -> None:
    """replace on a multi-valued attribute without a filter replaces every value (§3.5.2.3)."""
    body = ops({"op": "replace", "path": "emails", "value": [{"value": "only@x.com"}]})
    assert run(body).document["emails"] == [{"value": "only@x.com"}]


def test_add_multi_valued_skips_existing_values() -> None:
    """add appends values, skipping ones equal to an existing value (RFC 7644 §3.5.2.1)."""
    value = [
        {"value": "babs@jensen.org", "type": "home"},
        {"value": "b@other.org", "type": "other"},
        {"value": "b@other.org", "type": "other"},
    ]
    emails = run(ops({"op": "add", "path": "emails", "value": value})).document["emails"]
    assert [email["value"] for email in emails] == [
        "bjensen@example.com",
        "babs@jensen.org",
        "b@other.org",
    ]


def test_new_primary_demotes_the_old_one() -> None:
    """Making a value primary sets primary false on the others (RFC 7644 §3.5.2)."""
    body = ops({"op": "replace", "path": 'emails[type eq "home"].primary', "value": True})
    emails = run(body).document["emails"]
    assert emails[0]["primary"] is False
    assert emails[1]["primary"] is True


def test_two_new_primaries_are_invalid_value() -> None:
    """One operation adding two primary values breaks RFC 7643 §2.4: invalidValue."""
    value = [{"value": "1@x.com", "primary": True}, {"value": "2@x.com", "primary": True}]
    error = raises(InvalidValue, ops({"op": "add", "path": "emails", "value": value}))
    assert "more than one primary" in error.detail


def test_remove_filtered_values() -> None:
    """remove with a filter removes the matching values (RFC 7644 §3.5.2.2)."""
    body = ops({"op": "remove", "path": 'emails[type eq "home"]'})
    assert run(body).document["emails"] == [
        {"value": "bjensen@example.com", "type": "work", "primary": True}
    ]


def test_remove_filter_matching_nothing_is_a_no_op() -> None:
    """remove with a filter that matches nothing changes nothing."""
    result = run(ops({"op": "remove", "path": 'emails[type eq "other"]'}))
    assert result.document == base_user()
    assert not result.changed


def test_remove_filtered_sub_attribute() -> None:
    """remove `attr[filter].sub` removes that sub-attribute from matching values."""
    body = ops({"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert run(body).document["emails"][0] == {"value": "bjensen@example.com", "type": "work"}


def test_remove_values_listed_in_value() -> None:
    """remove with a `value` list removes the equal values (Entra's style, §3.5.2.2 leniency)."""
    body = ops({"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]})
    assert [email["type"] for email in run(body).document["emails"]] == ["work"]


def test_remove_whole_multi_valued_attribute() -> None:
    """remove on a multi-valued attribute without a filter removes all its values."""
    assert "emails" not in run(ops({"op": "remove", "path": "emails"})).document


def test_entra_null_update() -> None:
    """Microsoft's SCIM_Null_Update_Test replaces with "" and then null: the value is removed."""
    document = {**base_user(), "title": "Boss", "nickName": "B"}
    body = ops(
        {"op": "replace", "path": "title", "value": ""},
        {"op": "replace", "path": "nickName", "value": None},
    )
    result = run(body, document)
    assert "title" not in result.document
    assert "nickName" not in result.document


def test_validator_add_manager() -> None:
    """Entra's validator sets the manager by its URN-qualified path with an object."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "add",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "value": {"value": "AXTKCVBS"},
            }
        ],
    }
    document = run(body).document
    assert document[ENTERPRISE_USER]["manager"] == {"value": "AXTKCVBS"}


def test_entra_documented_unqualified_manager_path_with_array() -> None:
    """Entra's docs add `"path": "manager"` (unqualified) with a one-element array value."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Add",
                "path": "manager",
                "value": [
                    {
                        "$ref": "http://example.com/scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                        "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                    }
                ],
            }
        ],
    }
    document = run(body).document
    assert document[ENTERPRISE_USER]["manager"] == {
        "$ref": "http://example.com/scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    }


def test_manager_value_path_replaces_the_reference() -> None:
    """Setting `manager.value` drops the old `$ref`, which pointed at the previous manager."""
    body = ops({"op": "replace", "path": f"{ENTERPRISE_USER}:manager.value", "value": "m2"})
    assert run(body).document[ENTERPRISE_USER]["manager"] == {"value": "m2"}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": f"{ENTERPRISE_USER}:manager", "value": ""},
        {"op": "replace", "path": f"{ENTERPRISE_USER}:manager", "value": {"value": ""}},
        {"op": "remove", "path": f"{ENTERPRISE_USER}:manager"},
        {"op": "Replace", "path": f"{ENTERPRISE_USER}:manager.value", "value": ""},
    ],
)
def test_entra_remove_manager(operation: dict[str, Any]) -> None:
    """Entra removes the manager with remove, or replace with "" or `{"value": ""}`."""
    assert run(ops(operation)).document[ENTERPRISE_USER] == {"department": "Eng"}


def test_entra_default_mode_employee_number() -> None:
    """Entra default mode sends one Replace per URN-qualified extension path."""
    body = ops(
        {
            "op": "Replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "value": "701984",
        }
    )
    assert run(body).document[ENTERPRISE_USER]["employeeNumber"] == "701984"


def test_whole_extension_path() -> None:
    """The extension URN alone names the whole extension object."""
    replaced = run(ops({"op": "replace", "path": ENTERPRISE_USER, "value": {"division": "R&D"}}))
    assert replaced.document[ENTERPRISE_USER]["division"] == "R&D"
    assert replaced.document[ENTERPRISE_USER]["department"] == "Eng"
    removed = run(ops({"op": "remove", "path": ENTERPRISE_USER}))
    assert ENTERPRISE_USER not in removed.document


def test_org_role_patch_is_canonicalised_and_checked() -> None:
    """orgRole set by PATCH follows the same rules as in a POST."""
    body = ops({"op": "add", "path": f"{SCIMITAR_USER}:orgRole", "value": "owner"})
    assert run(body).document[SCIMITAR_USER] == {"orgRole": "Owner"}
    bad = ops({"op": "add", "path": f"{SCIMITAR_USER}:orgRole", "value": "God"})
    assert raises(InvalidValue, bad).scim_type == "invalidValue"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("nickname2", "nickname2"),
        ("name.nickName", "nickName"),
        ("emails.label", "label"),
        ('emails[label eq "x"].value', "label"),
        ("urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge", "acme"),
        (f"{ENTERPRISE_USER}:userName", "userName"),
        ('name[givenName eq "x"]', "single-valued"),
    ],
)
def test_unknown_targets_are_invalid_path(path: str, named: str) -> None:
    """An unknown attribute, sub-attribute or schema in a path is invalidPath naming it."""
    error = raises(InvalidPath, ops({"op": "replace", "path": path, "value": "x"}))
    assert named in error.detail
    assert error.scim_type == "invalidPath"


@pytest.mark.parametrize("path", ["id", "meta", "meta.created", "groups", 'groups[value eq "g"]'])
def test_read_only_targets_are_mutability(path: str) -> None:
    """Targeting a readOnly attribute is a mutability error (RFC 7644 §3.5.2)."""
    error = raises(MutabilityViolation, ops({"op": "replace", "path": path, "value": "x"}))
    assert error.scim_type == "mutability"


def test_password_is_accepted_and_discarded() -> None:
    """`password` is writeOnly: accepted from identity providers, never stored."""
    result = run(
        ops(
            {"op": "replace", "path": "password", "value": "t1meMa$heen"},
            {"op": "replace", "value": {"password": "x"}},
        )
    )
    assert result.document == base_user()
    assert not result.changed


def test_string_limit_applies_to_patch() -> None:
    """Values set by PATCH obey the same limits as in a POST."""
    body = ops({"op": "replace", "path": "title", "value": "x" * 2049})
    assert raises(InvalidValue, body).scim_type == "invalidValue"


# --- whole-request rules --------------------------------------------------------------------


def test_removing_username_is_invalid_value() -> None:
    """Required attributes must survive the patch (RFC 7643 §2.2)."""
    error = raises(InvalidValue, ops({"op": "remove", "path": "userName"}))
    assert "'userName' is required" in error.detail


def test_removing_group_display_name_is_invalid_value() -> None:
    """A Group keeps its required displayName."""
    body = ops({"op": "replace", "path": "displayName", "value": ""})
    assert raises(InvalidValue, body, resource_type=GROUP).scim_type == "invalidValue"


def test_patch_is_atomic() -> None:
    """A failing operation fails the whole request, and the input is never mutated."""
    document = base_user()
    snapshot = copy.deepcopy(document)
    body = ops(
        {"op": "replace", "path": "title", "value": "Boss"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "n@x.com"},
        {"op": "replace", "path": "active", "value": "maybe"},
    )
    with pytest.raises(InvalidValue):
        run(body, document)
    assert document == snapshot


def test_result_is_a_new_document() -> None:
    """The result shares nothing mutable with the input."""
    document = base_user()
    snapshot = copy.deepcopy(document)
    result = run(ops({"op": "replace", "path": "title", "value": "Boss"}), document)
    result.document["name"]["givenName"] = "Changed"
    result.document["emails"][0]["value"] = "changed@x.com"
    assert document == snapshot


def test_no_op_patch_is_unchanged() -> None:
    """Setting values to what they already are yields `changed` False."""
    body = ops(
        {"op": "replace", "path": "name.givenName", "value": "Barbara"},
        {"op": "Replace", "path": "active", "value": "True"},
        {"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]},
    )
    result = run(body)
    assert result.document == base_user()
    assert not result.changed


# --- group members --------------------------------------------------------------------------


def test_okta_membership_push() -> None:
    """Okta removes with `members[value eq ...]` and adds with a `members` value array."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "remove", "path": 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]'},
            {
                "op": "add",
                "path": "members",
                "value": [
                    {
                        "value": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
                        "display": "test.user@okta.local",
                    }
                ],
            },
        ],
    }
    result = run(body, resource_type=GROUP)
    assert result.member_changes == (
        MemberChange("remove", ("89bb1940-b905-4575-9e7f-6f887cfb368e",)),
        MemberChange("add", ("23a35c27-23d3-4c03-b4c5-6443c09e7173",)),
    )
    assert result.document == base_group()
    assert not result.changed


def test_okta_replace_members_with_empty_list_clears() -> None:
    """Okta sends `replace members []`: every member is removed."""
    body = ops({"op": "replace", "path": "members", "value": []})
    assert run(body, resource_type=GROUP).member_changes == (MemberChange("clear"),)


def test_validator_replace_members() -> None:
    """Entra's validator adds a member with `replace members [{value}]`: exactly these."""
    body = ops({"op": "replace", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]})
    changes = run(body, resource_type=GROUP).member_changes
    assert changes == (MemberChange("replace", ("u1", "u2")),)


def test_entra_add_and_remove_member_with_null_ref() -> None:
    """Entra sends `"$ref": null` in member values, and removes by listing values."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}],
            },
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "a1b2c3"}]},
        ],
    }
    assert run(body, resource_type=GROUP).member_changes == (
        MemberChange("add", ("f648f8d5ea4e4cd38e9c",)),
        MemberChange("remove", ("a1b2c3",)),
    )


def test_authentik_member_add_and_remove() -> None:
    """authentik adds one member per operation and removes with a value array."""
    body = ops(
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "add", "path": "members", "value": [{"value": "u2"}]},
        {"op": "remove", "path": "members", "value": [{"value": "u1"}]},
    )
    assert run(body, resource_type=GROUP).member_changes == (
        MemberChange("add", ("u1",)),
        MemberChange("add", ("u2",)),
        MemberChange("remove", ("u1",)),
    )


def test_microsoft_remove_all_members() -> None:
    """Microsoft's reference test removes every member with `remove members` and no value."""
    body = ops({"op": "remove", "path": "members"})
    assert run(body, resource_type=GROUP).member_changes == (MemberChange("clear"),)


def test_members_or_filter() -> None:
    """`members[value eq "a" or value eq "b"]` removes both members."""
    body = ops({"op": "remove", "path": 'members[value eq "a" or value eq "b"]'})
    assert run(body, resource_type=GROUP).member_changes == (MemberChange("remove", ("a", "b")),)


@pytest.mark.parametrize(
    "path",
    [
        'members[display eq "Ann"]',
        'members[value ne "a"]',
        'members[value eq "a" and type eq "User"]',
    ],
)
def test_other_member_filters_are_invalid_filter(path: str) -> None:
    """Only `value eq` filters (joined with `or`) are supported on members."""
    error = raises(InvalidFilter, ops({"op": "remove", "path": path}), resource_type=GROUP)
    assert "value eq" in error.detail
    assert error.scim_type == "invalidFilter"


def test_microsoft_garbage_member_value_is_invalid_value() -> None:
    """Microsoft's garbage test adds `"value": "string id 1"`: not a member object."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": "string id 1"}],
    }
    assert raises(InvalidValue, body, resource_type=GROUP).scim_type == "invalidValue"


def test_pathless_members_become_member_changes() -> None:
    """Members inside a pathless value are membership changes, never document content."""
    body = ops(
        {"op": "replace", "value": {"displayName": "Ops", "members": [{"value": "u1"}]}},
        {"op": "add", "value": {"members": [{"value": "u2"}]}},
    )
    result = run(body, resource_type=GROUP)
    assert result.document == {"displayName": "Ops", "externalId": "8aa1a0c0"}
    assert result.member_changes == (
        MemberChange("replace", ("u1",)),
        MemberChange("add", ("u2",)),
    )


def test_member_sub_attribute_is_mutability() -> None:
    """A member's sub-attributes cannot be patched; members are added or removed whole."""
    body = ops({"op": "replace", "path": 'members[value eq "u1"].display', "value": "x"})
    assert raises(MutabilityViolation, body, resource_type=GROUP).scim_type == "mutability"


def test_member_filter_outside_remove_is_invalid_path() -> None:
    """A value filter on members only makes sense in a remove."""
    body = ops({"op": "add", "path": 'members[value eq "u1"]', "value": [{"value": "u1"}]})
    assert raises(InvalidPath, body, resource_type=GROUP).scim_type == "invalidPath"


def test_failed_member_operation_fails_the_rename_too() -> None:
    """Atomic: a bad member operation fails the request, renames included (Keycloak note)."""
    body = ops(
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"display": "no value"}]},
    )
    assert raises(InvalidValue, body, resource_type=GROUP).scim_type == "invalidValue"


def test_users_have_no_members() -> None:
    """`members` is not a User attribute: invalidPath, never a silent no-op."""
    body = ops({"op": "add", "path": "members", "value": [{"value": "u1"}]})
    assert raises(InvalidPath, body).scim_type == "invalidPath"


# --- properties -----------------------------------------------------------------------------

_PATHS = [
    None,
    "title",
    "active",
    "name",
    "name.givenName",
    "emails",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    "emails[primary eq true].primary",
    f"{ENTERPRISE_USER}:manager",
    ENTERPRISE_USER,
    "userName",
]
_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", "x@y.z", "True", "false", True, False]),
    st.just([{"value": "n@x.com", "primary": True}]),
    st.just({"givenName": "G", "value": "v", "department": "D", "title": "T"}),
)
_OPERATIONS = st.builds(
    lambda op, path, value: {"op": op, "value": value, **({"path": path} if path else {})},
    st.sampled_from(["add", "replace", "remove", "Replace"]),
    st.sampled_from(_PATHS),
    _VALUES,
)


@given(st.lists(_OPERATIONS, min_size=1, max_size=4))
def test_any_patch_is_atomic_and_yields_a_valid_document(operations: list[dict[str, Any]]) -> None:
    """Whatever the operations, the input is untouched and the result is a normal document."""
    document = base_user()
    snapshot = copy.deepcopy(document)
    try:
        result = run(ops(*operations), document)
    except ScimError:
        assert document == snapshot
        return
    assert document == snapshot
    assert normalize(USER, result.document) == result.document
    assert result.changed == (result.document != snapshot)


def test_extension_value_with_schemas_key() -> None:
    """scim2-tester sends a whole extension object that carries `schemas`: it is ignored."""
    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    body = ops({"op": "add", "path": ext, "value": {"schemas": [ext], "department": "Eng"}})
    extension = run(body).document[ext]
    assert extension["department"] == "Eng" and "schemas" not in extension
