"""Permissions: what each built-in project role may do, declared once.

Each built-in role holds every permission of the roles below it, so the sets nest:
Read-Only ⊂ Member ⊂ Admin ⊂ Owner. They are declared here, not stored: the `roles`
rows of built-in roles keep an empty `permissions` list, so changing this table changes
every org at once (and needs no migration). Custom roles carry the free-form permissions
they were created with; a member's permissions in a project are the union over every
grant that reaches them.
"""

from __future__ import annotations

from collections.abc import Iterable

from scimitar.domain.models import BUILTIN_ROLES

#: Every built-in permission, with what it lets the host product allow, weakest first.
PERMISSIONS: dict[str, str] = {
    "project.read": "See the project and everything in it",
    "project.write": "Create, change and delete the project's content",
    "teams.manage": "Create and delete the project's teams and set who is in them",
    "members.manage": "Give and take the project's roles",
    "project.admin": "Change the project's settings and integrations",
    "project.delete": "Delete the project",
}

#: The permissions each built-in role adds to those of the role below it.
_ADDED: dict[str, tuple[str, ...]] = {
    "Read-Only": ("project.read",),
    "Member": ("project.write",),
    "Admin": ("teams.manage", "members.manage", "project.admin"),
    "Owner": ("project.delete",),
}


def _nested() -> dict[int, tuple[str, ...]]:
    by_rank: dict[int, tuple[str, ...]] = {}
    held: tuple[str, ...] = ()
    for name, rank in sorted(BUILTIN_ROLES.items(), key=lambda item: item[1]):
        held = (*held, *_ADDED[name])
        by_rank[rank] = held
    return by_rank


#: The permissions of each built-in role, by its rank (Owner 4 … Read-Only 1).
BUILTIN_PERMISSIONS: dict[int, tuple[str, ...]] = _nested()


def role_permissions(rank: int | None, stored: Iterable[str]) -> tuple[str, ...]:
    """A role's permissions: the declared set of a built-in role (rank), else the custom
    role's stored ones."""
    return BUILTIN_PERMISSIONS[rank] if rank is not None else tuple(stored)
