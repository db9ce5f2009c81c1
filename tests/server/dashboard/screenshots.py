"""``make screenshots``: run the demo into a temporary store, serve the dashboard on it and
save a screenshot of every page into the folder given (``docs/img``).

Uses the distribution's Chromium through Playwright, like the browser tests.
"""

from __future__ import annotations

import io
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console

from outcomes import demo
from outcomes.inference import OutcomeTracker
from outcomes.server.dashboard import create_dashboard_app
from outcomes.store import SQLiteStore

PAGES = {
    "models": "models",
    "model": "models/gpt-4o?since=7d",
    "routing": "routing?since=7d",
    "routing-cutoffs": "routing?since=7d#cutoffs",
    "calibration": "calibration",
    "components": "components",
    "code": "code",
    "trajectories": "trajectories",
}


def main(out: Path) -> None:
    import socket

    import uvicorn
    from playwright.sync_api import sync_playwright

    from tests.server.dashboard.test_browser import CHROMIUM

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "demo.db")
        demo.run(store, Console(file=io.StringIO()), calls=2000, seed=7)
        tracker = OutcomeTracker(store)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        config = uvicorn.Config(
            create_dashboard_app(tracker), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                for name, path in PAGES.items():
                    page.goto(f"http://127.0.0.1:{port}/{path}")
                    page.screenshot(path=str(out / f"dashboard-{name}.png"), full_page=False)
                    print(out / f"dashboard-{name}.png")
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            tracker.close()
            store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
