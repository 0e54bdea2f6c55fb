"""Kill `deepdance run` / `train` at random moments and check what is left (issue 16, item 4).

    python scripts/attack_kills.py [--tries 6] [--seed 0] [--keep DIR]

Each try starts a tiny command in a scratch folder, waits a random 2-40 s, sends SIGINT or SIGTERM, and
checks: exit code 130/143 (or 0 if it finished first), the last stderr line is the one error line, no
traceback, no hidden temporary (`.NAME.*`) left anywhere, and for `run` no half-made run folder. Prints one
JSON line per try and exits 1 if any try broke a promise. Slow (minutes); the quick versions are the
`slow`-marked tests in tests/test_attack_run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY = ["--seconds", "6", "--size", "40x24"]
TRAIN = ["--ae-epochs", "60", "--seq-epochs", "20", "--latent", "8", "--window", "3", "--music-input", "off"]


def hidden(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob(".*")]


def one_try(root: Path, rng: random.Random) -> dict:
    store = root / "store"
    if not store.exists():
        subprocess.run([sys.executable, "-m", "deepdance", "synth", "--out", str(store), *TINY, "--no-preview"],
                       check=True, capture_output=True)
    command = rng.choice(["run", "train"])
    out = root / f"out-{rng.randrange(10**6)}"
    args = ["run", "--store", str(store), "--out", str(out), *TRAIN, "--evaluate-frames", "0", "--frames", "20"] \
        if command == "run" else ["train", str(store), "--run", str(out), *TRAIN]
    sig = rng.choice([signal.SIGINT, signal.SIGTERM])
    delay = rng.uniform(2, 40)
    proc = subprocess.Popen([sys.executable, "-m", "deepdance", *args], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(delay)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return {"command": command, "signal": sig.name, "delay": round(delay, 1), "ok": False, "why": "went on"}
    lines = [line for line in err.strip().splitlines() if line.startswith("deepdance:")]
    problems = []
    if proc.returncode not in (0, 128 + sig):
        problems.append(f"exit {proc.returncode}")
    if proc.returncode and (len(lines) != 1 or not err.strip().endswith(lines[0])):
        problems.append("not one error line")
    if "Traceback" in err:
        problems.append("traceback")
    if hidden(root):
        problems.append(f"temporaries left: {hidden(root)}")
    if command == "run" and proc.returncode and out.exists():
        problems.append("half-made run folder")
    shutil.rmtree(out, ignore_errors=True)
    return {"command": command, "signal": sig.name, "delay": round(delay, 1), "exit": proc.returncode,
            "ok": not problems, "why": "; ".join(problems)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="scratch folder to use and keep")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="deepdance-kills-"))
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    failed = 0
    for _ in range(args.tries):
        result = one_try(root, rng)
        failed += not result["ok"]
        print(json.dumps(result), flush=True)
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
