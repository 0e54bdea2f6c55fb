"""The app's long jobs: a `deepdance` command in a child process, its lines read live, cancelled by SIGTERM.

A job is the very command a person would type (`python -m deepdance run …`), so the app adds no logic of its
own to training or generation, and cancelling is the CLI's own SIGTERM path: the command removes its
temporary folder and exits 143, leaving nothing half-written. The command's stderr is not a terminal, so it
says one line per stage and per epoch (`progress.say`); those lines are the live progress the page shows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

KEEP_LINES = 400  # the last lines of a job kept for the page (the whole log goes to its file)
ERROR_PREFIX = "deepdance: error: "
EPOCH = re.compile(r"^(?P<stage>\w+) epoch (?P<epoch>\d+)/(?P<epochs>\d+): (?P<figures>.*?)(?: \((?P<secs>[\d.]+) s\))?$")
STAGE = re.compile(r"^(?P<stage>data|pose|look|ae|encode|seq|generate|evaluate): (?P<text>.*)$")
FIGURE = re.compile(r"(\w+) (-?[\d.]+(?:e[-+]?\d+)?|nan|inf)")
STAGES = {"data": "data", "pose": "pose fit", "look": "learning the look", "ae": "autoencoder", "encode": "encoding", "seq": "sequence model",
          "generate": "generating", "evaluate": "evaluating"}


class Busy(Exception):
    """Another job is running (the machine trains one thing at a time)."""


def clean_lines(lines: list[str]) -> list[str]:
    """The lines a page may show: a Python traceback is cut to its last line (the log file keeps it whole)."""
    out, in_traceback = [], False
    for line in lines:
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
            continue
        if in_traceback:
            if line.startswith((" ", "\t")) or not line.strip() or line.startswith("During handling"):
                continue
            in_traceback = False
        out.append(line)
    return out


class Job:
    """One command in a child process. `on_end(job)` runs in the reader thread once the command has exited
    (to move a finished output into place, or to clean up its inputs)."""

    def __init__(self, kind: str, argv: list[str], log: Path, *, title: str, result: dict | None = None,
                 on_end: Callable[["Job"], None] | None = None, names: dict[str, str] | None = None):
        self.id = f"{int(time.time() * 1000):x}"
        self.kind, self.argv, self.log, self.title = kind, argv, log, title
        self.result = dict(result or {})
        self.on_end = on_end
        self.names = names or {}  # paths the page knows by another name (an upload: the file's own name)
        self.lines: list[str] = []
        self.state = "starting"  # running, done, failed, cancelled
        self.message = ""
        self.stage = ""
        self.stage_text = ""
        self.epoch: dict | None = None
        self.started = time.time()
        self.ended: float | None = None
        self.cancelling = False
        self.proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    # --- running -------------------------------------------------------------------------------------
    def start(self) -> "Job":
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("FORCE_COLOR", None)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "deepdance", *self.argv], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     errors="replace", bufsize=1, env=env)
        self.state = "running"
        self._thread = threading.Thread(target=self._read, name=f"job-{self.id}", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.log, "w", encoding="utf-8") as log:
            log.write("$ deepdance " + " ".join(self.argv) + "\n")
            for raw in self.proc.stdout:
                line = raw.rstrip("\n").split("\r")[-1]
                log.write(line + "\n")
                log.flush()
                self._take(line)
        code = self.proc.wait()
        self._finish(code)

    def _take(self, line: str) -> None:
        self.lines.append(line)
        del self.lines[:-KEEP_LINES]
        if m := EPOCH.match(line):
            self.stage = m["stage"]
            self.epoch = {"stage": m["stage"], "epoch": int(m["epoch"]), "epochs": int(m["epochs"]),
                          "figures": dict(FIGURE.findall(m["figures"])), "seconds": m["secs"]}
        elif m := STAGE.match(line):
            self.stage, self.stage_text = m["stage"], m["text"]

    def _finish(self, code: int) -> None:
        if code == 0:
            self.state = "done"
        elif self.cancelling or code in (128 + signal.SIGTERM, 128 + signal.SIGINT, -signal.SIGTERM):
            self.state, self.message = "cancelled", "Cancelled: nothing half-written was kept."
        else:
            self.state = "failed"
            said = [ln[len(ERROR_PREFIX):] for ln in self.lines if ln.startswith(ERROR_PREFIX)]
            last = clean_lines(self.lines)[-1:] or [f"exit status {code}"]
            self.message = said[-1] if said else \
                f"deepdance stopped unexpectedly ({last[0]}); the whole log is in {self.log}"
            for path, name in self.names.items():
                self.message = self.message.replace(path, name)
        try:
            if self.on_end is not None:
                self.on_end(self)
        except Exception as e:  # a failed clean-up is told, never raised into a dead thread
            if self.state == "done":
                self.state = "failed"
            self.message = self.message or f"could not finish the job: {e}"
            print(f"deepdance app: job {self.id}: {type(e).__name__}: {e}", file=sys.stderr)
        self.ended = time.time()

    def cancel(self) -> None:
        """SIGTERM: the command unwinds, removes its temporary outputs and exits 143."""
        if self.proc is not None and self.proc.poll() is None:
            self.cancelling = True
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ended is not None

    @property
    def running(self) -> bool:
        return self.ended is None

    def status(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "state": self.state,
                "running": self.running, "message": self.message, "stage": self.stage,
                "stage_name": STAGES.get(self.stage, self.stage), "stage_text": self.stage_text,
                "epoch": self.epoch, "lines": clean_lines(self.lines)[-60:], "result": self.result,
                "seconds": round((self.ended or time.time()) - self.started, 1),
                "pid": self.proc.pid if self.proc is not None else None}


class Jobs:
    """The jobs of one app: one runs at a time; the finished ones are kept for the page to read."""

    def __init__(self):
        self._lock = threading.Lock()
        self.all: dict[str, Job] = {}

    def current(self) -> Job | None:
        with self._lock:
            return next((j for j in self.all.values() if j.running), None)

    def start(self, job: Job) -> Job:
        with self._lock:
            busy = next((j for j in self.all.values() if j.running), None)
            if busy is not None:
                raise Busy(f"{busy.title} is still running; wait for it or cancel it first")
            while job.id in self.all:
                job.id = f"{int(job.id, 16) + 1:x}"
            self.all[job.id] = job
            try:
                job.start()
            except BaseException:
                del self.all[job.id]
                raise
        return job

    def get(self, job_id: str) -> Job | None:
        return self.all.get(job_id)

    def stop_all(self, timeout: float = 30.0) -> None:
        for job in list(self.all.values()):
            job.cancel()
        for job in list(self.all.values()):
            job.wait(timeout)
