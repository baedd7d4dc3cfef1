"""The faces: how people and programs reach Scimitar (SCIM, the admin API, the console)."""

from __future__ import annotations

from starlette.types import Scope


def route_path(scope: Scope) -> str:
    """The path below the app's mount point (ASGI paths include `root_path`)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


#: Where a route that takes a path with other methods puts them in its partial match's
#: scope (`faces.app.wayfinding` answers a 405 with them).
ALLOWED_METHODS = "scimitar.allowed_methods"
