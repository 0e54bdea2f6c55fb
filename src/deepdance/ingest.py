"""Videos or image folders -> a frame store of silhouettes.

Per input: sample ~24 frames and find the pose in each (static mode), to choose the framing
(`footage.framing`) and to choose and check the cut (`cut.choose_cut`); then one decoding pass: every
source frame goes through the pose estimator (tracking mode: the full-rate track, `track.npz`), every frame
within `smooth` source frames of a sampling tick is cut at working resolution (1.5 to 3 times the output
size), the scores around each tick are averaged (no flicker), cleaned to the dancer the skeleton is in,
framed (fixed stage, or tracked), reduced to the output size with INTER_AREA (grey, anti-aliased
edges) and appended to the store with its pose mapped into the store's pixels. Frames without a dancer
are dropped and the gap becomes a clip boundary. Choices made here:

* the store's size: `--size`, else 200x120 turned to the first input's orientation (portrait in, portrait
  out); the part of the source: `--crop`, else the stage a far dancer uses in the samples' skeletons
  (`framing.stage_crop`), else all of it; the fit: `--fit`, else crop unless cropping would cut off head or
  feet in a sample's skeleton.

* fps above a source's frame rate is clamped to it (with a note): frames are never repeated.
* audio: kept as music.wav when there is exactly one input and it is a video with sound; with several
  inputs no single soundtrack follows the frames, so none is kept. `manifest.extra["clip_starts"]`
  gives the source time of every clip's first frame, to line the music up across dropped gaps.
* image folders: files in natural name order (frame2 before frame10), one image per frame at `fps`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from . import limits, video
from .config import Config
from .cut import MODES, POLARITIES, Cutter, Limits, choose_cut, clean, dancer_share, describe
from .errors import UserError
from .files import check_new_folder, check_not_overlapping, check_writable_dir
from .footage.framing import MIN_REGION, Geometry, choose_fit, default_size, stage_crop, windows
from .footage.inputs import Input
from .footage.poses import CLOSER_BELOW, Recorder, choose_dancer, look_closer, sample_poses
from .footage.sink import Sink
from .progress import say
from .pose.estimator import mediapipe_solutions
from .store import FrameStore, StoreWriter

SAMPLES = 24          # frames looked at to choose and fit the cut
# seconds: source frames farther than this from a tick are not averaged into it. A dancer moves too far in
# 1/12 s: averaging those frames cost 0.02 IoU on the composited dancer and hardly changed the flicker
SMOOTH_SPAN = 0.05
DEFAULT_SIZE = (200, 120)


@dataclass
class IngestConfig(Config):
    fps: float = 3.0                  # frames per second sampled into the store
    width: int | None = None          # None: 200x120 turned to the source's orientation
    height: int | None = None
    fit: str = "auto"                 # crop, pad, or auto: crop unless it would cut off head or feet
    crop: tuple[int, int, int, int] | None = None  # x, y, w, h of the source to keep
    cut: str = "auto"                 # auto, threshold, chroma, background, segment
    polarity: str = "auto"            # threshold mode: the dancer is "dark" or "light"
    keep_all_components: bool = False
    track: bool = False               # frame the dancer (centred, steady scale) instead of the stage
    smooth: int = 3                   # source frames averaged around each sample (1 = off)
    packed: bool = False
    poses: bool = True                # a pose for every frame (track.npz, poses.bin) and the skeleton check
    min_area: float = 0.005           # fractions of the working frame: smallest dancer,
    max_area: float = 0.9             # largest (more is a failed cut),
    speck_area: float = 0.0005        # noise with keep_all_components,
    hole_area: float = 0.003          # holes in the dancer that are filled
    preview: bool = True              # write preview.png (raw frames above their cut) and preview.mp4

    def __post_init__(self):
        limits.check_fps("ingest fps", self.fps)
        if (self.width is None) != (self.height is None):
            raise UserError("give both width and height, or neither")
        for name in ("width", "height"):
            if getattr(self, name) is not None:
                limits.check_side(f"ingest {name}", getattr(self, name))
        for name, value, choices in (("fit", self.fit, ("auto", "crop", "pad")), ("cut", self.cut, MODES),
                                     ("polarity", self.polarity, POLARITIES)):
            if value not in choices:
                raise UserError(f"{name} {value!r} is not one of {', '.join(choices)}")
        if self.crop is not None:
            self.crop = _check_crop(self.crop)
        if self.smooth < 1:
            raise UserError(f"smooth must be at least 1 (1 = off), got {self.smooth}")
        if not 0 <= self.min_area < self.max_area <= 1:
            raise UserError("areas must satisfy 0 <= min_area < max_area <= 1")

    @property
    def limits(self) -> Limits:
        return Limits(self.min_area, self.max_area, self.speck_area, self.hole_area, self.keep_all_components)

def parse_crop(text: str) -> tuple[int, int, int, int]:
    """'x,y,w,h' (source pixels) -> a tuple; anything else is a UserError."""
    try:
        values = tuple(int(v) for v in str(text).replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise UserError(f"bad crop {text!r}: expected x,y,w,h in source pixels, for example 40,0,560,360")
    return _check_crop(values)


def _check_crop(crop) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in crop)
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise UserError(f"bad crop {x},{y},{w},{h}: x and y must be >= 0, width and height > 0")
    if w < MIN_REGION or h < MIN_REGION:
        raise UserError(f"bad crop {x},{y},{w},{h}: a {w}x{h} region is too small to cut a dancer from, "
                        f"width and height must be at least {MIN_REGION} pixels")
    return x, y, w, h


# --- the whole thing ------------------------------------------------------------------------------
def _no_dancer(path: Path, cutter: Cutter, which: str) -> UserError:
    hint = "try another --cut mode (threshold, chroma, background, segment)"
    if cutter.mode == "threshold":
        other = "light" if cutter.params["polarity"] == "dark" else "dark"
        hint = f"try --polarity {other}, or {hint}"
    return UserError(f"no dancer found in {path}: {which} blank after the '{cutter.mode}' cut; {hint}")


def _track_name(i: int, n: int) -> str:
    return "track.npz" if n == 1 else f"track_{i + 1}.npz"


def ingest(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, *, cfg: IngestConfig | None = None,
           force: bool = False, progress: bool = True) -> FrameStore:
    """Cut the dancer out of videos / image folders into a new frame store at `out`, a pose with every frame."""
    cfg = cfg or IngestConfig()
    out = Path(out)
    paths = [Path(p) for p in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)]
    if not paths:
        raise UserError("no input: give at least one video or folder of images")
    # everything that can be checked is checked before any decoding
    check_not_overlapping(out, paths)  # with --force the inputs would be deleted
    check_new_folder(out, force=force)
    check_writable_dir(out.parent)
    if cfg.cut == "segment" or cfg.poses:
        mediapipe_solutions()   # a broken install fails here, not after decoding
    for p in paths:
        if not p.exists():
            raise UserError(f"no such file or folder: {p}")
    sources = [Input(p, cfg.fps) for p in paths]
    size = (cfg.width, cfg.height) if cfg.width else default_size(sources[0].width, sources[0].height, DEFAULT_SIZE)
    for s in sources:   # a bad --crop fails before any decoding
        Geometry.make(s, size=size, fit="crop" if cfg.fit == "auto" else cfg.fit, crop=cfg.crop, track=cfg.track)
    fps = min([cfg.fps] + [s.fps for s in sources if s.kind == "video"])
    notes: list[str] = []

    def note(text: str) -> None:
        say(f"note: {text}")
        notes.append(text)

    if fps < cfg.fps - 1e-6:
        slowest = min((s for s in sources if s.kind == "video"), key=lambda s: s.fps)
        say(f"note: asked for {cfg.fps:g} fps but {slowest.path.name} gives only {fps:g} fps; "
            f"sampling at {fps:g} fps")

    # per input, before anything is written: samples, their poses, the framing and the cut
    plans = []
    for src in sources:
        raw = src.samples(SAMPLES)
        window, people, why = choose_dancer(raw) if cfg.poses and raw else (None, 0, "")
        poses = sample_poses(raw, window) if cfg.poses else [None] * len(raw)
        if cfg.poses and raw and window is None and sum(q is not None for q in poses) < CLOSER_BELOW * len(raw):
            closer = look_closer(raw, poses)
            if closer is not None:
                window, poses, why = closer
                people = 1   # the one dancer it found, looking closer
        stage, stage_why = None, None
        if cfg.crop is None and cfg.fit == "auto" and not cfg.track and cfg.poses:
            stage, stage_why = stage_crop(src, size, poses)
        crop = stage or cfg.crop
        fit, fit_why = (cfg.fit, "asked for") if cfg.fit != "auto" or cfg.track else choose_fit(src, size, crop, poses)
        geo = Geometry.make(src, size=size, fit=fit, crop=crop, track=cfg.track)
        samples = [geo.prepare(s) for s in raw]
        work_poses = [None if q is None else geo.to_work(q) for q in poses]
        cutter, reason, figures = choose_cut(cfg.cut, samples, polarity=cfg.polarity, limits=cfg.limits,
                                             poses=work_poses)
        if not any(dancer_share(cutter, samples, cfg.limits)):  # fail before the long pass
            if cfg.poses and cfg.cut == "auto" and all(q is None for q in poses):
                raise UserError(f"nobody in {src.path}: no dancer found in the {len(raw)} frames sampled across it "
                                f"(no person for the pose estimator, nothing left by the '{cutter.mode}' cut)")
            raise _no_dancer(src.path, cutter, f"all {len(samples)} frames sampled across it are")
        plans.append((src, geo, cutter, reason, figures, fit, fit_why, samples, work_poses, window, people, why,
                      stage, stage_why))

    source_info = {"inputs": [s.facts() for s in sources], "fps_requested": cfg.fps, "fit": cfg.fit,
                   "crop": list(cfg.crop) if cfg.crop else None, "track": cfg.track, "size": list(size)}
    with StoreWriter(out, width=size[0], height=size[1], fps=fps, packed=cfg.packed,
                     source=source_info, force=force) as writer:
        sink = Sink(writer, plans[0][1], fps, poses=cfg.poses)
        if not cfg.width:
            say(f"store size {size[0]}x{size[1]} ({'portrait' if size[1] > size[0] else 'landscape'}, as "
                f"{sources[0].path.name}; --size overrides)")
        cuts = []
        for i, (src, geo, cutter, reason, figures, fit, fit_why, samples, work_poses, window, people, why, stage,
                stage_why) in enumerate(plans):
            say(f"{src.path.name}: cut '{cutter.mode}' ({reason})")
            facts = writer.manifest.source["inputs"][i]
            facts.update(fit=fit, fit_reason=fit_why)
            if window is not None and people != 1:
                note(f"several people in {src.path.name}: {why}; the others are left out (frame another "
                     f"with --crop X,Y,W,H)")
                facts.update(people=people, pose_window=list(window))
            elif window is not None:
                say(f"{src.path.name}: {why}")
                facts.update(pose_window=list(window), pose_window_reason=why)
            if stage is not None:
                say(f"{src.path.name}: {stage_why}")
                facts.update(stage=list(stage), stage_reason=stage_why)
            if cfg.poses:
                if all(q is None for q in work_poses):   # in the manifest only: the pass after says more
                    notes.append(f"no person found by the pose estimator in the samples of {src.path.name}: its "
                                 f"poses may be missing and the cut is not checked")
            sink.start_input(i, geo)
            recorder = _cut_input(src, geo, cutter, cfg, fps, sink, progress, window)
            kept = sink.end_input()
            if kept == 0:
                raise _no_dancer(src.path, cutter, "every frame is")
            if recorder is not None:
                track = recorder.track()
                name = _track_name(i, len(plans))
                track.save(writer.file(name))
                found = float(track.found.mean()) if len(track) else 0.0
                facts.update(track=name, pose_frames=len(track), pose_found=round(found, 4))
                if found == 0:
                    note(f"the pose estimator found nobody in any of the {len(track)} frames of {src.path.name}: "
                         f"its stored poses are all missing")
                elif found < 0.9:
                    note(f"a person is found in only {found:.0%} of the frames of {src.path.name}: the poses of "
                         f"the others are missing")
            dropped = sum(g["dropped"] for g in sink.gaps if g["input"] == i)
            if dropped:
                note(f"the dancer is missing from {dropped} of {dropped + kept} sampled frames of {src.path.name}: "
                     f"dropped, the gaps recorded as clip boundaries")
            cuts.append({"path": str(src.path), "mode": cutter.mode, "reason": reason, "params": cutter.params,
                         "samples": figures})
            truncated = src.truncation()
            if truncated:
                note(truncated)
                facts.update(decoded_frames=src.decoded, truncated=True)

        modes = {c["mode"] for c in cuts}
        writer.manifest.cut = {**({k: cuts[0][k] for k in ("mode", "reason", "params", "samples")} if len(modes) == 1
                                  else {"mode": "mixed", "reason": "chosen per input"}),
                               "smooth": cfg.smooth, "keep_all_components": cfg.keep_all_components,
                               "track": cfg.track, "limits": {k: getattr(cfg, k) for k in
                                                              ("min_area", "max_area", "speck_area", "hole_area")}}
        if cfg.poses:
            check = sink.tally.summary()
            writer.manifest.cut["check"] = check
            say(f"skeleton check of the stored frames: {describe(check)}")
        if len(cuts) > 1:
            writer.manifest.cut["inputs"] = cuts
        writer.manifest.extra["gaps"] = sink.gaps
        writer.manifest.extra["clip_starts"] = sink.clip_starts
        if notes:
            writer.manifest.extra["notes"] = notes
        if cfg.preview and sink.write_preview(writer.file("preview.png")):
            writer.manifest.extra["preview"] = "preview.png"
        if cfg.preview and sink.write_movie(writer.file("preview.mp4")):
            writer.manifest.extra["preview_video"] = "preview.mp4"
        if len(sources) == 1 and sources[0].audio:
            video.extract_audio(sources[0].path, writer.file("music.wav"))
            writer.manifest.audio = "music.wav"
        elif len(sources) > 1 and any(s.audio for s in sources):
            say("note: several inputs, so no music is kept (one soundtrack cannot follow several clips)")
    return FrameStore.open(out)


def _cut_input(src: Input, geo: Geometry, cutter: Cutter, cfg: IngestConfig, fps: float,
               sink: Sink, progress: bool, window=None) -> Recorder | None:
    """The one decoding pass over an input: poses of every frame, the cut of every sampled one."""
    recorder = None
    frames = src.pictures()
    if cfg.poses:
        recorder = Recorder(src.fps, (src.width, src.height), video=src.kind == "video",
                            source={"kind": src.kind, "file": src.path.name}, window=window, frames=src.frames)
        frames = recorder.run(frames)
    k = min(cfg.smooth // 2, int(SMOOTH_SPAN * src.fps + 1e-9))
    # the sample outweighs its neighbours together: they settle its uncertain pixels (flicker) but never
    # overrule a confident one (a fast limb)
    weights = {d: 1 if d else 2 * k + 1 for d in range(-k, k + 1)}
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}   # source index -> (working frame, score)
    lim = cfg.limits
    total = round(src.frames * fps / src.fps) if src.frames else None
    with tqdm(total=total, desc=src.path.name, unit="frame", disable=not progress, file=sys.stderr,
              leave=False) as bar:
        for t, items, c in windows(frames, fps, src.fps, k):
            centre = items[c][0]
            for idx, rgb in items:
                if idx not in cache:
                    work = geo.prepare(rgb)
                    cache[idx] = work, cutter.score(work)
            raw, score = cache[centre]
            if len(items) > 1:
                total_w = sum(weights[idx - centre] for idx, _ in items)
                acc = np.zeros(score.shape, np.float32)
                for idx, _ in items:
                    acc = cv2.addWeighted(acc, 1.0, cache[idx][1], weights[idx - centre] / total_w, 0.0,
                                          dtype=cv2.CV_32F)
                score = acc
            mask = cv2.threshold(score, 127.5, 255, cv2.THRESH_BINARY)[1].astype(np.uint8, copy=False)
            for idx in [i for i in cache if i < centre - k]:
                del cache[idx]
            pose = recorder.pose(centre) if recorder else None
            points = geo.to_work(pose) if pose is not None else None
            sink.add(t, clean(mask, lim, points=points), raw, pose)
            bar.update(1)
    return recorder
