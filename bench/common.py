"""Shared bits of the benchmark scripts: timing, peak memory, and printing figures as JSON plus a table.

Each script in bench/ runs on its own (`python bench/NAME.py --help`), prints one JSON object on stdout
and a small table on stderr, so results can be piped into files and compared.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from contextlib import contextmanager
from typing import Iterator


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(into: dict, key: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    into[key] = round(time.perf_counter() - start, 3)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--scale", choices=["small", "original"], default="small",
                   help="small: a quick look; original: the original project's 14,401 frames at 200x120")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    return p


def frames_for(scale: str, small: int) -> int:
    return 14401 if scale == "original" else small


def report(name: str, figures: dict, json_path: str | None = None) -> None:
    figures = {"bench": name, **figures, "peak_rss_mb": round(peak_rss_mb(), 1)}
    text = json.dumps(figures, indent=2)
    print(text)
    if json_path:
        with open(json_path, "w") as fh:
            fh.write(text + "\n")
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}", file=sys.stderr)
