"""Posting console forms with the session's CSRF token, and reading the page's message."""

from __future__ import annotations

import re
from typing import Any

from tests.faces.admin.helpers import Site, csrf_of


def post(site: Site, path: str, **data: str) -> Any:
    return site.client.post(path, data={"csrf": csrf_of(site.client), **data})


def error_of(html: str) -> str:
    found = re.search(r'class="error" role="alert">([^<]*)<', html)
    return found.group(1).replace("&#39;", "'").replace("&#34;", '"') if found else ""
