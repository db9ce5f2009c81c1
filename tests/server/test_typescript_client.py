"""The TypeScript client (clients/typescript), run by Node's test runner against a real
``outcomes serve`` that its test starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SRC

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "typescript"

pytestmark = pytest.mark.slow


def test_the_typescript_client_against_a_real_server() -> None:
    npm = shutil.which("npm")
    in_ci = os.environ.get("OUTCOMES_REQUIRE_SHARED") == "1" or os.environ.get("CI") == "true"
    if npm is None or not (CLIENT / "node_modules" / "typescript").is_dir():
        reason = "the TypeScript client's tools are not installed: run `make install`"
        if in_ci:
            pytest.fail(f"the TypeScript client test must run in CI; {reason}")
        pytest.skip(reason)
    env = {**os.environ, "PYTHONPATH": str(SRC), "OUTCOMES_PYTHON": sys.executable}
    done = subprocess.run(
        [npm, "test", "--silent"], cwd=CLIENT, env=env, capture_output=True, text=True,
        timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
    assert "# pass 4" in done.stdout
