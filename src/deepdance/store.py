"""The frame store: silhouette frames on disk, memory-mapped, with a JSON manifest.

A store is a folder:
    frames.bin      N frames, each H*W uint8 (0 = dancer, 255 = background, grey = anti-aliased edge)
                    or, when packed, ceil(H*W/8) bytes of bits (1 = dancer)
    manifest.json   format, size, fps, frame count, source, how the silhouettes were cut, clips, audio, poses
    [poses.bin]     a pose per frame, aligned with frames.bin: float32 (N, J, 3), x and y in the store's
                    pixels and a confidence (0 = not seen; x = y = NaN = unknown), joints named in the manifest
    [poses3d.bin]   where a source knows them: float32 (N, J, 3) joints in metres about the mid-hip
    [music.wav]     the sound that goes with the frames, if any

Reading a slice touches only the bytes of that slice, so a store larger than memory trains fine and
many processes can share one store through the page cache without copying it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from .errors import UserError
from .files import FolderOutput, inside, read_json, write_json

FORMAT = "deepdance-framestore/1"
MANIFEST = "manifest.json"
FRAMES = "frames.bin"
POSES, POSES3D = "poses.bin", "poses3d.bin"


def frame_bytes(width: int, height: int, packed: bool) -> int:
    return (width * height + 7) // 8 if packed else width * height


@dataclass
class Manifest:
    width: int
    height: int
    fps: float
    frames: int = 0
    packed: bool = False
    source: dict[str, Any] = field(default_factory=dict)
    cut: dict[str, Any] = field(default_factory=dict)
    # [start, stop) frame ranges of continuous footage; the sequence model never learns across a boundary
    clips: list[list[int]] = field(default_factory=list)
    audio: str | None = None
    # names of the pose joints of poses.bin (None: no poses); poses3d: whether poses3d.bin is there too
    joints: list[str] | None = None
    poses3d: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT

    @classmethod
    def from_dict(cls, d: Any, where: Path) -> "Manifest":
        """A manifest from its JSON, every field checked: a bad one is one line naming the file and the field."""
        if not isinstance(d, dict):
            raise UserError(f"{where}: expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            raise UserError(f"{where} is not a deepdance frame store manifest (format {d.get('format')!r})")
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise UserError(f"{where}: unknown field {unknown[0]!r}")
        for name in ("width", "height", "fps"):
            if name not in d:
                raise UserError(f"{where}: field {name!r} is missing")

        def bad(name: str, what: str) -> UserError:
            return UserError(f"{where}: field {name!r} must be {what}, got {d[name]!r}")

        def whole(name: str, lo: int, hi: int) -> int:
            value = d[name]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise bad(name, f"a whole number from {lo} to {hi}")
            return value

        width, height = whole("width", 1, limits.MAX_SIDE), whole("height", 1, limits.MAX_SIDE)
        frames = whole("frames", 0, limits.MAX_FRAMES) if "frames" in d else 0
        fps = d["fps"]
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or \
                not limits.MIN_FPS <= fps <= limits.MAX_FPS:  # NaN fails too
            raise bad("fps", f"a number from {limits.MIN_FPS:g} to {limits.MAX_FPS:g}")
        if not isinstance(d.get("packed", False), bool):
            raise bad("packed", "true or false")
        for name in ("source", "cut", "extra"):
            if not isinstance(d.get(name, {}), dict):
                raise bad(name, "a JSON object")
        clips = d.get("clips", [])
        if not isinstance(clips, list):
            raise bad("clips", "a list of [start, stop] frame ranges")
        end = 0
        for clip in clips:
            if not (isinstance(clip, list) and len(clip) == 2
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in clip)):
                raise bad("clips", "a list of [start, stop] frame ranges")
            start, stop = clip
            if not 0 <= start < stop <= frames:
                raise UserError(f"{where}: field 'clips' has {clip}, outside the {frames} frames or empty")
            if start < end:
                raise UserError(f"{where}: field 'clips' has {clip}, which overlaps the clip before it "
                                f"(or is out of order)")
            end = stop
        if d.get("audio") is not None:
            inside(where.parent, d["audio"], where=f"{where} field 'audio'")
        joints = d.get("joints")
        if joints is not None and not (isinstance(joints, list) and 0 < len(joints) <= 256
                                       and all(isinstance(j, str) for j in joints)):
            raise bad("joints", "a list of joint names")
        if not isinstance(d.get("poses3d", False), bool) or (d.get("poses3d") and joints is None):
            raise bad("poses3d", "true (with joints) or false")
        return cls(**{**d, "width": width, "height": height, "fps": float(fps), "frames": frames})


class FrameStore:
    """Read access to a store folder. Open with `FrameStore.open(path)`."""

    def __init__(self, path: Path, manifest: Manifest):
        self.path = path
        self.manifest = manifest
        self._mm: np.memmap | None = None

    # --- opening and validating -------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike) -> "FrameStore":
        path = Path(path)
        if not path.exists():
            raise UserError(f"no frame store at {path}")
        if not (path / MANIFEST).is_file():
            raise UserError(f"{path} is not a frame store (no {MANIFEST})")
        m = Manifest.from_dict(read_json(path / MANIFEST), path / MANIFEST)
        data = path / FRAMES
        if not data.is_file():
            raise UserError(f"frame store {path} has no {FRAMES}")
        expected = m.frames * frame_bytes(m.width, m.height, m.packed)
        actual = data.stat().st_size
        if actual != expected:
            what = "truncated" if actual < expected else "longer than its manifest says"
            raise UserError(
                f"frame store {path} is {what}: {FRAMES} has {actual} bytes, "
                f"manifest says {m.frames} frames of {m.width}x{m.height} = {expected} bytes"
            )
        if m.frames == 0:
            raise UserError(f"frame store {path} holds no frames")
        if m.audio and not inside(path, m.audio, where=f"{path / MANIFEST} field 'audio'").is_file():
            raise UserError(f"frame store {path} names audio {m.audio} but the file is missing")
        for name, wanted in ((POSES, m.joints is not None), (POSES3D, m.poses3d)):
            expected = m.frames * len(m.joints or ()) * 3 * 4 if wanted else None
            actual = (path / name).stat().st_size if (path / name).is_file() else None
            if wanted and actual != expected:
                raise UserError(f"frame store {path}: {name} has {actual} bytes, the manifest's {m.frames} frames "
                                f"of {len(m.joints)} joints need {expected}")
        return cls(path, m)

    # --- shape ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.manifest.frames

    @property
    def width(self) -> int:
        return self.manifest.width

    @property
    def height(self) -> int:
        return self.manifest.height

    @property
    def fps(self) -> float:
        return self.manifest.fps

    @property
    def audio_path(self) -> Path | None:
        return self.path / self.manifest.audio if self.manifest.audio else None

    @property
    def clips(self) -> list[tuple[int, int]]:
        return [tuple(c) for c in self.manifest.clips] or [(0, len(self))]

    # --- reading ---------------------------------------------------------------------------------
    def _memmap(self) -> np.memmap:
        # opened lazily, so a store handed to DataLoader workers is mapped once per process
        if self._mm is None:
            m = self.manifest
            self._mm = np.memmap(self.path / FRAMES, dtype=np.uint8, mode="r",
                                 shape=(m.frames, frame_bytes(m.width, m.height, m.packed)))
        return self._mm

    def __getstate__(self):
        return {"path": self.path, "manifest": self.manifest, "_mm": None}

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> np.ndarray:
        """Frames [start:stop:step] as uint8 pictures (N, H, W): 0 = dancer, 255 = background."""
        return self.take(np.arange(len(self))[start:stop:step])

    def take(self, indices) -> np.ndarray:
        """Frames at arbitrary indices as uint8 pictures (N, H, W)."""
        m = self.manifest
        rows = self._memmap()[np.asarray(indices)]
        if m.packed:
            bits = np.unpackbits(rows, axis=1, count=m.width * m.height)
            return ((1 - bits) * 255).astype(np.uint8).reshape(-1, m.height, m.width)
        return np.asarray(rows).reshape(-1, m.height, m.width)

    def ink(self, indices) -> np.ndarray:
        """Frames as float32 (N, H, W) in [0, 1] with 1 = dancer: what the models see."""
        return 1.0 - self.take(indices).astype(np.float32) / 255.0

    def poses(self, start: int = 0, stop: int | None = None, *, three_d: bool = False) -> np.ndarray | None:
        """Poses of frames [start:stop] (N, J, 3) float32, memory-mapped: x, y in the store's pixels and a
        confidence, or with `three_d` the joints in metres about the mid-hip. None when the store has none."""
        m = self.manifest
        if m.joints is None or (three_d and not m.poses3d):
            return None
        data = np.memmap(self.path / (POSES3D if three_d else POSES), dtype=np.float32, mode="r",
                         shape=(m.frames, len(m.joints), 3))
        return data[start:stop]

    def __getitem__(self, item) -> np.ndarray:
        if isinstance(item, slice):
            return self.frames(item.start or 0, item.stop, item.step or 1)
        return self.take([item])[0]


class StoreWriter:
    """Append frames in chunks; the store appears under its final name only when `close()` succeeds."""

    def __init__(self, path: str | os.PathLike, *, width: int, height: int, fps: float,
                 packed: bool = False, source: dict | None = None, cut: dict | None = None,
                 force: bool = False):
        self.path = Path(path)
        self.manifest = Manifest(width=int(width), height=int(height), fps=float(fps), packed=packed,
                                 source=source or {}, cut=cut or {})
        # locked, under a temporary name of its own; an existing `path` fails here without force
        self.output = FolderOutput(self.path, force=force, marker=MANIFEST)
        self.tmp = self.output.tmp
        try:
            self._fh = open(self.tmp / FRAMES, "wb")
        except BaseException:
            self.output.abort()
            raise
        self._poses: dict[str, Any] = {}  # file name -> open file, from the first append with poses
        self._clip_start = 0
        self._closed = False

    def __enter__(self) -> "StoreWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        self._fail(exc)  # whatever ended the block: an error, KeyboardInterrupt, SystemExit from a signal handler

    def append(self, frames: np.ndarray, *, poses: np.ndarray | None = None, poses3d: np.ndarray | None = None,
               joints: tuple[str, ...] | None = None) -> None:
        """Append (N, H, W) or (H, W) uint8 pictures, 0 = dancer, 255 = background, and with them their poses
        (N, J, 3) in the store's pixels (and `poses3d` in metres) for `joints`: either every append of a
        store gives poses, or none does."""
        frames = np.asarray(frames)
        if frames.ndim == 2:
            frames = frames[None]
        m = self.manifest
        if frames.shape[1:] != (m.height, m.width) or frames.dtype != np.uint8:
            raise ValueError(f"expected uint8 frames of shape (N, {m.height}, {m.width}), "
                             f"got {frames.dtype} {frames.shape}")
        self._append_poses(len(frames), poses, poses3d, joints)
        if m.packed:
            rows = np.packbits(frames.reshape(len(frames), -1) < 128, axis=1)
            self._fh.write(rows.tobytes())
        else:
            self._fh.write(np.ascontiguousarray(frames).tobytes())
        m.frames += len(frames)

    def _append_poses(self, n: int, poses, poses3d, joints) -> None:
        m = self.manifest
        if m.frames == 0 and poses is not None:
            m.joints, m.poses3d = list(joints), poses3d is not None
            self._poses = {name: open(self.tmp / name, "wb") for name in (POSES, POSES3D)[:1 + m.poses3d]}
        given = {POSES: poses, POSES3D: poses3d}
        if set(self._poses) != {k for k, v in given.items() if v is not None} or \
                (poses is not None and list(joints) != m.joints):
            raise ValueError("every append of a store gives the same kind of poses (2-D, 3-D, joints), or none")
        for name, fh in self._poses.items():
            data = np.ascontiguousarray(given[name], np.float32)
            if data.shape != (n, len(m.joints), 3):
                raise ValueError(f"expected {name} of shape ({n}, {len(m.joints)}, 3), got {data.shape}")
            fh.write(data.tobytes())

    def end_clip(self) -> None:
        """Mark a boundary: frames before and after it are not continuous footage."""
        if self.manifest.frames > self._clip_start:
            self.manifest.clips.append([self._clip_start, self.manifest.frames])
        self._clip_start = self.manifest.frames

    def add_file(self, name: str, src: str | os.PathLike) -> Path:
        """Copy a side file (music, preview) into the store."""
        dst = self.tmp / name
        shutil.copyfile(src, dst)
        return dst

    def file(self, name: str) -> Path:
        """Path for a side file written directly into the store being built."""
        return self.tmp / name

    def close(self) -> FrameStore:
        if self._closed:
            return FrameStore.open(self.path)
        try:
            self._fh.close()
            for fh in self._poses.values():
                fh.close()
            self.end_clip()
            m = self.manifest
            if m.frames == 0:
                raise UserError("no frames to store")
            write_json(self.tmp / MANIFEST, {k: getattr(m, k) for k in m.__dataclass_fields__})
        except BaseException as e:
            self._fail(e)
        self.output.commit()
        self._closed = True
        return FrameStore.open(self.path)

    def _close_file(self) -> None:
        for fh in (self._fh, *self._poses.values()):
            try:
                if not fh.closed:
                    fh.close()
            except OSError:  # a full disk fails the last flush: the file goes anyway
                pass

    def _fail(self, e: BaseException) -> None:
        self._close_file()
        self._closed = True
        self.output.fail(e)

    def abort(self) -> None:
        self._close_file()
        self._closed = True
        self.output.abort()
