"""`deepdance app`: a local web page over the same commands as the CLI, served by the standard library.

Why the standard library: the page needs a few JSON routes, uploads and files with byte ranges (so a
<video> seeks), nothing a framework adds. Measured on the 2-core machine this was built on: Gradio adds
~340 MB and 52 packages and imports in 8-10 s; FastAPI + uvicorn + python-multipart add ~18 MB (15 packages)
and import in ~1 s; `http.server` adds nothing and imports in 0.3 s. Every asset is in `static/`: the page works offline.

Routes (JSON unless said): GET / (the page), GET /api/state (runs, the current job, the choices),
GET /api/runs/NAME, POST /api/upload?kind=video|song&name=FILE (the raw file as the body),
POST /api/train, POST /api/generate, GET /api/jobs/ID, POST /api/jobs/ID/cancel, GET /files/PATH (a file
under --runs, with Range). A bad request answers {"error": the UserError's words}; an unexpected failure
answers a one-line message and prints its traceback in the terminal, never in the page.
"""

from __future__ import annotations

import json
import mimetypes
import re
import shutil
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import UserError
from ..files import FolderOutput, disk_error
from ..limits import MAX_BPM, MAX_SECONDS, MIN_BPM
from . import library as L
from .jobs import Busy, Job, Jobs

STATIC = Path(__file__).resolve().parent / "static"
APP_DIR = ".app"  # RUNS/.app/logs: each job's whole output

# What the first screen offers. Each is the flags of one `deepdance run` (built-in dancer / videos; None:
# not for videos). "pretrained" copies the shipped model of the built-in dancer instead of training one.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"label": "tiny: a quick try (about a minute)",
             "builtin": ["--seconds", "20"],
             "video": ["--ingest-fps", "12"],
             "train": ["--seq-epochs", "10", "--look-steps", "60", "--evaluate-frames", "0", "--frames", "120"]},
    "demo": {"label": "demo: the full recipe (minutes; evaluated)",
             "builtin": [], "video": [], "train": []},
    "pretrained": {"label": "pretrained: the built-in dancer, already trained (seconds)",
                   "builtin": ["--pretrained", "--frames", "240"], "video": None, "train": []},
}
MAX_UPLOADS = 16


def _number(body: dict, key: str, kind, *, default=None, low=None, high=None):
    value = body.get(key, default)
    if value in (None, ""):
        return default
    try:
        value = kind(value)
    except (TypeError, ValueError):
        raise UserError(f"{key} must be a number, not {value!r}") from None
    if value != value or (low is not None and value < low) or (high is not None and value > high):
        raise UserError(f"{key} must lie between {low:g} and {high:g}, not {value:g}")
    return value


class App:
    """What the routes act on: the runs folder and the jobs."""

    def __init__(self, runs: Path):
        self.runs = Path(runs)
        if self.runs.exists() and not self.runs.is_dir():
            raise UserError(f"--runs {self.runs} is a file, not a folder of runs")
        try:
            self.runs.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise disk_error(e, self.runs) or UserError(f"cannot make --runs {self.runs}: {e.strerror or e}") from None
        self.jobs = Jobs()
        self.logs = self.runs / APP_DIR / "logs"

    # --- reading ----------------------------------------------------------------------------------------
    def state(self) -> dict:
        job = self.jobs.current() or (list(self.jobs.all.values())[-1] if self.jobs.all else None)
        return {"runs": L.list_runs(self.runs), "job": self.job(job.id) if job else None,
                "presets": {k: v["label"] for k, v in PRESETS.items()}, "runs_folder": str(self.runs.resolve())}

    def run(self, name: str) -> dict:
        from ..pipeline import verdict_lines  # pipeline loads torch (~7 s): not before the page is up
        return L.describe_run(self.runs, name, verdict_lines)

    def job(self, job_id: str) -> dict:
        job = self.jobs.get(job_id)
        if job is None:
            raise UserError("no such job (the app was restarted?)")
        out = job.status()
        if job.kind == "train":
            out["preview"] = L.job_preview(self.runs, job.result["run"], job.proc.pid if job.proc else None)
        return out

    # --- acting -----------------------------------------------------------------------------------------
    def upload(self, query: dict, body, length: int) -> dict:
        kind = query.get("kind", "video")
        if kind not in ("video", "song"):
            raise UserError("kind must be video or song")
        path = L.save_upload(self.runs, query.get("name", "upload"), body, length, kind=kind)
        return {"upload": f"{path.parent.name}/{path.name}", "name": path.name, "bytes": length}

    def train(self, body: dict) -> dict:
        preset = PRESETS.get(body.get("preset", "tiny"))
        if preset is None:
            raise UserError(f"preset must be one of {', '.join(PRESETS)}")
        uploads = body.get("uploads") or []
        if not isinstance(uploads, list) or len(uploads) > MAX_UPLOADS:
            raise UserError(f"uploads must be a list of at most {MAX_UPLOADS} videos")
        videos = [L.upload_path(self.runs, str(u)) for u in uploads]
        if videos and preset["video"] is None:
            raise UserError(f"the {body.get('preset')} preset learns from no video: choose tiny or demo for yours")
        seed = _number(body, "seed", int, default=0, low=0, high=2**31 - 1)
        default = videos[0].stem if videos else f"dancer-{body.get('preset', 'tiny')}"
        name = L.unique(self.runs, L.safe_name(str(body.get("name") or default)))
        argv = ["run", "--out", str(self.runs / name), "--seed", str(seed)]
        argv += (["--video", *map(str, videos)] + preset["video"]) if videos else preset["builtin"]
        argv += preset["train"]

        def end(job: Job) -> None:
            for v in videos:  # the run keeps its frames and music in RUN/store; the upload is done with
                L.drop_upload(v)

        what = ", ".join(v.name for v in videos) if videos else "the built-in dancer"
        job = Job("train", argv, self.logs / f"{name}.log", title=f"training {name} on {what}",
                  result={"run": name}, on_end=end, names={str(v): v.name for v in videos})
        self._start(job)
        return self.job(job.id)

    def generate(self, body: dict) -> dict:
        name = str(body.get("run", ""))
        run = self.runs / name
        if not L.is_run(run) or run.resolve().parent != self.runs.resolve():
            raise UserError(f"there is no run called {name!r}")
        seconds = _number(body, "seconds", float, default=None, low=1, high=MAX_SECONDS)
        seed = _number(body, "seed", int, default=0, low=0, high=2**31 - 1)
        temperature = _number(body, "temperature", float, default=None, low=0, high=5)
        bpm = _number(body, "bpm", float, default=None, low=MIN_BPM, high=MAX_BPM)
        song = L.upload_path(self.runs, str(body["song"])) if body.get("song") else None
        if song is not None and bpm is not None:
            raise UserError("choose a song or a tempo, not both")
        out = FolderOutput(L.next_dance(run))  # built under a temporary name, moved into place when whole
        try:
            argv = ["generate", str(run), "--out", str(out.tmp), "--seed", str(seed)]
            if seconds is not None:
                argv += ["--seconds", f"{seconds:g}"]
            if temperature is not None:
                argv += ["--temperature", f"{temperature:g}"]
            if bpm is not None:
                argv += ["--bpm", f"{bpm:g}"]
            if song is not None:  # the dance folder keeps its song, so it stands alone
                kept = out.tmp / f"song{song.suffix.lower()}"
                shutil.copyfile(song, kept)
                argv += ["--music", str(kept)]

            def end(job: Job) -> None:
                if song is not None:
                    L.drop_upload(song)
                if job.state == "done":
                    out.commit()
                else:
                    out.abort()

            job = Job("generate", argv, self.logs / f"{name}-{out.path.name}.log",
                      title=f"a new dance of {name}", result={"run": name, "dance": out.path.name}, on_end=end,
                      names={str(kept): song.name} if song is not None else {})
            self._start(job)
        except BaseException:
            out.abort()
            raise
        return self.job(job.id)

    def _start(self, job: Job) -> None:
        try:
            self.jobs.start(job)
        except Busy as e:
            raise UserError(str(e)) from None
        L.remove_logs(self.logs)

    def cancel(self, job_id: str) -> dict:
        job = self.jobs.get(job_id)
        if job is None:
            raise UserError("no such job")
        job.cancel()
        return self.job(job_id)

    def file(self, relative: str) -> Path:
        path = L.inside(self.runs, relative)
        if not path.is_file():
            raise FileNotFoundError(relative)
        return path


RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class Handler(BaseHTTPRequestHandler):
    app: App
    server_version = "deepdance"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the terminal shows the jobs, not every request
        pass

    # --- answers ----------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _guarded(self, act) -> None:
        try:
            act()
        except UserError as e:
            self._error(400, str(e))
        except FileNotFoundError:
            self._error(404, "not found")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            self._error(500, f"something went wrong inside the app ({type(e).__name__}: {e}); "
                             f"the terminal running 'deepdance app' has the details")

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1 << 20:
            self.close_connection = True
            raise UserError("request too large")
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise UserError("the request is not JSON") from None
        if not isinstance(data, dict):
            raise UserError("the request must be a JSON object")
        return data

    # --- routes -----------------------------------------------------------------------------------------
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        def act():
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            if path in ("/", "/index.html"):
                return self._static("index.html")
            if path.startswith("/static/"):
                return self._static(path[len("/static/"):])
            if path == "/api/state":
                return self._json(self.app.state())
            if path.startswith("/api/runs/"):
                return self._json(self.app.run(path[len("/api/runs/"):]))
            if m := re.fullmatch(r"/api/jobs/(\w+)", path):
                return self._json(self.app.job(m[1]))
            if path.startswith("/files/"):
                return self._file(self.app.file(path[len("/files/"):]))
            raise FileNotFoundError(path)
        self._guarded(act)

    def do_POST(self):
        def act():
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if path == "/api/upload":
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    return self._json(self.app.upload(query, self.rfile, length))
                except UserError:
                    self.close_connection = True  # the unread body must not be taken for a request
                    raise
            body = self._body()  # read whatever the route, so the next request on the connection starts clean
            if path == "/api/train":
                return self._json(self.app.train(body))
            if path == "/api/generate":
                return self._json(self.app.generate(body))
            if m := re.fullmatch(r"/api/jobs/(\w+)/cancel", path):
                return self._json(self.app.cancel(m[1]))
            raise FileNotFoundError(path)
        self._guarded(act)

    def _static(self, name: str) -> None:
        path = L.inside(STATIC, name)
        if not path.is_file():
            raise FileNotFoundError(name)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(200, path.read_bytes(), kind + ("; charset=utf-8" if kind.startswith("text/") or
                                                   kind.endswith("javascript") else ""))

    def _file(self, path: Path) -> None:
        """A file with byte ranges: a <video> asks for parts of it to seek."""
        size = path.stat().st_size
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        start, end, status = 0, size - 1, 200
        if m := RANGE.match(self.headers.get("Range", "")):
            if m[1]:
                start, end = int(m[1]), min(int(m[2]) if m[2] else size - 1, size - 1)
            elif m[2]:
                start = max(0, size - int(m[2]))
            if start > end or start >= size:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Cache-Control", "no-cache")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        if path.suffix in (".html",):
            self.send_header("Content-Security-Policy", "sandbox allow-scripts")
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(L.CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


def make_server(runs: Path, host: str = "127.0.0.1", port: int = 7860) -> tuple[ThreadingHTTPServer, App]:
    app = App(runs)
    handler = type("BoundHandler", (Handler,), {"app": app})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e} (another app running? try --port)") from None
    server.daemon_threads = True
    return server, app


def _warm() -> None:
    """Load the pipeline (torch, ~7 s) while the page is already up, so the first run opens at once."""
    try:
        from .. import pipeline  # noqa: F401
    except Exception:  # the route that needs it says what went wrong
        pass


def serve(runs: Path, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve until Ctrl-C / SIGTERM (the CLI turns those into an exception): a running job is cancelled
    first, so it too leaves nothing half-written."""
    server, app = make_server(runs, host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"deepdance app: http://{shown}:{server.server_address[1]}/  (runs in {app.runs.resolve()}; "
          f"Ctrl-C stops it)", file=sys.stderr, flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"deepdance app: note: listening on {host}: anyone who reaches this machine can use the app "
              f"(it has no login)", file=sys.stderr, flush=True)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    threading.Thread(target=_warm, name="warm", daemon=True).start()
    try:
        while thread.is_alive():
            thread.join(0.5)  # short waits: Ctrl-C and SIGTERM reach the main thread between them
    finally:
        app.jobs.stop_all()
        server.shutdown()
        server.server_close()
