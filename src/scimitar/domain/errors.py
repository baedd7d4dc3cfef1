"""Domain errors: the business rules that a request broke.

    DomainError
    ├── NotFoundError      the thing does not exist in this organization
    ├── ConflictError      a unique name or userName is already taken
    ├── InvalidError       a value is not acceptable (domain gate, unknown role, bad name)
    ├── PolicyError        the rule forbids this change (owner guard, org policy)
    └── AuthError          the credential is missing, wrong or deactivated

Faces translate them: the SCIM API to RFC 7644 errors, the admin API to JSON problems, the
CLI to one line on stderr.
"""

from __future__ import annotations

from collections.abc import Iterable

from scimitar.storage.limits import ValueRefused, refused_character


class DomainError(Exception):
    """Base of every error raised by a domain operation."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    """Raised when a resource does not exist in the organization."""


class ConflictError(DomainError):
    """Raised when a unique value is already taken."""


class InvalidError(DomainError):
    """Raised when a value is not acceptable."""


class PolicyError(DomainError):
    """Raised when a rule or an org policy forbids the change."""


class AuthError(DomainError):
    """Raised when a credential is missing, unknown or deactivated."""


def from_refusal(error: ValueRefused, path_values: Iterable[str] = ()) -> DomainError:
    """A value no database takes (`storage.limits`), as a domain error on every face and
    engine alike: looked up by an id in the path, nothing has it (not found); anything else
    sent is invalid."""
    if not error.writing and any(refused_character(value) for value in path_values):
        return NotFoundError("Nothing has that id")
    return InvalidError(error.detail)
