"""`deepdance evaluate`: generate long dances from a run and measure them against the run's real frames.

Writes into the output folder (default RUN/evaluation):
    evaluation.json   the figures beside their real-data yardsticks, and which bars they meet
    report.html       one self-contained page: table, video, GIF, plots
    dance.mp4, dance.gif, contact_sheet.png   the main generated dance
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .config import Config
from .errors import UserError
from .files import read_json, write_json
from .pipeline import run_store
from .report import Column, frame_strip, latent_plot, motion_plot, write_report
from .store import FrameStore

CONTROL_RATIO = 1.3          # the control song's tempo: 1.3 times the dance's (or 1/1.3 where that is > 160)
TEMPO_CHECK_SECONDS = 60.0
TEMPO_TOLERANCE = 0.05       # the dominant motion period within 5% of the beat (or of a multiple of it)


@dataclasses.dataclass
class EvaluateConfig(Config):
    frames: int = 3000                 # steps generated per dance (at the data's rate, before interpolation)
    seeds: int = 3                     # dances from different seeds (diversity); the first is the main one
    seed: int = 0                      # seed of the first dance; the others use seed+1, seed+2, ...
    temperature: float | None = None   # None: the run's own generation setting

    def __post_init__(self):
        if self.frames < 2 or self.seeds < 1:
            raise UserError("evaluate needs at least 2 frames and 1 seed")


def real_split(run_dir: str | os.PathLike, store: FrameStore) -> tuple[np.ndarray, np.ndarray]:
    """(training frames, held-out frames) exactly as training split them: the end of every clip is held out
    (`val_fraction` from the run's config.json, else the training default)."""
    from .train import TrainConfig, split_clips

    config = Path(run_dir) / "config.json"
    train_cfg = read_json(config).get("train", {}) if config.is_file() else {}
    parts = split_clips(store.clips, float(train_cfg.get("val_fraction", TrainConfig.val_fraction)))
    return (np.concatenate([store.frames(a, c) for a, c, _ in parts]),
            np.concatenate([store.frames(c, b) for _, c, b in parts]))


def _check_trained(run_dir: Path) -> None:
    run_store(run_dir)
    if not (run_dir / "seq.safetensors").exists():
        raise UserError(f"{run_dir} has no trained sequence model; run 'deepdance train' first")


def _generate(run_dir: Path, cfg: EvaluateConfig, store: FrameStore) -> list:
    """`cfg.seeds` dances from the run with its saved generation settings, to its own music if it has any."""
    _check_trained(run_dir)
    from .generate import GenerateConfig, generate

    config = run_dir / "config.json"
    saved = read_json(config).get("generate") if config.is_file() else None
    base = GenerateConfig.from_dict(saved, where=str(config)) if saved else GenerateConfig()
    base = base.replace(frames=cfg.frames, seconds=None, music=None, bpm=None)
    if cfg.temperature is not None:
        base = base.replace(temperature=cfg.temperature)
    return [generate(run_dir, base.replace(seed=cfg.seed + i)) for i in range(cfg.seeds)]


def music_figures(run_dir: Path, cfg: EvaluateConfig, store: FrameStore, dance) -> dict[str, Any]:
    """Beat alignment of a music run: `bas` of its dance to its own music, `bas_real` of the real frames to
    theirs (the yardstick), `bas_control` of the same dance scored against beats at another tempo, and the
    dominant period of the motion of dances made to drum beats at each of TEMPO_CHECKS BPM."""
    from . import audio as A
    from . import rhythm as R
    from .generate import GenerateConfig, generate

    own = A.features_for_store(store)
    real = store.frames(0, len(store))
    seconds = (len(dance.frames) - 1) / dance.fps
    tempo = 60.0 / float(np.median(np.diff(dance.beats))) if len(dance.beats) > 1 else A.FALLBACK_BPM
    other = tempo * CONTROL_RATIO if tempo * CONTROL_RATIO <= 160 else tempo / CONTROL_RATIO
    out: dict[str, Any] = {
        "bas": R.bas(dance.frames, dance.fps, dance.beats),
        "bas_real": R.bas(real, store.fps, own.beats.times),
        "bas_control": R.bas(dance.frames, dance.fps, A.steady_beats(other, seconds).times),
        "bas_control_bpm": round(other, 2),
    }
    for bpm in M.TEMPO_CHECKS:
        d = generate(run_dir, GenerateConfig(seconds=TEMPO_CHECK_SECONDS, bpm=bpm, seed=cfg.seed,
                                             temperature=cfg.temperature))
        period = R.dominant_period(d.frames, d.fps)
        out[f"period_{bpm}bpm"] = period if np.isfinite(period) else None
        out[f"period_{bpm}bpm_follows_beat"] = R.matches_beat(period, bpm, tolerance=TEMPO_TOLERANCE)
        out[f"bas_{bpm}bpm"] = R.bas(d.frames, d.fps, d.beats)
    return out


def _evaluate(run_dir: Path, cfg: EvaluateConfig, out: Path, dances: list[np.ndarray] | None,
              dance_fps: float | None, name: str) -> tuple[dict[str, Any], Column]:
    from .render import render_dance

    store = run_store(run_dir)
    latents, made, audio = None, None, store.audio_path
    if dances is None:
        made = _generate(run_dir, cfg, store)
        dances, gen_fps = [d.frames for d in made], made[0].fps
        latents, audio = made[0].latents, made[0].audio or store.audio_path
    else:
        dances, gen_fps = [np.asarray(d) for d in dances], dance_fps or store.fps
    if not dances or min(len(d) for d in dances) < 2:
        raise UserError("evaluate needs at least one dance of 2 frames or more")
    fps = store.fps
    train, heldout = real_split(run_dir, store)
    figures = M.quality_report(dances, train, heldout, fps, gen_fps=gen_fps)
    if made is not None and made[0].beats is not None and len(made[0].beats) > 1:
        figures.update(music_figures(run_dir, cfg, store, made[0]))
    files = render_dance(dances[0], out, fps=gen_fps, audio=audio)

    main = M.resample(dances[0], gen_fps, fps)
    real = np.concatenate([train, heldout])
    real_energy = M.motion_energy(real, fps)
    images = {
        "Motion energy over time": motion_plot(M.motion_energy(main, fps), real_energy[: len(main)], fps,
                                               freeze_level=M.FREEZE_FRACTION * float(np.median(real_energy))),
        "Frames": frame_strip({"generated": main, "real (held out)": heldout if len(heldout) else real}, fps),
        "Preview (GIF)": files["gif"].read_bytes(),
    }
    real_latents = run_dir / "latents.npy"
    if latents is not None and real_latents.is_file():
        images["Latent trajectories (PCA of the real latents)"] = latent_plot(np.load(real_latents), latents)

    result = {"run": name, "evaluate": cfg.to_dict(), "figures": figures, "bars": M.bar_checks(figures),
              "files": {k: v.name for k, v in files.items()}}
    write_json(out / "evaluation.json", result)
    return result, Column(Path(name).name, figures, images, files["video"])


def evaluate(run_dir: str | os.PathLike, cfg: EvaluateConfig, *, out: str | os.PathLike | None = None,
             dances: list[np.ndarray] | None = None, dance_fps: float | None = None,
             name: str | os.PathLike | None = None) -> dict[str, Any]:
    """Evaluate a run: its own dances (generated here), or `dances` given at `dance_fps` (default: the data's).

    Writes evaluation.json and report.html into `out` (default RUN/evaluation) and returns what
    evaluation.json holds: run, evaluate config, figures, bars. `name`: the run as they call it (default
    `run_dir`; a run being built in a temporary folder passes the folder it will become).
    """
    run_dir = Path(run_dir)
    out = Path(out) if out else run_dir / "evaluation"
    name = str(name or run_dir)
    result, column = _evaluate(run_dir, cfg, out, dances, dance_fps, name)
    write_report(out / "report.html", [column], title=f"deepdance evaluation: {Path(name).name}")
    return result


def compare(run_a: str | os.PathLike, run_b: str | os.PathLike, cfg: EvaluateConfig, *,
            out: str | os.PathLike) -> dict[str, Any]:
    """Evaluate two runs with the same settings into OUT/a and OUT/b, and put them side by side in
    OUT/report.html and OUT/comparison.json ({"a": ..., "b": ..., "better": figure -> "a", "b" or "tie"}).
    The better figure of each pair is shown in bold."""
    out = Path(out)
    for run in (run_a, run_b):  # both checked before the long work on either
        _check_trained(Path(run))
    results, columns = {}, []
    for key, run in (("a", Path(run_a)), ("b", Path(run_b))):
        result, column = _evaluate(run, cfg, out / key, None, None, str(run))
        column.name = f"{key.upper()}: {run.name}"
        write_report(out / key / "report.html", [column], title=f"deepdance evaluation: {run.name}")
        results[key] = result
        columns.append(column)
    results["better"] = M.better(results["a"]["figures"], results["b"]["figures"])
    write_json(out / "comparison.json", results)
    write_report(out / "report.html", columns, title=f"deepdance comparison: {Path(run_a).name} vs {Path(run_b).name}",
                 better=results["better"])
    return results
