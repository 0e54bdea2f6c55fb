"""The run folder and the main job: data -> autoencoder -> latents -> sequence model -> dance -> metrics.

    runs/NAME/
        config.json              every stage's config
        store/ or store.json     the frame store, or a reference to one outside the run
        ae.safetensors, ae.json  autoencoder weights + config;  latents.npy
        seq.safetensors, seq.json
        plots/                   loss curves, reconstructions
        dance.mp4, dance.gif, contact_sheet.png
        metrics.json
        evaluation/              evaluation.json, report.html (deepdance run evaluates what it made)
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .config import Config
from .errors import UserError
from .files import new_folder, read_json, write_json
from .store import FrameStore

STORE_REF = "store.json"
REAL_SAMPLE = 3000  # frames of real data the data figures are computed on...
REAL_SAMPLE_BYTES = 256 * 2**20  # ...and at most this many bytes of them (3000 frames at 800x480 are 1.15 GB)


@dataclasses.dataclass
class RunConfig(Config):
    """The main job's own settings (the stages keep theirs in their configs)."""
    seconds: float = 240.0       # length of the built-in dancer when no video is given
    fps: float = 12.0            # its frame rate
    width: int = 200
    height: int = 120
    seed: int = 0
    bpm: float | None = None     # one tempo for the built-in dancer; None: a clip at each of `tempos`
    tempos: tuple[float, ...] = (90.0, 105.0, 120.0, 135.0)  # so the model learns to follow any tempo
    cut: str = "auto"            # how --video is cut into silhouettes
    ingest_fps: float = 12.0     # sampling rate for --video
    frames: int = 720            # frames to generate
    evaluate_frames: int = 1200  # steps of each evaluation dance (0: no evaluation)

    def __post_init__(self):
        if self.seconds <= 0 or self.fps <= 0 or self.frames <= 0 or self.ingest_fps <= 0:
            raise UserError("seconds, fps, frames and ingest fps must be positive")
        if self.evaluate_frames < 0:
            raise UserError("evaluate frames cannot be negative")


# --- the run folder ------------------------------------------------------------------------------
def _relative(path: Path, run_dir: Path) -> str:
    """A path inside the run folder relative to it (the folder may be moved), any other absolute."""
    try:
        return str(Path(path).resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return str(Path(path).resolve())


def link_store(run_dir: Path, store: str | os.PathLike) -> FrameStore:
    """Record which store a run learns from; a store inside the run folder is referenced relatively."""
    store = Path(store)
    opened = FrameStore.open(store)
    write_json(run_dir / STORE_REF, {"path": _relative(store, run_dir)})
    return opened


def run_store(run_dir: str | os.PathLike) -> FrameStore:
    run_dir = Path(run_dir)
    ref = run_dir / STORE_REF
    if not ref.is_file():
        raise UserError(f"{run_dir} is not a run folder (no {STORE_REF}); train one with 'deepdance train'")
    path = Path(read_json(ref)["path"])
    return FrameStore.open(path if path.is_absolute() else run_dir / path)


def update_json(path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """Merge sections into a JSON file of the run (metrics.json, config.json), atomically."""
    data = read_json(path) if path.exists() else {}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    write_json(path, data)
    return data


def update_metrics(run_dir: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    return update_json(run_dir / "metrics.json", **sections)


def real_sample(store: FrameStore) -> np.ndarray:
    """The contiguous stretch of real frames the data figures are computed on."""
    return store.frames(0, min(len(store), REAL_SAMPLE, max(2, REAL_SAMPLE_BYTES // (store.width * store.height))))


def data_figures(store: FrameStore) -> dict[str, float]:
    """Motion and area of the real data (on a contiguous sample, at the data's own rate)."""
    real = real_sample(store)
    return {"frames": len(store), "fps": store.fps, "motion": M.motion(real),
            "area_mean": float(M.areas(real).mean())}


# --- stages on a run folder ----------------------------------------------------------------------
def train_run(store: str | os.PathLike, run_dir: str | os.PathLike, cfg, *, stage: str = "all",
              resume: bool = False, force: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train the models of a run on a store; returns the flattened training figures."""
    from .train import train

    run_dir = Path(run_dir)
    trained = (run_dir / "ae.safetensors").exists() or (run_dir / "seq.safetensors").exists()
    if trained and not (resume or force or stage == "seq"):
        raise UserError(f"{run_dir} already holds a trained run (use --resume to continue or --force to start over)")
    run_dir.mkdir(parents=True, exist_ok=True)
    opened = link_store(run_dir, store) if store is not None else run_store(run_dir)
    update_json(run_dir / "config.json", train=cfg.to_dict())
    started = time.perf_counter()
    figures = train(opened, run_dir, cfg, stage=stage, resume=resume, progress=progress)
    update_metrics(run_dir, data=data_figures(opened),
                   timing={f"train_{stage}": round(time.perf_counter() - started, 2)},
                   **{k: v for k, v in _sections(figures).items()})
    return figures


def _sections(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{'ae.val_iou': x} -> {'ae': {'val_iou': x}}"""
    out: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, _, name = key.partition(".")
        out.setdefault(section if name else "train", {})[name or section] = value
    return out


def generate_run(run_dir: str | os.PathLike, cfg, *, out: str | os.PathLike | None = None) -> dict[str, Path]:
    """Generate a dance from a trained run, render it (with its music) and record the generation figures."""
    from .generate import generate
    from .render import render_dance
    from .rhythm import bas

    run_dir = Path(run_dir)
    if not (run_dir / "seq.safetensors").exists():
        raise UserError(f"{run_dir} has no trained sequence model; run 'deepdance train' first")
    store = run_store(run_dir)
    started = time.perf_counter()
    dance = generate(run_dir, cfg)
    gen_seconds = time.perf_counter() - started
    for note in dance.notes:
        print(f"deepdance: note: {note}", file=sys.stderr)
    started = time.perf_counter()
    # a run without music still plays its data's music under the dance
    audio = dance.audio or store.audio_path
    outputs = render_dance(dance.frames, Path(out) if out else run_dir, fps=dance.fps, audio=audio)
    render_seconds = time.perf_counter() - started
    figures = M.generation_report(dance.frames, real_sample(store))
    figures["fps"] = dance.fps
    # the run folder is built under a temporary name and moved: name the music relative to the run
    figures["music"] = _relative(audio, run_dir) if audio else None
    if dance.beats is not None and len(dance.beats):
        figures["bas"] = bas(dance.frames, dance.fps, dance.beats)
    update_metrics(run_dir, generation=figures,
                   timing={"generate": round(gen_seconds, 2), "render": round(render_seconds, 2)})
    update_json(run_dir / "config.json", generate=cfg.to_dict())
    return outputs


# --- the main job ------------------------------------------------------------------------------
def run(cfg: RunConfig, *, train, video: list[Path] | None = None, store: Path | None = None,
        out: Path | None = None, force: bool = False, generate_cfg=None) -> Path:
    """Everything in one run folder. Without a video or store, the built-in dancer is the data."""
    from .generate import GenerateConfig

    name = (video[0].stem if video else store.name if store else "demo")
    out = Path(out) if out else Path("runs") / name
    if store is not None:
        FrameStore.open(store)  # fail before any work
    timing: dict[str, float] = {}
    with new_folder(out, force=force) as tmp:
        update_json(tmp / "config.json", run=cfg.to_dict())
        started = time.perf_counter()
        if store is not None:
            data = Path(store)
        elif video:
            from .ingest import IngestConfig, ingest

            data = ingest(video, tmp / "store", cfg=IngestConfig(fps=cfg.ingest_fps, width=cfg.width,
                                                                 height=cfg.height, cut=cfg.cut)).path
        else:
            from .synth import SynthConfig, synthesize

            tempos = () if cfg.bpm is not None else tuple(cfg.tempos)
            data = synthesize(SynthConfig(seconds=cfg.seconds, fps=cfg.fps, width=cfg.width, height=cfg.height,
                                          seed=cfg.seed, bpm=cfg.bpm, tempos=tempos), tmp / "store").path
        timing["data"] = round(time.perf_counter() - started, 2)
        train_run(data, tmp, train)
        gen = generate_cfg or GenerateConfig(frames=cfg.frames, seed=cfg.seed)
        generate_run(tmp, gen)
        if cfg.evaluate_frames:
            from .evaluate import EvaluateConfig, evaluate

            started = time.perf_counter()
            evaluate(tmp, EvaluateConfig(frames=cfg.evaluate_frames, seed=cfg.seed), out=tmp / "evaluation",
                     name=out)
            timing["evaluate"] = round(time.perf_counter() - started, 2)
        update_metrics(tmp, timing=timing)
    return out
