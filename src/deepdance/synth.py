"""The `synth` stage: render the built-in dancer, its music and a preview into a frame store.

Frames are rendered and appended a chunk at a time and the music is written in chunks, so a dance
of any length needs only a chunk's worth of memory. Everything follows from the config: the same
seed and flags give byte-identical frames and audio, whatever the chunk size.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Config
from .dancer.body import Body, Camera, draw_poses
from .dancer.choreo import BEATS_PER_BAR, BEATS_PER_PHRASE, MOVES, Choreography, tempo_from_seed
from .dancer.music import SAMPLE_RATE, write_music
from .errors import UserError
from .store import FrameStore, StoreWriter

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

        for name in ("seconds", "fps"):
            number(name, getattr(self, name))
            if not getattr(self, name) > 0:
                raise UserError(f"synth {name} must be positive, got {getattr(self, name)}")
        if self.fps > 1000:
            raise UserError(f"synth fps must be at most 1000, got {self.fps}")
        for name in ("width", "height"):
            number(name, getattr(self, name), numbers.Integral)
            if not 8 <= getattr(self, name) <= 8192:
                raise UserError(f"synth {name} must be between 8 and 8192, got {getattr(self, name)}")
        number("seed", self.seed, numbers.Integral)
        if self.bpm is not None:
            number("bpm", self.bpm)
            if not 30 <= self.bpm <= 300:
                raise UserError(f"synth bpm must be between 30 and 300, got {self.bpm}")
        if self.frames < 1:
            raise UserError(f"synth: {self.seconds} s at {self.fps} fps is less than one frame")

    @property
    def frames(self) -> int:
        return int(round(self.seconds * self.fps))

    @property
    def tempo(self) -> float:
        return float(self.bpm) if self.bpm is not None else tempo_from_seed(self.seed)

    @property
    def samples(self) -> int:
        """Length of the music: exactly as long as the frames."""
        return int(round(self.frames / self.fps * SAMPLE_RATE))


class _Dancer:
    """Body, camera and choreography of one config: frames for any range."""

    def __init__(self, cfg: SynthConfig):
        self.body = Body.from_seed(cfg.seed)
        self.camera = Camera.fit(cfg.width, cfg.height)
        self.choreo = Choreography(cfg.seed, bpm=cfg.tempo, fps=cfg.fps, body=self.body,
                                   travel=self.camera.travel)

    def frames(self, start: int, stop: int) -> np.ndarray:
        return draw_poses(self.choreo.poses(start, stop), self.body, self.camera)


class _MotionDancer:
    """The same body dancing a motion file: BVH or COCO-17 keypoints, resampled to the frame rate."""

    def __init__(self, cfg: SynthConfig):
        from .dancer.motion import load_motion

        self.motion = load_motion(cfg.motion, fps=cfg.motion_fps, view=cfg.view).resample(cfg.fps)
        self.body = Body.from_seed(cfg.seed)
        self.camera = Camera.fit(cfg.width, cfg.height)

    def frames(self, start: int, stop: int) -> np.ndarray:
        from .dancer.motion import motion_frames

        return motion_frames(self.motion, self.body, self.camera, start, stop)


def render_frames(cfg: SynthConfig, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames [start, stop) of the dance as uint8 (N, H, W), dancer 0 on 255, in memory."""
    stop = cfg.frames if stop is None else stop
    return _Dancer(cfg).frames(start, stop)


def synthesize(cfg: SynthConfig, out: str | os.PathLike, *, force: bool = False, progress: bool = True,
               chunk: int | None = None) -> FrameStore:
    """Render the dance into a new frame store at `out`, with music.wav and (optionally) preview.mp4.

    With `cfg.motion` the body dances that motion file instead (no music: motion files carry none).
    `chunk` frames are rendered at a time (default: about 16 MB of frames, at most 256).
    """
    chunk = chunk or max(1, min(256, (16 << 20) // (cfg.width * cfg.height)))
    source = {"kind": "motion", "seed": cfg.seed} if cfg.motion else \
        {"kind": "builtin-dancer", "seed": cfg.seed, "bpm": cfg.tempo}
    # the writer comes first: an existing `out` without force fails before any work
    with StoreWriter(Path(out), width=cfg.width, height=cfg.height, fps=cfg.fps, packed=cfg.packed,
                     source=source, cut={"mode": "rendered"}, force=force) as writer:
        if cfg.motion:
            dancer = _MotionDancer(cfg)
            writer.manifest.source.update(dancer.motion.source)
            _write_frames(writer, dancer, len(dancer.motion), cfg, chunk=chunk, progress=progress)
        else:
            dancer = _Dancer(cfg)
            bpm, n = cfg.tempo, cfg.frames
            wav = write_music(writer.file(MUSIC), bpm, cfg.samples, seed=cfg.seed)
            writer.manifest.audio = MUSIC
            writer.manifest.extra = {
                "bpm": bpm,
                # beat k sounds at offset + k * 60 / bpm seconds, in the music and in the dance
                "beats": {"bpm": bpm, "offset": 0.0, "count": len(dancer.choreo.beat_times(n / cfg.fps)),
                          "per_bar": BEATS_PER_BAR, "per_phrase": BEATS_PER_PHRASE},
                "moves": list(MOVES),
                "body": {"hair": dancer.body.hair, "skirt": dancer.body.skirt},
            }
            _write_frames(writer, dancer, n, cfg, chunk=chunk, progress=progress, audio=wav)
        return writer.close()


def _write_frames(writer: StoreWriter, dancer, n: int, cfg: SynthConfig, *, chunk: int, progress: bool,
                  audio=None) -> None:
    """Render chunk by chunk into the store and, in the same pass, into the preview video."""
    from tqdm import tqdm

    from .video import write_video

    with tqdm(total=n, unit="frame", desc="synth", disable=not progress) as bar:
        def chunks():
            for start in range(0, n, chunk):
                frames = dancer.frames(start, min(n, start + chunk))
                writer.append(frames)
                bar.update(len(frames))
                yield frames

        if cfg.preview:
            write_video(writer.file(PREVIEW), chunks(), fps=cfg.fps, audio=audio)
        else:
            for _ in chunks():
                pass
