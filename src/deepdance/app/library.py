"""The runs folder is the app's database: run folders listed and described from what lies on disk.

    RUNS/NAME/                 a run folder, as `deepdance run` writes it (its first dance inside it)
    RUNS/NAME/dances/NNN/      each dance made in the app: dance.mp4, dance.gif, …, metrics.json, config.json
    RUNS/.uploads/TOKEN/FILE   an uploaded video or song, until the job that uses it ends
    RUNS/.app/logs/JOB.log     the whole output of each job

Nothing else is kept: a run made on the command line shows up here, and one made here is an ordinary run folder.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import UserError
from ..files import atomic_path, read_json
from ..limits import human_bytes

UPLOADS = ".uploads"
DANCES = "dances"
MAX_UPLOAD = 8 << 30          # bytes in one upload
DISK_MARGIN = 1 << 30         # free space an upload must leave
CHUNK = 1 << 20
VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ogv", ".gif"}
SONG_SUFFIXES = {".wav", ".mp3", ".ogg", ".oga", ".m4a", ".flac", ".aac", ".opus", *VIDEO_SUFFIXES}
DANCE_FILES = ("dance.mp4", "dance.gif", "dance.bvh", "dance_keypoints.npz", "contact_sheet.png")
FIGURE_KEYS = {"ae": ("val_iou",), "seq": ("val_loss",), "data": ("frames", "fps"),
               "generation": ("frames", "fps", "motion", "fragments", "area_in_range", "bas")}


def safe_name(text: str, default: str = "run") -> str:
    """A file or folder name made of what `text` says: letters, digits, '-', '_', '.', never hidden."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60]
    return name or default


def unique(folder: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`, … : the first that is free in `folder` (temporaries of it included)."""
    taken = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    candidate, k = name, 1
    while candidate in taken or any(t.startswith(f".{candidate}.") for t in taken):
        k += 1
        candidate = f"{name}-{k}"
    return candidate


def inside(root: Path, relative: str) -> Path:
    """`root/relative`, refused (as not found) when it leads out of `root`."""
    path = (root / relative).resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise FileNotFoundError(relative)
    return path


# --- uploads -------------------------------------------------------------------------------------------
def save_upload(runs: Path, filename: str, body: BinaryIO, length: int, *, kind: str) -> Path:
    """Write an uploaded file under RUNS/.uploads/TOKEN/ (whole or not at all); `kind` 'video' or 'song'."""
    name = safe_name(Path(filename).name, default="upload")
    suffixes = VIDEO_SUFFIXES if kind == "video" else SONG_SUFFIXES
    if Path(name).suffix.lower() not in suffixes:
        raise UserError(f"{filename!r} is not a {kind} this app reads (a file ending in "
                        f"{', '.join(sorted(suffixes))})")
    if length <= 0:
        raise UserError(f"{filename!r} is empty")
    if length > MAX_UPLOAD:
        raise UserError(f"{filename!r} is {human_bytes(length)}, over the upload limit of {human_bytes(MAX_UPLOAD)}")
    folder = runs / UPLOADS / secrets.token_hex(6)
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if length > free - DISK_MARGIN:
        shutil.rmtree(folder, ignore_errors=True)
        raise UserError(f"{filename!r} is {human_bytes(length)} and the disk has {human_bytes(free)} free: "
                        f"too big for this machine")
    path = folder / name
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as out:
            left = length
            while left > 0:
                chunk = body.read(min(CHUNK, left))
                if not chunk:
                    raise UserError(f"the upload of {filename!r} stopped before its end")
                out.write(chunk)
                left -= len(chunk)
        if kind == "video":  # said now, not a minute later by the training job it would start
            from ..video import probe  # PyAV and numpy (~0.2 s): not before the page is up

            probe(path)
    except UserError as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise UserError(str(e).replace(str(path), repr(filename))) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


def upload_path(runs: Path, token: str) -> Path:
    """The file of an upload named by the page as 'TOKEN/FILE'."""
    path = inside(runs / UPLOADS, token)
    if not path.is_file() or path.parent.parent != (runs / UPLOADS).resolve():
        raise UserError("that upload is gone; upload the file again")
    return path


def drop_upload(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)


# --- runs and dances -----------------------------------------------------------------------------------
def _json(path: Path) -> dict:
    try:
        data = read_json(path)
    except (UserError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def is_run(folder: Path) -> bool:
    return folder.is_dir() and not folder.name.startswith(".") and (folder / "config.json").is_file()


def list_runs(runs: Path) -> list[dict[str, Any]]:
    """Every run folder under RUNS, newest first."""
    found = [p for p in runs.iterdir() if is_run(p)] if runs.is_dir() else []
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [{"name": p.name, "trained": (p / "seq.safetensors").is_file(),
             "dances": len(dances(p)), "source": source(p)} for p in found]


def source(run: Path) -> str:
    """What a run learnt from, in a few words."""
    data = _json(run / "config.json").get("data", {}).get("source", {})
    if not isinstance(data, dict):
        return ""
    if data.get("kind") == "builtin-dancer":
        return "the built-in dancer"
    inputs = data.get("inputs") or data.get("videos") or []
    names = [Path(str(i.get("path", i)) if isinstance(i, dict) else str(i)).name for i in inputs]
    return ", ".join(names) or str(data.get("kind", ""))


def dances(run: Path) -> list[Path]:
    """The dance folders of a run: the run folder itself (its first dance), then RUN/dances/*, in order."""
    out = [run] if (run / "dance.mp4").is_file() else []
    folder = run / DANCES
    if folder.is_dir():
        out += sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
                      and (p / "dance.mp4").is_file())
    return out


def figures(metrics: dict, sections: tuple[str, ...]) -> dict[str, float]:
    """The key figures of a metrics.json, flattened: {'ae.val_iou': 0.92, …} (numbers only)."""
    out = {}
    for section in sections:
        values = metrics.get(section, {})
        for key in FIGURE_KEYS.get(section, ()):
            value = values.get(key) if isinstance(values, dict) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{section}.{key}"] = value
    return out


def url(runs: Path, path: Path) -> str:
    return "/files/" + path.resolve().relative_to(runs.resolve()).as_posix()


def describe_dance(runs: Path, run: Path, folder: Path, verdict: list[str]) -> dict[str, Any]:
    """One dance of `run` (the run folder itself for its first dance) for the page."""
    metrics = _json(folder / "metrics.json")
    settings = _json(folder / "config.json").get("generate", {})
    files = [folder / n for n in DANCE_FILES if (folder / n).is_file()]
    files += sorted(p for p in folder.glob("dance*") if p.is_file() and p not in files and ".tmp" not in p.name)
    report = folder / "evaluation" / "report.html"
    if report.is_file():
        files.append(report)
    evaluation = _json(folder / "evaluation" / "evaluation.json").get("figures", {})
    return {"id": "" if folder == run else folder.name,
            "title": "first dance" if folder == run else f"dance {folder.name}",
            "video": url(runs, folder / "dance.mp4"),
            "settings": {k: v for k, v in settings.items() if v not in (None, False)} if isinstance(settings, dict) else {},
            "files": [{"name": p.name, "url": url(runs, p), "bytes": p.stat().st_size} for p in files],
            "verdict": verdict,
            "figures": figures(metrics, ("generation",)),
            "evaluation": {k: v for k, v in evaluation.items() if isinstance(v, (int, float))
                           and not isinstance(v, bool)} if isinstance(evaluation, dict) else {}}


def preview(runs: Path, store: Path) -> dict[str, str]:
    """The store's cut preview (ingest: preview.png; the built-in dancer: preview.mp4), as urls."""
    return {kind: url(runs, store / f"preview.{ext}") for kind, ext in (("image", "png"), ("video", "mp4"))
            if (store / f"preview.{ext}").is_file()}


def describe_run(runs: Path, name: str, verdict_of) -> dict[str, Any]:
    """A run for the page: its figures, preview, dances (each with `verdict_of(folder)`) and what it learnt from."""
    run = runs / name
    if not is_run(run) or run.resolve().parent != runs.resolve():
        raise UserError(f"there is no run called {name!r} in {runs}")
    metrics = _json(run / "metrics.json")
    return {"name": name, "trained": (run / "seq.safetensors").is_file(),
            "music": (run / "music.npy").is_file(), "source": source(run),
            "preview": preview(runs, run / "store"),
            "figures": figures(metrics, ("data", "ae", "seq")),
            "timing": metrics.get("timing", {}),
            "dances": [describe_dance(runs, run, d, verdict_of(d)) for d in dances(run)]}


def next_dance(run: Path) -> Path:
    """RUN/dances/NNN: the next free number."""
    taken = [int(p.name) for p in (run / DANCES).glob("[0-9][0-9][0-9]")] if (run / DANCES).is_dir() else []
    return run / DANCES / f"{max(taken, default=0) + 1:03d}"


def job_preview(runs: Path, name: str, pid: int | None) -> dict[str, str]:
    """The cut preview of a run still being made: its store lies in the command's temporary folder
    (`.NAME.<pid>.<random>.tmp`, see files.py) until the run is whole; afterwards in RUN/store."""
    if is_run(runs / name):
        return preview(runs, runs / name / "store")
    for tmp in runs.glob(f".{name}.{pid}.*.tmp") if pid else ():
        found = preview(runs, tmp / "store")
        if found:
            return found
    return {}


def remove_logs(folder: Path, keep: int = 50) -> None:
    """Keep the newest `keep` job logs."""
    logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    for old in logs[:-keep]:
        try:
            os.unlink(old)
        except OSError:
            pass
