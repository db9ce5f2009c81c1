"""``outcomes mcp`` driven by the MCP SDK's own client over stdio."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from .conftest import SRC

pytestmark = pytest.mark.slow


def result(answer: Any) -> Any:
    assert not answer.is_error, answer.content
    if answer.structured_content is not None:
        content = answer.structured_content
        return content.get("result", content) if set(content) == {"result"} else content
    return json.loads(answer.content[0].text)


async def session_run(db: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "outcomes.cli", "mcp", "--db", f"sqlite:///{db}"],
        env={"PYTHONPATH": str(SRC)},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert names == {
            "record_call_outcome",
            "record_feedback",
            "record_component_event",
            "route",
            "model_leaderboard",
            "component_report",
            "calibration_report",
        }
        for i in range(3):
            done = await session.call_tool(
                "record_call_outcome",
                {
                    "trace_id": f"mcp-{i}",
                    "model_id": "gpt-4o",
                    "task": "code",
                    "outcome": "success",
                    "latency_ms": 120,
                    "output_tokens": 4,
                },
            )
            assert result(done)["recorded"] is True
        failed = await session.call_tool(
            "record_call_outcome",
            {
                "trace_id": "mcp-x",
                "model_id": "o3-mini",
                "task": "code",
                "outcome": "failure",
                "error": "503 upstream",
            },
        )
        assert result(failed)["recorded"] is True
        bad = await session.call_tool(
            "record_call_outcome",
            {
                "trace_id": "mcp-bad",
                "model_id": "gpt-4o",
                "task": "code",
                "outcome": "success",
                "latency_ms": -5,
            },
        )
        assert bad.is_error
        fb = await session.call_tool("record_feedback", {"trace_id": "mcp-0", "thumbs": False})
        assert result(fb)["recorded"] is True
        board = result(await session.call_tool("model_leaderboard", {"task": "code"}))
        by_model = {m["model_id"]: m for m in board}
        assert by_model["gpt-4o"]["calls"] == 3
        assert by_model["gpt-4o"]["failures"] == 1  # the thumbs down
        assert by_model["o3-mini"]["failures"] == 1
        decision = result(
            await session.call_tool("route", {"task": "code", "candidates": ["gpt-4o", "o3-mini"]})
        )
        assert decision["model_id"] in ("gpt-4o", "o3-mini")
        assert decision["trace_id"]
        assert 0 < decision["propensity"] <= 1
        event = await session.call_tool(
            "record_component_event", {"component_id": "plug-a", "outcome": "install_failure"}
        )
        assert result(event)["recorded"] is True
        (report,) = result(await session.call_tool("component_report", {}))
        assert (report["component_id"], report["failures"]) == ("plug-a", 1)
        assert result(await session.call_tool("calibration_report", {})) == []


def test_the_mcp_tools_over_stdio_with_the_sdk_client(tmp_path: Path) -> None:
    anyio.run(session_run, tmp_path / "mcp.db")
