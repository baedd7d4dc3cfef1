"""A Python client for Scimitar's admin and operator API.

    from scimitar.client import Client

    with Client("https://scimitar.example.com", "sat-…") as scimitar:
        if scimitar.is_allowed("ada@example.com", "Checkout", permission="project.write"):
            ...
        for event in scimitar.events(after=last_seq):   # long-polls; resume from a seq
            ...

`AsyncClient` has the same methods, to be awaited. Reference: docs/client.md.
"""

from scimitar.client._async_client import AsyncClient
from scimitar.client._client import Client
from scimitar.client._exceptions import (
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    Invalid,
    NotFound,
    PolicyError,
    RateLimited,
    ScimitarError,
    ServerError,
    Unauthorized,
)
from scimitar.client._models import (
    AccessCheck,
    AccessResult,
    ApiToken,
    AuditPage,
    Delivery,
    Event,
    EventPage,
    Grant,
    GrantPreview,
    Group,
    GroupDetail,
    GroupPage,
    Member,
    MemberDetail,
    MemberPage,
    NewToken,
    Org,
    OrgPage,
    Project,
    ProjectAccess,
    ProvisioningPage,
    Reason,
    RequestEvents,
    Role,
    ScimKeyStatus,
    SetupLink,
    Team,
    Webhook,
)
from scimitar.client._operations import OPERATIONS, Operation
from scimitar.client._retries import Retries
from scimitar.webhooks import SIGNATURE_HEADER, verify

__all__ = [
    "OPERATIONS",
    "SIGNATURE_HEADER",
    "AccessCheck",
    "AccessResult",
    "ApiToken",
    "AsyncClient",
    "AuditPage",
    "BadRequest",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Delivery",
    "Event",
    "EventPage",
    "Forbidden",
    "Grant",
    "GrantPreview",
    "Group",
    "GroupDetail",
    "GroupPage",
    "Invalid",
    "Member",
    "MemberDetail",
    "MemberPage",
    "NewToken",
    "NotFound",
    "Operation",
    "Org",
    "OrgPage",
    "PolicyError",
    "Project",
    "ProjectAccess",
    "ProvisioningPage",
    "RateLimited",
    "Reason",
    "RequestEvents",
    "Retries",
    "Role",
    "ScimKeyStatus",
    "ScimitarError",
    "ServerError",
    "SetupLink",
    "Team",
    "Unauthorized",
    "Webhook",
    "verify",
]
