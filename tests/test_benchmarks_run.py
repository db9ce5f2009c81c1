"""Every benchmark runs end to end at its quick size (``python -m benchmarks --quick``).

Targets are not asserted: quick sizes are not the sizes the targets are stated for, so
the command may exit 1 (a target missed). What is asserted is that no benchmark crashed
and that every one of them reported: two benchmarks once crashed for weeks after a
schema change without a test noticing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.__main__ import _modules

from tests.conftest import require_datasets, require_postgres

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
# Every benchmark once: about 2 minutes on a fast machine, over 5 on a slow or loaded one,
# beyond the suite's 300 s default (the child's own limit is 1200 s).
@pytest.mark.timeout(1260)
def test_every_benchmark_runs_at_its_quick_size_and_reports(tmp_path: Path) -> None:
    require_datasets()
    require_postgres()
    out = tmp_path / "results.json"
    env = {
        **os.environ,
        "OUTCOMES_HOME": str(tmp_path / "home"),
        "OUTCOMES_BENCH_POSTGRES_DB": "outcomes_bench_quick_test",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    env.pop("OUTCOMES_DB_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-4000:]
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    reported = {row["bench"] for row in json.loads(out.read_text())}
    assert reported == set(_modules())
