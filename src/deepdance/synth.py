"""The `synth` stage: render the built-in dancer, its music and a preview into a frame store.

Frames are rendered and appended a chunk at a time and the music is written in chunks, so a dance
of any length needs only a chunk's worth of memory. Everything follows from the config: the same
seed and flags give byte-identical frames and audio, whatever the chunk size.

With several `tempos` the dance is cut into one clip per tempo (a clip boundary in the store), so a model
learns to follow more than one tempo: the same body, a new choreography (seed + clip) and its own music,
each clip starting from its own beat 0.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import limits
from .config import Config
from .dancer.body import Body, Camera, draw_poses
from .dancer.choreo import BEATS_PER_BAR, BEATS_PER_PHRASE, MOVES, Choreography, tempo_from_seed
from .dancer.music import SAMPLE_RATE, write_medley
from .errors import UserError
from .files import check_not_overlapping
from .pose.skeleton import JOINTS, carried, from_dancer
from .store import FrameStore, StoreWriter, frame_bytes

MUSIC = "music.wav"
PREVIEW = "preview.mp4"


@dataclass
class SynthConfig(Config):
    seconds: float = 60.0
    fps: float = 12.0
    width: int = 200
    height: int = 120
    seed: int = 0
    bpm: float | None = None     # None: picked from the seed, 90-140
    tempos: tuple[float, ...] = ()  # several: one clip of (nearly) equal length at each tempo, instead of bpm
    packed: bool = False
    preview: bool = True
    motion: str | None = None       # a BVH or COCO-17 keypoint file danced instead of the choreography
    motion_fps: float | None = None  # overrides the file's frame rate (some files state it wrongly)
    view: str | None = None         # camera: BVH yaw in degrees or front/side/back; keypoints: view index

    def __post_init__(self):
        def number(name, value, kind=numbers.Real):
            if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
                raise UserError(f"synth {name} must be a {'whole ' if kind is numbers.Integral else ''}number, "
                                f"got {value!r}")

        def tempo(name, value):
            number(name, value)
            limits.check_bpm(f"synth {name}", value)

        limits.check_fps("synth fps", self.fps)
        for name in ("width", "height"):
            limits.check_side(f"synth {name}", getattr(self, name))
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, numbers.Real) or math.isnan(self.seconds):
            raise UserError(f"synth seconds must be a number, got {self.seconds!r}")
        if not self.seconds > 0:
            raise UserError(f"synth seconds must be positive, got {self.seconds!r}")
        # before anything is made: a length that would fill the disk (or overflow) is refused here
        limits.check_frames("synth", self.seconds, self.fps, frame_bytes(self.width, self.height, self.packed))
        number("seed", self.seed, numbers.Integral)
        if self.motion is None:
            for name in ("view", "motion_fps"):
                if getattr(self, name) is not None:
                    raise UserError(f"synth {name} is for a motion file: give --motion FILE with it")
        if self.bpm is not None:
            tempo("bpm", self.bpm)
        if not isinstance(self.tempos, (tuple, list)):
            raise UserError(f"synth tempos must be a list of numbers, got {self.tempos!r}")
        self.tempos = tuple(self.tempos)
        for value in self.tempos:
            tempo("tempos", value)
        if self.bpm is not None and self.tempos:
            raise UserError("synth: give either one bpm or several tempos, not both")
        if self.frames < 1:
            raise UserError(f"synth: {self.seconds} s at {self.fps} fps is less than one frame")
        if len(self.tempos) > self.frames:
            raise UserError(f"synth: {len(self.tempos)} tempos need at least as many frames, "
                            f"but {self.seconds} s at {self.fps} fps is {self.frames}")

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))

    @property
    def tempo(self) -> float:
        """The one tempo of a dance without `tempos`."""
        return float(self.bpm) if self.bpm is not None else tempo_from_seed(self.seed)

    @property
    def clip_tempos(self) -> tuple[float, ...]:
        return tuple(float(t) for t in self.tempos) or (self.tempo,)

    @property
    def clips(self) -> list[tuple[int, int]]:
        """[start, stop) frames of each clip: as equal as whole frames allow, covering all the frames."""
        n, k = self.frames, len(self.clip_tempos)
        return [(n * i // k, n * (i + 1) // k) for i in range(k)]

    def sample_at(self, frame: int) -> int:
        """The music sample that sounds with `frame`."""
        return int(round(frame / self.fps * SAMPLE_RATE))

    @property
    def samples(self) -> int:
        """Length of the music: exactly as long as the frames."""
        return self.sample_at(self.frames)


class _Dancer:
    """Body, camera and the choreography of each clip of one config: poses for any range."""
    known = JOINTS  # the built-in figure's joints are exact, face and hands included

    def __init__(self, cfg: SynthConfig):
        self.body = Body.from_seed(cfg.seed)
        self.camera = Camera.fit(cfg.width, cfg.height)
        self.starts = [a for a, _ in cfg.clips]
        # the same dancer in every clip, with the clip's tempo and moves of its own
        self.choreos = [Choreography(cfg.seed + i, bpm=bpm, fps=cfg.fps, body=self.body, travel=self.camera.travel)
                        for i, bpm in enumerate(cfg.clip_tempos)]

    def poses(self, start: int, stop: int) -> np.ndarray:
        # a range may span clips, each danced from its own frame 0; the last clip goes on past the end
        ends = self.starts[1:] + [max(stop, self.starts[-1])]
        poses = []
        for a, b, choreo in zip(self.starts, ends, self.choreos):
            lo = min(max(start, a), b)
            poses.append(choreo.poses(lo - a, max(lo, min(stop, b)) - a))
        return np.concatenate(poses)

    def frames(self, start: int, stop: int) -> np.ndarray:
        return draw_poses(self.poses(start, stop), self.body, self.camera)


class _MotionDancer:
    """The same body dancing a motion file: BVH or COCO-17 keypoints, resampled to the frame rate."""

    def __init__(self, cfg: SynthConfig):
        from .dancer.motion import load_motion

        self.motion = load_motion(cfg.motion, fps=cfg.motion_fps, view=cfg.view).resample(cfg.fps)
        self.body = Body.from_seed(cfg.seed)
        self.camera = Camera.fit(cfg.width, cfg.height)
        self.known = carried(self.motion.source)

    def poses(self, start: int, stop: int) -> np.ndarray:
        from .dancer.motion import motion_poses

        return motion_poses(self.motion, self.camera, start, stop)


def render_frames(cfg: SynthConfig, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames [start, stop) of the dance as uint8 (N, H, W), dancer 0 on 255, in memory."""
    stop = cfg.frames if stop is None else stop
    return _Dancer(cfg).frames(start, stop)


def synthesize(out: str | os.PathLike, *, cfg: SynthConfig, force: bool = False, progress: bool = True,
               chunk: int | None = None) -> FrameStore:
    """Render the dance into a new frame store at `out`, with music.wav and (optionally) preview.mp4.

    With several `cfg.tempos` the store holds one clip per tempo, each with its part of the music.
    With `cfg.motion` the body dances that motion file instead (no music: motion files carry none).
    `chunk` frames are rendered at a time (default: about 16 MB of frames, at most 256).
    """
    chunk = chunk or max(1, min(256, (16 << 20) // (cfg.width * cfg.height)))
    tempos, clips, fps = cfg.clip_tempos, cfg.clips, cfg.fps
    several = len(clips) > 1
    bpm = list(tempos) if several else tempos[0]  # one tempo stays a number, as before there were clips
    source = {"kind": "motion", "seed": cfg.seed} if cfg.motion else \
        {"kind": "builtin-dancer", "seed": cfg.seed, "bpm": bpm}
    if cfg.motion:
        check_not_overlapping(out, [cfg.motion])
    # the writer comes first: an existing `out` without force fails before any work
    with StoreWriter(Path(out), width=cfg.width, height=cfg.height, fps=cfg.fps, packed=cfg.packed,
                     source=source, cut={"mode": "rendered"}, force=force) as writer:
        if cfg.motion:
            dancer = _MotionDancer(cfg)
            writer.manifest.source.update(dancer.motion.source)
            _write_frames(writer, dancer, [(0, len(dancer.motion))], cfg, chunk=chunk, progress=progress)
        else:
            dancer = _Dancer(cfg)
            # each clip's music starts with its first frame (to the sample), so the parts add up to the frames
            edges = [cfg.sample_at(a) for a, _ in clips] + [cfg.samples]
            wav = write_medley(writer.file(MUSIC), [(t, b - a) for t, a, b in zip(tempos, edges, edges[1:])],
                               seed=cfg.seed)
            # beat k of a clip sounds at offset + k * 60 / bpm seconds, in the music and in the dance
            beats = [{"bpm": t, "offset": a / fps, "count": len(choreo.beat_times((b - a) / fps)),
                      "per_bar": BEATS_PER_BAR, "per_phrase": BEATS_PER_PHRASE}
                     for t, (a, b), choreo in zip(tempos, clips, dancer.choreos)]
            writer.manifest.audio = MUSIC
            writer.manifest.extra = {
                "bpm": bpm,
                "beats": beats if several else beats[0],
                "clip_starts": [{"start_s": a / fps} for a, _ in clips],  # where each clip's music starts
                "moves": list(MOVES),
                "body": {"hair": dancer.body.hair, "skirt": dancer.body.skirt},
            }
            _write_frames(writer, dancer, clips, cfg, chunk=chunk, progress=progress, audio=wav)
        return writer.close()


def _write_frames(writer: StoreWriter, dancer, clips: list[tuple[int, int]], cfg: SynthConfig, *, chunk: int,
                  progress: bool, audio=None) -> None:
    """Render chunk by chunk into the store, clip by clip, and in the same pass into the preview video
    (one continuous video of all the clips, with all the music)."""
    from tqdm import tqdm

    from .video import write_video

    with tqdm(total=clips[-1][1], unit="frame", desc="synth", disable=not progress) as bar:
        def chunks():
            for a, b in clips:
                for start in range(a, b, chunk):
                    poses = dancer.poses(start, min(b, start + chunk))
                    frames = draw_poses(poses, dancer.body, dancer.camera)
                    # the joints as drawn: in the store's pixels, and in metres about the mid-hip
                    joints = from_dancer(poses, dancer.body, dancer.camera, cfg.fps, known=dancer.known)
                    writer.append(frames, poses=joints.joints2d, poses3d=joints.joints3d, joints=JOINTS)
                    bar.update(len(frames))
                    yield frames
                writer.end_clip()

        if cfg.preview:
            write_video(writer.file(PREVIEW), chunks(), fps=cfg.fps, audio=audio)
        else:
            for _ in chunks():
                pass
