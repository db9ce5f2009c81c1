"""Every reader bounds depth and size while reading: deep nesting and huge lines give a
clear error (never a RecursionError), and memory stays bounded by the line limit."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from outcomes._safejson import MAX_DEPTH, bounded_lines, load_file, loads
from outcomes.errors import ValidationError
from outcomes.inference import OutcomeTracker, ingest_stream
from outcomes.routing._matrix import load_matrix
from outcomes.store import MemoryStore
from outcomes.testing import cli

DEEP = [
    "[" * 30_000 + "]" * 30_000,
    '{"a":' * 30_000 + "1" + "}" * 30_000,
    "[" * 30_000,
    '{"event": "start", "x": ' + "[" * 200 + "]" * 200 + "}",
]


@pytest.mark.parametrize("text", DEEP)
def test_loads_refuses_deep_nesting_with_a_clear_error(text: str) -> None:
    with pytest.raises(ValidationError, match=r"nested deeper|invalid JSON"):
        loads(text)


def test_loads_accepts_nesting_up_to_the_limit_and_refuses_nan() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(ok) is not None
    with pytest.raises(ValidationError, match="nested deeper"):
        loads("[" + ok + "]")
    with pytest.raises(ValidationError, match="NaN"):
        loads('{"x": NaN}')


def test_bounded_lines_never_holds_more_than_the_limit() -> None:
    limit = 1_000
    stream = io.BytesIO(b"a\n" + b"x" * 50_000 + b"\n" + b"y" * limit + b"\nlast")
    got = list(bounded_lines(stream, limit))
    assert got == [(1, b"a\n", True), (2, None, True), (3, b"y" * limit + b"\n", True),
                   (4, b"last", False)]  # fmt: skip


def test_load_file_refuses_a_file_over_the_limit(tmp_path: Path) -> None:
    f = tmp_path / "big.json"
    f.write_text(json.dumps(list(range(1000))))
    with pytest.raises(ValidationError, match="larger than"):
        load_file(f, max_bytes=100)


@pytest.mark.parametrize("text", DEEP[:3])
def test_ingest_reports_deep_lines_and_keeps_going(text: str) -> None:
    good = json.dumps({"event": "start", "trace_id": "t1", "model_id": "m", "task": "code"})
    stream = io.BytesIO((text + "\n" + good + "\n").encode())
    tracker = OutcomeTracker(MemoryStore(), strict=True)
    report = ingest_stream(tracker, stream)
    tracker.close()
    assert report.invalid == 1
    assert report.applied == 1
    assert report.problems[0].line == 1


def test_cli_ingest_and_bench_router_give_one_clear_line_for_deep_json(
    outcomes_home: Path, tmp_path: Path
) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text(DEEP[0] + "\n")
    result = cli.invoke(["ingest", str(deep), "--json"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    # The event decoder refuses a bracket where an object must be, before any descent.
    assert json.loads(result.output)["problems"][0]["reason"]
    nested = tmp_path / "nested.jsonl"
    nested.write_text('{"event": "start", "x": ' + "[" * 30_000 + "]" * 30_000 + "}\n")
    result = cli.invoke(["ingest", str(nested), "--json"])
    assert result.exit_code == 1
    assert "nested too deeply" in json.loads(result.output)["problems"][0]["reason"]
    result = cli.invoke(["bench", "router", "--dataset", str(deep)])
    assert result.exit_code == 2
    assert "nested deeper" in " ".join(result.output.split())
    with pytest.raises(ValidationError):
        load_matrix(deep)


@pytest.mark.slow
def test_a_100_mb_ingest_line_is_never_read_whole(tmp_path: Path) -> None:
    """Peak memory while ingesting a 100 MB line stays far below the line's size."""
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as fh:
        fh.write(b'{"event": "start", "trace_id": "')
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            fh.write(chunk)
        fh.write(b'"}\n')
        fh.write(b'{"event": "start", "trace_id": "t", "model_id": "m", "task": "code"}\n')
    code = f"""
        import resource, sys
        from outcomes.inference import OutcomeTracker, ingest_stream
        from outcomes.store import MemoryStore
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracker = OutcomeTracker(MemoryStore(), strict=True)
        with open({str(big)!r}, "rb") as fh:
            report = ingest_stream(tracker, fh)
        tracker.close()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert (report.invalid, report.applied) == (1, 1), report
        print((after - before) // 1024)
        """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    grew_mib = int(proc.stdout.strip().splitlines()[-1])
    assert grew_mib < 20, f"peak memory grew by {grew_mib} MiB for a 100 MB line"
