"""SCIM schemas (RFC 7643 §2, §4, §7), declared once.

Every attribute characteristic lives here, next to the attribute: validation, projection,
filtering, PATCH and the discovery endpoints (`/Schemas`, `/ResourceTypes`) all read these
definitions, so what the server advertises cannot drift from what it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIMITAR_USER = "urn:ietf:params:scim:schemas:extension:scimitar:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


class AttrType(StrEnum):
    STRING = "string"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "dateTime"
    BINARY = "binary"
    REFERENCE = "reference"
    COMPLEX = "complex"


class Mutability(StrEnum):
    READ_ONLY = "readOnly"
    READ_WRITE = "readWrite"
    IMMUTABLE = "immutable"
    WRITE_ONLY = "writeOnly"


class Returned(StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    DEFAULT = "default"
    REQUEST = "request"


class Uniqueness(StrEnum):
    NONE = "none"
    SERVER = "server"
    GLOBAL = "global"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition (RFC 7643 §7)."""

    name: str
    type: AttrType = AttrType.STRING
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = Mutability.READ_WRITE
    returned: Returned = Returned.DEFAULT
    uniqueness: Uniqueness = Uniqueness.NONE
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    description: str = ""
    _by_key: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({sub.name.lower(): sub for sub in self.sub_attributes})

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute called `name`, matched case-insensitively (RFC 7643 §2.1)."""
        return self._by_key.get(name.lower())

    def to_scim(self) -> dict[str, Any]:
        """Every characteristic RFC 7643 §7 lists, on every attribute: strict clients
        (Microsoft's validator) read `caseExact` and `uniqueness` on complex ones too."""
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "canonicalValues": list(self.canonical_values),
            "caseExact": self.case_exact,
            "mutability": self.mutability.value,
            "returned": self.returned.value,
            "uniqueness": self.uniqueness.value,
        }
        if self.type is AttrType.REFERENCE or self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        if self.type is AttrType.COMPLEX:
            doc["subAttributes"] = [sub.to_scim() for sub in self.sub_attributes]
        return doc


@dataclass(frozen=True)
class Schema:
    """A schema: a URN and its attributes (RFC 7643 §7)."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_key: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({attr.name.lower(): attr for attr in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        return self._by_key.get(name.lower())

    def to_scim(self, location: str) -> dict[str, Any]:
        return {
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attr.to_scim() for attr in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{location}/Schemas/{self.id}"},
        }


@dataclass(frozen=True)
class ResourceType:
    """A resource type: endpoint, core schema and extensions (RFC 7643 §6)."""

    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()

    @property
    def schemas(self) -> tuple[Schema, ...]:
        return (self.schema, *self.extensions)

    def extension(self, urn: str) -> Schema | None:
        urn = urn.lower()
        return next((ext for ext in self.extensions if ext.id.lower() == urn), None)

    def schema_for(self, urn: str) -> Schema | None:
        """The core schema or an extension, by URN (case-insensitive)."""
        if urn.lower() == self.schema.id.lower():
            return self.schema
        return self.extension(urn)

    def to_scim(self, location: str) -> dict[str, Any]:
        return {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": ext.id, "required": False} for ext in self.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{location}/ResourceTypes/{self.name}",
            },
        }


def _str(name: str, **kw: Any) -> Attribute:
    return Attribute(name, AttrType.STRING, **kw)


def _bool(name: str, **kw: Any) -> Attribute:
    return Attribute(name, AttrType.BOOLEAN, **kw)


def _typed_list(
    name: str,
    description: str,
    types: tuple[str, ...],
    *,
    value: Attribute | None = None,
    extra: tuple[Attribute, ...] = (),
) -> Attribute:
    """A multi-valued attribute with the usual value/display/type/primary sub-attributes."""
    return Attribute(
        name,
        AttrType.COMPLEX,
        multi_valued=True,
        description=description,
        sub_attributes=(
            value or _str("value", description=f"The {name} value."),
            _str("display", description="A human-readable name.", mutability=Mutability.READ_WRITE),
            _str("type", description="A label indicating the function.", canonical_values=types),
            _bool("primary", description="The primary or preferred value."),
            *extra,
        ),
    )


_META = Attribute(
    "meta",
    AttrType.COMPLEX,
    mutability=Mutability.READ_ONLY,
    description="Resource metadata.",
    sub_attributes=(
        _str("resourceType", case_exact=True, mutability=Mutability.READ_ONLY),
        Attribute("created", AttrType.DATETIME, mutability=Mutability.READ_ONLY),
        Attribute("lastModified", AttrType.DATETIME, mutability=Mutability.READ_ONLY),
        Attribute(
            "location",
            AttrType.REFERENCE,
            case_exact=True,
            mutability=Mutability.READ_ONLY,
            reference_types=("uri",),
        ),
        _str("version", case_exact=True, mutability=Mutability.READ_ONLY),
    ),
)

#: Attributes common to every resource (RFC 7643 §3.1); they belong to no schema's list.
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    _str(
        "id",
        case_exact=True,
        mutability=Mutability.READ_ONLY,
        returned=Returned.ALWAYS,
        uniqueness=Uniqueness.SERVER,
        description="Unique identifier assigned by the service provider.",
    ),
    _str(
        "externalId", case_exact=True, description="Identifier assigned by the provisioning client."
    ),
    _META,
)

USER_SCHEMA = Schema(
    CORE_USER,
    "User",
    "User Account",
    (
        _str(
            "userName",
            required=True,
            uniqueness=Uniqueness.SERVER,
            description="Unique identifier for the User, the person's email address.",
        ),
        Attribute(
            "name",
            AttrType.COMPLEX,
            description="The components of the user's real name.",
            sub_attributes=(
                _str("formatted"),
                _str("familyName"),
                _str("givenName"),
                _str("middleName"),
                _str("honorificPrefix"),
                _str("honorificSuffix"),
            ),
        ),
        _str("displayName", description="The name of the User, suitable for display."),
        _str("nickName"),
        Attribute("profileUrl", AttrType.REFERENCE, reference_types=("external",)),
        _str("title"),
        _str("userType"),
        _str("preferredLanguage"),
        _str("locale"),
        _str("timezone"),
        _bool("active", description="The User's administrative status."),
        _str(
            "password",
            mutability=Mutability.WRITE_ONLY,
            returned=Returned.NEVER,
            description="Accepted from identity providers and discarded; never stored.",
        ),
        _typed_list("emails", "Email addresses for the user.", ("work", "home", "other")),
        _typed_list(
            "phoneNumbers",
            "Phone numbers for the User.",
            ("work", "home", "mobile", "fax", "pager", "other"),
        ),
        _typed_list(
            "ims",
            "Instant messaging addresses for the User.",
            ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        ),
        _typed_list(
            "photos",
            "URLs of photos of the User.",
            ("photo", "thumbnail"),
            value=Attribute("value", AttrType.REFERENCE, reference_types=("external",)),
        ),
        Attribute(
            "addresses",
            AttrType.COMPLEX,
            multi_valued=True,
            description="A physical mailing address for this User.",
            sub_attributes=(
                _str("formatted"),
                _str("streetAddress"),
                _str("locality"),
                _str("region"),
                _str("postalCode"),
                _str("country"),
                _str("type", canonical_values=("work", "home", "other")),
                _bool("primary"),
            ),
        ),
        Attribute(
            "groups",
            AttrType.COMPLEX,
            multi_valued=True,
            mutability=Mutability.READ_ONLY,
            description="Groups the user belongs to, computed from group memberships.",
            sub_attributes=(
                _str("value", mutability=Mutability.READ_ONLY),
                Attribute(
                    "$ref",
                    AttrType.REFERENCE,
                    mutability=Mutability.READ_ONLY,
                    reference_types=("Group",),
                ),
                _str("display", mutability=Mutability.READ_ONLY),
                _str(
                    "type",
                    mutability=Mutability.READ_ONLY,
                    canonical_values=("direct", "indirect"),
                ),
            ),
        ),
        _typed_list("entitlements", "Entitlements of the User.", ()),
        _typed_list("roles", "Roles of the User.", ()),
        _typed_list(
            "x509Certificates",
            "X.509 certificates of the User.",
            (),
            value=Attribute("value", AttrType.BINARY),
        ),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    ENTERPRISE_USER,
    "EnterpriseUser",
    "Enterprise User",
    (
        _str("employeeNumber"),
        _str("costCenter"),
        _str("organization"),
        _str("division"),
        _str("department"),
        Attribute(
            "manager",
            AttrType.COMPLEX,
            description="The User's manager.",
            sub_attributes=(
                _str("value", description="The id of the SCIM resource of the manager."),
                Attribute("$ref", AttrType.REFERENCE, reference_types=("User",)),
                _str("displayName", mutability=Mutability.READ_ONLY),
            ),
        ),
    ),
)

ORG_ROLES = ("Owner", "Admin", "Member")

SCIMITAR_USER_SCHEMA = Schema(
    SCIMITAR_USER,
    "ScimitarUser",
    "Scimitar organization membership",
    (
        _str(
            "orgRole",
            case_exact=False,
            canonical_values=ORG_ROLES,
            description="The member's role in the organization: Owner, Admin or Member.",
        ),
    ),
)

GROUP_SCHEMA = Schema(
    CORE_GROUP,
    "Group",
    "Group",
    (
        _str(
            "displayName",
            required=True,
            uniqueness=Uniqueness.SERVER,
            description="A human-readable name for the Group.",
        ),
        Attribute(
            "members",
            AttrType.COMPLEX,
            multi_valued=True,
            description="A list of members of the Group (users only).",
            sub_attributes=(
                _str("value", case_exact=True, mutability=Mutability.IMMUTABLE),
                Attribute(
                    "$ref",
                    AttrType.REFERENCE,
                    mutability=Mutability.IMMUTABLE,
                    reference_types=("User",),
                ),
                _str("display", mutability=Mutability.READ_ONLY),
                _str("type", mutability=Mutability.IMMUTABLE, canonical_values=("User",)),
            ),
        ),
    ),
)

USER = ResourceType(
    "User",
    "/Users",
    "User Account",
    USER_SCHEMA,
    (ENTERPRISE_USER_SCHEMA, SCIMITAR_USER_SCHEMA),
)
GROUP = ResourceType("Group", "/Groups", "Group", GROUP_SCHEMA)

RESOURCE_TYPES: tuple[ResourceType, ...] = (USER, GROUP)
SCHEMAS: tuple[Schema, ...] = (
    USER_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    SCIMITAR_USER_SCHEMA,
    GROUP_SCHEMA,
)


def common_attribute(name: str) -> Attribute | None:
    lowered = name.lower()
    return next((attr for attr in COMMON_ATTRIBUTES if attr.name.lower() == lowered), None)
