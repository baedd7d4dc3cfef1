"""The console's Settings page sets the org's own rate limits, as the admin API does."""

from __future__ import annotations

import pytest

from tests.faces.admin.helpers import Site, sign_in
from tests.faces.console.forms import error_of, post


@pytest.fixture
def console(site: Site) -> Site:
    assert sign_in(site.client, "acme", "owner@example.com").status_code == 303
    return site


def test_settings_page_sets_and_clears_the_rate_limits(console: Site) -> None:
    """Numbers are saved (0: no limit), empty fields go back to the server's default, and
    anything else is refused with a message and changes nothing."""
    page = console.client.get("/console/settings").text
    assert 'name="scim_per_second"' in page and 'placeholder="server default"' in page
    post(console, "/console/rate-limits", scim_per_second="250", api_per_second="0")
    assert console.api.get("/rate-limits") == {"scim_per_second": 250, "api_per_second": 0}
    assert (
        'name="scim_per_second" inputmode="numeric" value="250"'
        in console.client.get("/console/settings").text
    )
    bad = post(console, "/console/rate-limits", scim_per_second="-5", api_per_second="")
    assert bad.status_code == 422
    assert "SCIM requests per second: enter a whole number" in error_of(bad.text)
    assert console.api.get("/rate-limits") == {"scim_per_second": 250, "api_per_second": 0}
    post(console, "/console/rate-limits", scim_per_second="", api_per_second=" ")
    assert console.api.get("/rate-limits") == {"scim_per_second": None, "api_per_second": None}
