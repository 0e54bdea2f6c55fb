"""Stage: measure a run's long dances against the run's real frames.

The dances come from `make_dance(settings) -> Dance`, given by the caller (`pipeline` generates them
with the run's own generation settings, changed by `settings`), so this stage imports no other stage.

Writes into the output folder (default RUN/evaluation):
    evaluation.json   the figures beside their real-data yardsticks, and which bars they meet
    report.html       one self-contained page: table, video, GIF, plots
    dance.mp4, dance.gif, contact_sheet.png   the main generated dance
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from . import audio as A
from . import limits
from . import metrics as M
from . import pose_metrics as P
from . import rhythm as R
from .conditioning import her_music
from .config import Config
from .datasets import VAL_FRACTION, split_clips
from .errors import UserError
from .files import read_json, write_json
from .pose.space import POSE_FILE
from .render import render_dance
from .representation import load_representation
from .pose.look import LOOK_SHEET
from .runfolder import CONFIG, LATENTS, METRICS, run_store, saved_config
from .report import Column, frame_strip, latent_plot, motion_plot, write_report
from .store import FrameStore
from .verdict import Facts, verdict

CONTROL_RATIO = 1.3          # the control song's tempo: 1.3 times the dance's (or 1/1.3 where that is > 160)
TEMPO_CHECK_SECONDS = 60.0
TEMPO_TOLERANCE = 0.05       # the dominant motion period within 5% of the beat (or of a multiple of it)


@dataclasses.dataclass
class EvaluateConfig(Config):
    frames: int = 3000                 # steps generated per dance (at the data's rate, before interpolation)
    seeds: int = 3                     # dances from different seeds (diversity); the first is the main one
    seed: int = 0                      # seed of the first dance; the others use seed+1, seed+2, ...
    temperature: float | None = None   # None: the run's own generation setting
    human_sample: int = P.HUMAN_SAMPLE # frames a side the pose estimator judges for `human_found` (~30 ms each)

    def __post_init__(self):
        if self.frames < 2 or self.seeds < 1 or self.human_sample < 1:
            raise UserError("evaluate needs at least 2 frames, 1 seed and 1 frame for the pose estimator to judge")
        limits.at_most("human sample", self.human_sample, limits.MAX_FRAMES, "frames")
        limits.at_most("evaluate frames", self.frames, limits.MAX_FRAMES)
        limits.at_most("seeds", self.seeds, 1000, "dances")
        if self.temperature is not None and not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise UserError(f"temperature must be a finite number, 0 or more; got {self.temperature}")


MakeDance = Callable[[dict[str, Any]], Any]  # generation settings -> a Dance (frames, latents, fps, audio, beats)


def real_split(run_dir: str | os.PathLike, store: FrameStore) -> tuple[np.ndarray, np.ndarray]:
    """(training frames, held-out frames) exactly as training split them: the end of every clip is held out
    (`val_fraction` from the run's config.json, else the training default)."""
    train_cfg = saved_config(Path(run_dir), "train") or {}
    parts = split_clips(store.clips, float(train_cfg.get("val_fraction", VAL_FRACTION)))
    return (np.concatenate([store.frames(a, c) for a, c, _ in parts]),
            np.concatenate([store.frames(c, b) for _, c, b in parts]))


def check_trained(run_dir: Path) -> FrameStore:
    """The run's store, once the run is known to hold a trained sequence model."""
    store = run_store(run_dir)
    if not (run_dir / "seq.safetensors").exists():
        raise UserError(f"{run_dir} has no trained sequence model; run 'deepdance train' first")
    return store


def _dances(run_dir: Path, cfg: EvaluateConfig, make_dance: MakeDance, store: FrameStore) -> list:
    """`cfg.seeds` dances from the run with its saved generation settings, to its own music if it has any,
    drawn at the data's size and frame rate (the figures compare them with the real frames)."""
    base = {**(saved_config(run_dir, "generate") or {}), "frames": cfg.frames, "seconds": None, "song": None,
            "bpm": None, "size": f"{store.width}x{store.height}", "fps": store.fps}
    if cfg.temperature is not None:
        base["temperature"] = cfg.temperature
    return [make_dance({**base, "seed": cfg.seed + i}) for i in range(cfg.seeds)]


def music_figures(cfg: EvaluateConfig, store: FrameStore, made: list, make_dance: MakeDance,
                  own: A.MusicFeatures) -> dict[str, Any]:
    """Beat alignment of a music run: `bas` of its dances (`made`, the mean) to their own music, `bas_real` of
    the real frames to theirs (`own`: her music on the beat she dances to, `conditioning.her_music`; the
    yardstick), `bas_control` of the same dances scored against beats at another tempo (and `bas_control_real`
    of the real frames: a dancer who is no closer to her own beat than to another tempo gives little beat to
    learn), and the dominant period of the motion of dances made to drum beats at each of TEMPO_CHECKS BPM.
    The mean, not the first dance: a 12-s clip has some 20 beats, and one 60-s dance's score swung by 0.05
    from seed to seed."""
    real = store.frames(0, len(store))

    def tempo(beats) -> float:
        return 60.0 / float(np.median(np.diff(beats))) if len(beats) > 1 else A.FALLBACK_BPM

    def control(frames, fps, beats):
        """The score against steady beats at another tempo than `beats`, and that tempo."""
        bpm = tempo(beats)
        other = bpm * CONTROL_RATIO if bpm * CONTROL_RATIO <= 160 else bpm / CONTROL_RATIO
        return R.bas(frames, fps, A.steady_beats(other, (len(frames) - 1) / fps).times), other

    def period(frames, fps) -> float | None:
        p = R.dominant_period(frames, fps)
        return p if np.isfinite(p) else None

    controls = [control(d.frames, d.fps, d.beats) for d in made]
    beats = own.beats.times
    own_period = period(real, store.fps)
    out: dict[str, Any] = {
        "bas": float(np.mean([R.bas(d.frames, d.fps, d.beats) for d in made])),
        "bas_real": R.bas(real, store.fps, beats),
        "bas_control": float(np.mean([score for score, _ in controls])), "bas_control_bpm": round(controls[0][1], 2),
        "bas_control_real": control(real, store.fps, beats)[0],
        # the dominant period of the first dance's motion and of hers: one who does not move with her own
        # song's beat (or a multiple of it) gives the drum-tempo checks no beat to learn
        "period": period(made[0].frames, made[0].fps), "period_real": own_period,
        "period_real_follows_beat": own_period is not None and len(beats) > 1
        and R.matches_beat(own_period, tempo(beats), tolerance=TEMPO_TOLERANCE),
    }
    for bpm in M.TEMPO_CHECKS:
        d = make_dance({"seconds": TEMPO_CHECK_SECONDS, "bpm": bpm, "seed": cfg.seed,
                        "temperature": cfg.temperature, "size": f"{store.width}x{store.height}", "fps": store.fps})
        made_period = out[f"period_{bpm}bpm"] = period(d.frames, d.fps)
        out[f"period_{bpm}bpm_follows_beat"] = made_period is not None and R.matches_beat(
            made_period, bpm, tolerance=TEMPO_TOLERANCE)
        out[f"bas_{bpm}bpm"] = R.bas(d.frames, d.fps, d.beats)
    return out


def _evaluate(run_dir: Path, out: Path, cfg: EvaluateConfig, make_dance: MakeDance | None,
              dances: list[np.ndarray] | None, dance_fps: float | None, name: str) -> tuple[dict[str, Any], Column]:
    store = check_trained(run_dir) if dances is None else run_store(run_dir)
    latents, made, audio = None, None, store.audio_path
    if dances is None:
        if make_dance is None:
            raise ValueError("evaluate needs either dances or make_dance")
        made = _dances(run_dir, cfg, make_dance, store)
        dances, gen_fps = [d.frames for d in made], made[0].fps
        latents, audio = made[0].latents, made[0].audio or store.audio_path
    else:
        dances, gen_fps = [np.asarray(d) for d in dances], dance_fps or store.fps
    if not dances or min(len(d) for d in dances) < 2:
        raise UserError("evaluate needs at least one dance of 2 frames or more")
    fps = store.fps
    train, heldout = real_split(run_dir, store)
    look = (saved_config(run_dir, "generate") or {}).get("look")   # the look its dances were drawn by
    figures = M.quality_report(dances, train, heldout, fps, gen_fps=gen_fps,
                               drawn_real=drawn_real(run_dir, store, look=look) if made is not None else None)
    own = her_music(store)[0] if store.audio_path is not None else None
    if made is not None and made[0].beats is not None and len(made[0].beats) > 1:
        figures.update(music_figures(cfg, store, made, make_dance, own))
    figures.update(pose_report(store, M.resample(dances[0], gen_fps, fps), made[0] if made else None,
                               sample=cfg.human_sample, real_beats=None if own is None else own.beats.times))
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
    if (run_dir / LOOK_SHEET).is_file():
        images["The look on the clip's own held-out poses: real, the fitted body, the learned look"] = \
            (run_dir / LOOK_SHEET).read_bytes()
    real_latents = run_dir / LATENTS
    if latents is not None and real_latents.is_file():
        images["Latent trajectories (PCA of the real latents)"] = latent_plot(np.load(real_latents), latents)

    bars = M.bar_checks(figures)
    said = verdict(figures, bars, run_facts(run_dir))
    result = {"run": name, "evaluate": cfg.to_dict(), "figures": figures, "bars": bars, "verdict": said.to_dict(),
              "files": {k: v.name for k, v in files.items()}}
    write_json(out / "evaluation.json", result)
    return result, Column(Path(name).name, figures, images, files["video"], said.lines)


def drawn_real(run_dir: Path, store: FrameStore, *, look: str | None, frames: int | None = None) -> np.ndarray | None:
    """The real poses of a run of poses (all, or the first `frames`) drawn as its dances are (with `look`, None:
    the run's default, at the store's size), in the store's order; None for a run of pixels."""
    poses = store.poses()
    if not (run_dir / POSE_FILE).is_file() or poses is None:
        return None
    rep = load_representation(run_dir)
    if look is not None:
        rep.use_look(look)
    rep.size = (store.width, store.height)
    return np.concatenate(list(rep.decode(torch.from_numpy(rep.latents(np.asarray(poses[:frames]))))))


POSE_ESTIMATE_FRAMES = 720   # frames of a dance without joints (pixels) the estimator finds joints in


def pose_report(store: FrameStore, main: np.ndarray, dance, *, sample: int = P.HUMAN_SAMPLE,
                real_beats: np.ndarray | None = None) -> dict[str, Any]:
    """The pose figures of the main dance (frames at the data's rate): a person found in `sample` of its
    frames beside as many real frames; with the data's poses, the kinetic, foot and beat figures on joints (the dance's own
    joints, or for a dance without any those the estimator finds in its frames, `pose_joints` says which; her
    pauses scored against `real_beats`)."""
    real_frames = store.frames(0, len(store))
    found, found_real = P.humans_found([main, real_frames], sample=sample)
    out: dict[str, Any] = {"human_found": found, "human_found_real": found_real}
    real = store.poses()
    if real is None:
        return out
    if dance is not None and dance.joints is not None:
        joints, out["pose_joints"] = M.resample(dance.joints, dance.fps, store.fps), "generated"
    else:
        joints, out["pose_joints"] = P.estimate_joints(main[:POSE_ESTIMATE_FRAMES]), "estimated (BlazePose)"
    beats = dance.beats if dance is not None else None
    out.update(P.pose_figures(joints, np.asarray(real), store.fps, beats=beats, real_beats=real_beats))
    return out


def run_facts(run_dir: Path) -> Facts:
    """What the verdict's advice depends on, from the run's metrics.json and config.json."""
    metrics, config = (read_json(run_dir / f) if (run_dir / f).is_file() else {} for f in (METRICS, CONFIG))
    return Facts.of_run(metrics if isinstance(metrics, dict) else {}, config if isinstance(config, dict) else {})


def evaluate(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, *, cfg: EvaluateConfig,
             make_dance: MakeDance | None = None, dances: list[np.ndarray] | None = None,
             dance_fps: float | None = None, name: str | os.PathLike | None = None) -> dict[str, Any]:
    """Evaluate a run: dances made by `make_dance`, or `dances` given at `dance_fps` (default: the data's).

    Writes evaluation.json and report.html into `out` (default RUN/evaluation) and returns what
    evaluation.json holds: run, evaluate config, figures, bars. `name`: the run as they call it (default
    `run_dir`; a run being built in a temporary folder passes the folder it will become).
    """
    run_dir = Path(run_dir)
    out = Path(out) if out else run_dir / "evaluation"
    name = str(name or run_dir)
    result, column = _evaluate(run_dir, out, cfg, make_dance, dances, dance_fps, name)
    write_report(out / "report.html", [column], title=f"deepdance evaluation: {Path(name).name}")
    return result


def compare(run_a: str | os.PathLike, run_b: str | os.PathLike, out: str | os.PathLike, *, cfg: EvaluateConfig,
            make_dances: tuple[MakeDance, MakeDance]) -> dict[str, Any]:
    """Evaluate two runs with the same settings (their dances made by `make_dances`) into OUT/a and OUT/b,
    and put them side by side in OUT/report.html and OUT/comparison.json ({"a": ..., "b": ..., "better":
    figure -> "a", "b" or "tie"}). The better figure of each pair is shown in bold."""
    out = Path(out)
    for run in (run_a, run_b):  # both checked before the long work on either
        check_trained(Path(run))
    results, columns = {}, []
    for key, run, make_dance in (("a", Path(run_a), make_dances[0]), ("b", Path(run_b), make_dances[1])):
        result, column = _evaluate(run, out / key, cfg, make_dance, None, None, str(run))
        column.name = f"{key.upper()}: {run.name}"
        write_report(out / key / "report.html", [column], title=f"deepdance evaluation: {run.name}")
        results[key] = result
        columns.append(column)
    results["better"] = M.better(results["a"]["figures"], results["b"]["figures"])
    write_json(out / "comparison.json", results)
    write_report(out / "report.html", columns, title=f"deepdance comparison: {Path(run_a).name} vs {Path(run_b).name}",
                 better=results["better"])
    return results
