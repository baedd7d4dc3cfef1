"""The garbage collector of a serving process: the app frozen once built, the young
generation collected every 50 000 allocations (`runtime.collector`). Run in a child
process: a test must not change the collector of the test run itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scimitar.runtime.collector import OLDER_THRESHOLDS, YOUNG_THRESHOLD

_PROBE = """
import gc, json
before = gc.get_threshold()
from scimitar.faces.app import create_served_app
app = create_served_app()
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
"""


def test_a_served_app_sets_the_collector_and_freezes_what_it_built(tmp_path: Path) -> None:
    env = {**os.environ, "SCIMITAR_DATABASE_URL": f"sqlite:///{tmp_path}/served.db"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["before"] != found["after"]  # Python's own, until the app is served
    assert found["after"] == [YOUNG_THRESHOLD, *OLDER_THRESHOLDS]
    # The app's objects (modules, schemas, statements) are out of the collector's scans.
    assert found["frozen"] > 10_000
