"""Composition: the stages on a run folder, and the main job (data -> train -> generate -> evaluate).

Every command of the CLI is one function here or in a stage; this is the only module that imports stages
side by side. The run folder's layout lives in `runfolder.py`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import metrics as M
from .rhythm import bas
from .config import Config
from .errors import UserError
from .evaluate import EvaluateConfig, MakeDance, compare, drawn_real, evaluate, run_facts
from .files import check_not_overlapping, check_writable_dir, new_folder, read_json
from .generate import Dance, GenerateConfig, generate
from .ingest import IngestConfig, ingest
from .limits import MAX_FRAMES, at_most, check_fps, check_frames
from .pose.export import export_dance
from .pretrained import is_pretrained, pretrained_run
from .progress import say
from .render import render_dance
from .runfolder import (CONFIG, METRICS, link_store, optional_store, relative, run_store, store_path, update_config,
                        update_metrics)
from .store import FrameStore
from .synth import SynthConfig, synthesize
from .verdict import verdict

if TYPE_CHECKING:
    from .train import TrainConfig

REAL_SAMPLE = 3000  # frames of real data the data figures are computed on...
REAL_SAMPLE_BYTES = 256 * 2**20  # ...and at most this many bytes of them (3000 frames at 800x480 are 1.15 GB)


@dataclasses.dataclass
class RunConfig(Config):
    """The main job's own settings (the stages keep theirs in their configs)."""
    seconds: float = 240.0       # length of the built-in dancer when no video is given
    fps: float = 12.0            # its frame rate
    width: int | None = None     # the frames' size; None: 200x120 for the built-in dancer, and for videos
    height: int | None = None    # the same turned to the first video's orientation (see ingest)
    seed: int = 0                # the built-in dancer's and the dance's seed
    bpm: float | None = None     # one tempo for the built-in dancer; None: a clip at each of `tempos`
    tempos: tuple[float, ...] = (90.0, 105.0, 120.0, 135.0)  # so the model learns to follow any tempo
    cut: str = "auto"            # how --video is cut into silhouettes
    ingest_fps: float = 12.0     # sampling rate for --video
    frames: int = 720            # frames to generate
    evaluate_frames: int = 1200  # steps of each evaluation dance (0: no evaluation)

    def __post_init__(self):
        if self.seconds <= 0 or self.fps <= 0 or self.frames <= 0 or self.ingest_fps <= 0:
            raise UserError("seconds, fps, frames and ingest fps must be positive")
        check_fps("run: fps", self.fps)
        check_fps("run: ingest fps", self.ingest_fps)
        if (self.width is None) != (self.height is None):
            raise UserError("give both width and height, or neither")
        check_frames("run: the built-in dancer", self.seconds, self.fps, (self.width or 200) * (self.height or 120))
        at_most("run: frames to generate", self.frames, MAX_FRAMES, "frames")
        at_most("run: evaluate frames", self.evaluate_frames, MAX_FRAMES, "frames")
        if self.evaluate_frames < 0:
            raise UserError("evaluate frames cannot be negative")
        if self.evaluate_frames:
            EvaluateConfig(frames=self.evaluate_frames)  # refused now, not after training

    def synth_config(self) -> SynthConfig:
        tempos = () if self.bpm is not None else tuple(self.tempos)
        return SynthConfig(seconds=self.seconds, fps=self.fps, width=self.width or 200, height=self.height or 120,
                           seed=self.seed, bpm=self.bpm, tempos=tempos)

    def ingest_config(self) -> IngestConfig:
        return IngestConfig(fps=self.ingest_fps, width=self.width, height=self.height, cut=self.cut)


# --- figures of the real data ------------------------------------------------------------------------
def real_sample(store: FrameStore) -> np.ndarray:
    """The contiguous stretch of real frames the data figures are computed on."""
    return store.frames(0, min(len(store), REAL_SAMPLE, max(2, REAL_SAMPLE_BYTES // (store.width * store.height))))


def data_figures(store: FrameStore) -> dict[str, float]:
    """Motion and area of the real data (on a contiguous sample, at the data's own rate)."""
    real = real_sample(store)
    return {"frames": len(store), "fps": store.fps, "motion": M.motion(real),
            "area_mean": float(M.areas(real).mean())}


def _sections(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{'ae.val_iou': x} -> {'ae': {'val_iou': x}}"""
    out: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, _, name = key.partition(".")
        out.setdefault(section if name else "train", {})[name or section] = value
    return out


# --- where results go ----------------------------------------------------------------------------------
def _check_output(path: Path, what: str) -> None:
    """An output folder must be a folder (or not exist yet) that we may write into: said before any work."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} exists and is not a folder")
    check_writable_dir(path)


# --- the stages on a run folder -------------------------------------------------------------------------
def train_run(store: str | os.PathLike | None, run_dir: str | os.PathLike, *, cfg: TrainConfig,
              stage: str = "all", resume: bool = False, force: bool = False,
              progress: bool = True) -> dict[str, Any]:
    """Train the models of a run on a store (None: the store the run already learns from); returns the
    flattened training figures."""
    from .train import train   # here: Lightning takes ~5 s to import, and generate and evaluate need none of it

    run_dir = Path(run_dir)
    _check_output(run_dir, "run folder")
    # a run folder may hold its own store (RUN/store), but is never the store nor inside it
    check_not_overlapping(run_dir, [store if store is not None else store_path(run_dir)], flag="--run",
                          may_contain=True)
    opened = FrameStore.open(store) if store is not None else None  # before anything is made
    trained = (run_dir / "ae.safetensors").exists() or (run_dir / "seq.safetensors").exists()
    if trained and not (resume or force or stage == "seq"):
        raise UserError(f"{run_dir} already holds a trained run (use --resume to continue or --force to start over)")
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        opened = link_store(run_dir, store) if opened is not None else run_store(run_dir)
        update_config(run_dir, train=cfg.to_dict(), data={"source": opened.manifest.source, "cut": opened.manifest.cut})
        started = time.perf_counter()
        figures = train(opened, run_dir, cfg, stage=stage, resume=resume, progress=progress)
    except BaseException:
        # a run folder this call made and that holds nothing to resume from is not left behind half-made
        if created and not any((run_dir / "checkpoints").glob("*.ckpt")):
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    update_metrics(run_dir, data=data_figures(opened),
                   timing={f"train_{stage}": round(time.perf_counter() - started, 2)}, **_sections(figures))
    return figures


def generate_run(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, *,
                 cfg: GenerateConfig) -> dict[str, Path]:
    """Generate a dance from a trained run, render it (with its music) into `out` (default: the run folder)
    and record the generation figures and settings beside it: a dance made elsewhere leaves the run as it was."""
    run_dir = Path(run_dir)
    if out is None and is_pretrained(run_dir):
        raise UserError("the pretrained model ships inside the package: give an output folder for its dance")
    out = Path(out) if out else run_dir
    if not (run_dir / "seq.safetensors").exists():
        raise UserError(f"{run_dir} has no trained sequence model; run 'deepdance train' first")
    _check_output(out, "output folder")
    started = time.perf_counter()
    dance = generate(run_dir, cfg)
    gen_seconds = time.perf_counter() - started
    for note in dance.notes:
        print(f"deepdance: note: {note}", file=sys.stderr)
    store = optional_store(run_dir)
    # a run without music still plays its data's music under the dance
    audio = dance.audio or (store.audio_path if store is not None else None)
    started = time.perf_counter()
    outputs = render_dance(dance.frames, out, fps=dance.fps, audio=audio)
    if dance.joints is not None:   # a dance of poses: dance.bvh, dance_keypoints.npz, dance_skeleton.mp4
        outputs.update(export_dance(out, dance.joints, dance.fps, source=dance.source, frames=dance.frames))
    render_seconds = time.perf_counter() - started
    if store is not None:
        real = real_sample(store)
        drawn = drawn_real(run_dir, store, look=cfg.look, frames=len(real)) if dance.joints is not None else None
        figures = M.generation_report(dance.frames, real, drawn=drawn)
    else:
        figures = {"frames": len(dance.frames)}
    said = verdict(figures, M.bar_checks(figures, M.GENERATION_BARS), run_facts(run_dir), what="the new dance",
                   unchecked="" if store is not None else "the run keeps no frames of the dancer to compare it with")
    figures["fps"] = dance.fps
    figures["verdict"] = said.to_dict()
    # the run folder is built under a temporary name and moved: name the music relative to the output
    figures["music"] = relative(audio, out) if audio else None
    if dance.beats is not None and len(dance.beats):
        figures["bas"] = bas(dance.frames, dance.fps, dance.beats)
    update_metrics(out, generation=figures,
                   timing={"generate": round(gen_seconds, 2), "render": round(render_seconds, 2)})
    update_config(out, generate=cfg.to_dict())
    return outputs


def dance_maker(run_dir: str | os.PathLike) -> MakeDance:
    """`make_dance(settings) -> Dance` for `evaluate`: a dance of the run with these generation settings."""
    run_dir = Path(run_dir)

    def make_dance(settings: dict[str, Any]) -> Dance:
        return generate(run_dir, GenerateConfig.from_dict(settings, where=f"{run_dir / 'config.json'} (generate)"))

    return make_dance


def evaluate_run(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, *, cfg: EvaluateConfig,
                 name: str | os.PathLike | None = None) -> dict[str, Any]:
    """`evaluate` a run on dances it generates with its own settings (see `evaluate.evaluate`)."""
    _check_output(Path(out) if out else Path(run_dir) / "evaluation", "output folder")
    return evaluate(run_dir, out, cfg=cfg, make_dance=dance_maker(run_dir), name=name)


def compare_runs(run_a: str | os.PathLike, run_b: str | os.PathLike, out: str | os.PathLike, *,
                 cfg: EvaluateConfig) -> dict[str, Any]:
    """`evaluate.compare` two runs on dances each generates with its own settings."""
    _check_output(Path(out), "output folder")
    return compare(run_a, run_b, out, cfg=cfg, make_dances=(dance_maker(run_a), dance_maker(run_b)))


def verdict_lines(folder: str | os.PathLike) -> list[str]:
    """The verdict in words of what a folder holds: its evaluation when there is one, else its new dance."""
    folder = Path(folder)
    for path, keys in ((folder / "evaluation" / "evaluation.json", ("verdict",)),
                       (folder / "evaluation.json", ("verdict",)),
                       (folder / METRICS, ("generation", "verdict"))):
        if path.is_file():
            found = read_json(path)
            for key in keys:
                found = found.get(key, {}) if isinstance(found, dict) else {}
            if isinstance(found, dict) and found.get("text"):
                return [str(line) for line in found["text"]]
    return []


def copy_pretrained(run_dir: Path) -> None:
    """The shipped pretrained run's files into a new run folder, which then generates like any trained run."""
    source = pretrained_run()
    for f in source.iterdir():
        if f.is_file():
            shutil.copyfile(f, run_dir / f.name)


# --- the main job ------------------------------------------------------------------------------
def run(video: list[Path] | None = None, out: Path | None = None, *, cfg: RunConfig, train_cfg: TrainConfig,
        generate_cfg: GenerateConfig | None = None, store: Path | None = None, force: bool = False,
        progress: bool = True, pretrained: bool = False) -> Path:
    """Everything in one run folder. Without a video or store, the built-in dancer is the data; with
    `pretrained`, the shipped model of the built-in dancer is copied in instead of trained (seconds).
    One line per stage on stderr; `progress`: progress bars too, else one line per epoch instead."""
    if pretrained and (video or store):
        raise UserError("the pretrained model is of the built-in dancer: give no --video or --store with it")
    name = (video[0].stem if video else store.name if store else "pretrained" if pretrained else "demo")
    out = Path(out) if out else Path("runs") / name
    check_not_overlapping(out, [store, *(video or [])])
    if store is not None:
        FrameStore.open(store)  # fail before any work
    gen = generate_cfg or GenerateConfig(frames=cfg.frames, seed=cfg.seed)
    timing: dict[str, float] = {}
    with new_folder(out, force=force, marker=CONFIG) as tmp:
        if pretrained:
            say("data: the pretrained model of the built-in dancer (no training)")
            copy_pretrained(tmp)
            say("generate: a new dance, and its video")
            generate_run(tmp, cfg=gen)
            return out
        update_config(tmp, run=cfg.to_dict())
        started = time.perf_counter()
        if store is not None:
            data = Path(store)
        elif video:
            ingest_cfg = cfg.ingest_config()
            update_config(tmp, ingest=ingest_cfg.to_dict())
            say(f"data: cutting the dancer out of {', '.join(v.name for v in video)} at {ingest_cfg.fps:g} fps")
            data = ingest(video, tmp / "store", cfg=ingest_cfg, progress=progress).path
        else:
            synth_cfg = cfg.synth_config()
            update_config(tmp, synth=synth_cfg.to_dict())
            say(f"data: the built-in dancer, {synth_cfg.frames} frames at {synth_cfg.fps:g} fps")
            data = synthesize(tmp / "store", cfg=synth_cfg, progress=progress).path
        timing["data"] = round(time.perf_counter() - started, 2)
        train_run(data, tmp, cfg=train_cfg, progress=progress)
        say("generate: a new dance, and its video")
        generate_run(tmp, cfg=gen)
        if cfg.evaluate_frames:
            say(f"evaluate: dances of {cfg.evaluate_frames} steps against the real data")
            started = time.perf_counter()
            evaluate_run(tmp, tmp / "evaluation", cfg=EvaluateConfig(frames=cfg.evaluate_frames, seed=cfg.seed),
                         name=out)
            timing["evaluate"] = round(time.perf_counter() - started, 2)
        update_metrics(tmp, timing=timing)
    return out

