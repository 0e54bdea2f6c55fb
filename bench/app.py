"""Time `deepdance app` from its start to the page ready in a real browser (Debian's chromium, playwright).

    python bench/app.py              # three starts, each a new server process and a new page
    python bench/app.py --starts 5

Per start: listening_s (the server printed its address) and ready_s (the page loaded and said it is ready),
both from the moment the process was started. The app issue's bar: the page ready within 5 s.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, report  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
BAR_S = 5.0


def one_start(browser, runs: Path) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "deepdance", "app", "--port", "0", "--runs", str(runs)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if url is None:
            raise SystemExit(f"deepdance app said {line!r}")
        listening = time.perf_counter() - started
        page = browser.new_page()
        page.goto(url[0], wait_until="load")
        page.wait_for_selector("body[data-ready='1']")
        ready = time.perf_counter() - started
        page.close()
        return {"listening_s": round(listening, 2), "ready_s": round(ready, 2)}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--starts", type=int, default=3)
    args = p.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is absent (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        starts = [one_start(browser, Path(tmp) / f"runs{k}") for k in range(args.starts)]
        browser.close()
    worst = max(s["ready_s"] for s in starts)
    report("app", {"starts": starts, "worst_ready_s": worst, "bar_s": BAR_S, "passed": worst <= BAR_S}, args.json)


if __name__ == "__main__":
    main()
