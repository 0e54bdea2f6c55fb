"""Videos or image folders -> a frame store of silhouettes.

Per input: sample ~24 frames to choose and fit the cut (`cut.make_cutter`), then one decoding pass:
every frame within `smooth` source frames of a sampling tick is cut at working resolution (1.5 to 3
times the output size), the scores around each tick are averaged (no flicker), cleaned to one dancer,
framed (fixed stage, or tracked), reduced to the output size with INTER_AREA (grey, anti-aliased
edges) and appended to the store. Frames without a dancer are dropped and the gap becomes a clip
boundary. Choices made here:

* fps above a source's frame rate is clamped to it (with a note): frames are never repeated.
* audio: kept as music.wav when there is exactly one input and it is a video with sound; with several
  inputs no single soundtrack follows the frames, so none is kept. `manifest.extra["clip_starts"]`
  gives the source time of every clip's first frame, to line the music up across dropped gaps.
* image folders: files in natural name order (frame2 before frame10), one image per frame at `fps`.
"""

from __future__ import annotations

import os
import re
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import av
import cv2
import numpy as np
from tqdm import tqdm

from . import limits, video
from .config import Config
from .cut import MODES, POLARITIES, Cutter, Limits, clean, dancer_share, make_cutter
from .errors import UserError
from .files import check_new_folder, check_not_overlapping, check_writable_dir
from .progress import say
from .pose.estimator import mediapipe_solutions
from .store import FrameStore, StoreWriter

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
SAMPLES = 24          # frames looked at to choose and fit the cut
# seconds: source frames farther than this from a tick are not averaged into it. A dancer moves too far in
# 1/12 s: averaging those frames cost 0.02 IoU on the composited dancer and hardly changed the flicker
SMOOTH_SPAN = 0.05
PREVIEW = 8           # frames in preview.png
MIN_REGION = 16       # pixels a side: the least of a source frame the cut can work on (after --crop and --fit)
# a video that decodes to fewer frames than its container declares, by more than this share and a few
# frames, is truncated (a partial download or copy): said on stderr and recorded in the manifest
TRUNCATED = 0.1


@dataclass
class IngestConfig(Config):
    fps: float = 3.0                  # frames per second sampled into the store
    width: int = 200
    height: int = 120
    fit: str = "crop"                 # keep the aspect ratio by cropping ("crop") or padding ("pad")
    crop: tuple[int, int, int, int] | None = None  # x, y, w, h of the source to keep
    cut: str = "auto"                 # auto, threshold, chroma, background, segment
    polarity: str = "auto"            # threshold mode: the dancer is "dark" or "light"
    keep_all_components: bool = False
    track: bool = False               # frame the dancer (centred, steady scale) instead of the stage
    smooth: int = 3                   # source frames averaged around each sample (1 = off)
    packed: bool = False
    min_area: float = 0.005           # fractions of the working frame: smallest dancer,
    max_area: float = 0.9             # largest (more is a failed cut),
    speck_area: float = 0.0005        # noise with keep_all_components,
    hole_area: float = 0.003          # holes in the dancer that are filled
    preview: bool = True              # write preview.png (raw frames above their cut)

    def __post_init__(self):
        limits.check_fps("ingest fps", self.fps)
        for name in ("width", "height"):
            limits.check_side(f"ingest {name}", getattr(self, name))
        for name, value, choices in (("fit", self.fit, ("crop", "pad")), ("cut", self.cut, MODES),
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


# --- inputs ---------------------------------------------------------------------------------------
def _natural_key(p: Path):
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", p.name)]


class _Input:
    """One video or image folder: its facts, and its frames as lazily converted handles."""

    def __init__(self, path: Path, fps: float):
        self.path = path
        if path.is_dir():
            self.kind = "images"
            self.files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
                                 and p.is_file()), key=_natural_key)
            if not self.files:
                raise UserError(f"{path} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
            first = self._read(self.files[0])
            self.height, self.width = first.shape[:2]
            self.fps, self.frames, self.audio = float(fps), len(self.files), False
        else:
            if path.suffix.lower() in IMAGE_EXTENSIONS and path.exists():
                raise UserError(f"{path} is a single image: pass the folder of images instead")
            info = video.probe(path)
            if info["frames"] == 0 or info["duration"] == 0:
                raise UserError(f"{path} has no video frames (zero length)")
            self.kind = "video"
            self.width, self.height = info["width"], info["height"]
            self.fps, self.frames, self.audio = info["fps"], info["frames"], info["has_audio"]
            self.duration = info["duration"]
        self.decoded: int | None = None     # frames of a whole decoding pass, once one has run
        self.stopped: str | None = None     # why decoding stopped before the end, if it did

    def facts(self) -> dict:
        return {"path": str(self.path), "kind": self.kind, "width": self.width, "height": self.height,
                "fps": round(self.fps, 3), "frames": self.frames, "audio": self.audio}

    def _read(self, file: Path) -> np.ndarray:
        img = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if img is None:
            raise UserError(f"{file} is not a readable image")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def handles(self) -> Iterator[tuple[float, Any]]:
        """(time in s, handle) for every source frame; `rgb(handle)` decodes one to a picture."""
        if self.kind == "images":
            for i, f in enumerate(self.files):
                yield i / self.fps, f
            return
        with video.open_container(self.path) as c:
            vs = c.streams.video[0]
            vs.thread_type = "AUTO"
            t0 = None
            count = 0
            stopped = None
            try:
                for frame in c.decode(vs):
                    t = float(frame.pts * vs.time_base) if frame.pts is not None else count / self.fps
                    t0 = t if t0 is None else t0
                    count += 1
                    yield t - t0, frame
            except av.error.FFmpegError as e:
                if count == 0:
                    raise UserError(f"{self.path}: decoding failed ({e.__class__.__name__}: {e})") from None
                stopped = f"{e.__class__.__name__}: {e}"  # a cut-off file: what came before it is kept
            if count == 0:
                raise UserError(f"{self.path} has no video frames (zero length)")
            self.decoded, self.stopped = count, stopped

    def truncation(self) -> str | None:
        """After a whole decoding pass: a note when the video gave far fewer frames than it declares
        (a partial download or copy), else None."""
        if self.kind != "video" or self.decoded is None:
            return None
        declared = self.frames or 0
        if self.stopped is None and not self.decoded < declared * (1 - TRUNCATED) - 2:
            return None
        seconds = f" of {self.duration:.3g} s" if self.duration else ""
        why = f" (decoding stopped: {self.stopped})" if self.stopped else ""
        return (f"{self.path} looks truncated: it declares {declared} frames{seconds} but only "
                f"{self.decoded} decode{why}; the store holds those")

    def rgb(self, handle) -> np.ndarray:
        img = self._read(handle) if self.kind == "images" else handle.to_ndarray(format="rgb24")
        if img.shape[:2] != (self.height, self.width):
            if self.kind == "images":
                raise UserError(f"{handle} is {img.shape[1]}x{img.shape[0]} but the folder's first image is "
                                f"{self.width}x{self.height}: all images must have one size")
            img = cv2.resize(img, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return img

    def samples(self, n: int) -> list[np.ndarray]:
        """About n frames spread evenly over the input (decoding all, converting only those)."""
        total = self.frames or sum(1 for _ in self.handles())
        want = set(np.linspace(0, total - 1, min(n, total)).round().astype(int).tolist())
        out = []
        for i, (_, h) in enumerate(self.handles()):
            if i in want:
                out.append(self.rgb(h))
            if i >= max(want):
                break
        if not out:
            raise UserError(f"{self.path} has no video frames (zero length)")
        return out


# --- geometry -------------------------------------------------------------------------------------
@dataclass
class _Geometry:
    region: tuple[int, int, int, int]   # x, y, w, h of the source that is cut
    work: tuple[int, int]               # working size (w, h) of that region
    out: tuple[int, int]
    fit: str
    track: bool

    @classmethod
    def make(cls, inp: _Input, cfg: IngestConfig) -> "_Geometry":
        x, y, w, h = cfg.crop or (0, 0, inp.width, inp.height)
        if x + w > inp.width or y + h > inp.height:
            raise UserError(f"crop {x},{y},{w},{h} reaches outside the {inp.width}x{inp.height} frame of "
                            f"{inp.path}")
        ow, oh = cfg.width, cfg.height
        if not cfg.track and cfg.fit == "crop":
            cw, ch = (w, round(w * oh / ow)) if w * oh <= h * ow else (round(h * ow / oh), h)
            x, y, w, h = x + (w - cw) // 2, y + (h - ch) // 2, cw, ch
        # work at 1.5x to 3x the output (clean anti-aliased edges, cheap to cut), reached by an integer
        # factor: INTER_AREA is ten times faster then; a tracked box is a part of the frame: less shrinking
        if min(w, h) < MIN_REGION:
            raise UserError(f"the part of {inp.path} to cut ({x},{y},{w},{h} after --crop and --fit) is {w}x{h} "
                            f"pixels, too small to cut a dancer from: at least {MIN_REGION} a side")
        k = max(1, int(h / (2.5 * oh)) if cfg.track else int(max(w / ow, h / oh) / 1.5))
        w, h = w - w % k, h - h % k
        return cls((x, y, w, h), (w // k, h // k), (ow, oh), cfg.fit, cfg.track)

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        x, y, w, h = self.region
        part = rgb[y:y + h, x:x + w]
        if (w, h) == self.work:
            return np.ascontiguousarray(part)
        return cv2.resize(part, self.work, interpolation=cv2.INTER_AREA)

    def frame(self, img: np.ndarray, box: tuple[float, float, float, float] | None, fill: int) -> np.ndarray:
        """A working-resolution picture framed to the output: whole (crop/pad fit) or the tracked box."""
        ow, oh = self.out
        if box is not None:
            x0, y0, bw, bh = (int(round(v)) for v in box)
            img = _crop_padded(img, x0, y0, bw, bh, fill)
        elif self.fit == "pad":
            h, w = img.shape[:2]
            s = min(ow / w, oh / h)
            pw, ph = max(1, round(w * s)), max(1, round(h * s))
            canvas = np.full((oh, ow) + img.shape[2:], fill, np.uint8)
            x, y = (ow - pw) // 2, (oh - ph) // 2
            canvas[y:y + ph, x:x + pw] = cv2.resize(img, (pw, ph), interpolation=cv2.INTER_AREA)
            return canvas
        return cv2.resize(img, (ow, oh), interpolation=cv2.INTER_AREA)


def _crop_padded(img: np.ndarray, x: int, y: int, w: int, h: int, fill: int) -> np.ndarray:
    H, W = img.shape[:2]
    out = np.full((h, w) + img.shape[2:], fill, np.uint8)
    sx0, sy0, sx1, sy1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y:sy1 - y, sx0 - x:sx1 - x] = img[sy0:sy1, sx0:sx1]
    return out


# --- sampling with neighbours -----------------------------------------------------------------------
def _windows(handles: Iterator[tuple[float, Any]], fps: float, src_fps: float,
             k: int) -> Iterator[tuple[float, list[tuple[int, Any]], int]]:
    """For each tick of the output clock: (time, [(source index, handle)...], position of the sample).

    The sample is the source frame nearest the tick (within half a source frame); the window holds up
    to k source frames either side of it, for temporal smoothing.
    """
    tol = 0.5 / src_fps
    recent: deque = deque(maxlen=k)
    pending: list[list] = []          # [time, items, centre, still needed after]
    next_t = 0.0
    for idx, (t, h) in enumerate(handles):
        for w in pending:
            if w[3] > 0:
                w[1].append((idx, h))
                w[3] -= 1
        while pending and pending[0][3] <= 0:
            t_, items, c, _ = pending.pop(0)
            yield t_, items, c
        if t + tol >= next_t:
            items = list(recent) + [(idx, h)]
            pending.append([t, items, len(items) - 1, k])
            while next_t <= t + tol:
                next_t += 1.0 / fps
        if k:
            recent.append((idx, h))
    for t_, items, c, _ in pending:
        yield t_, items, c


# --- tracking -------------------------------------------------------------------------------------
class _Tracker:
    """Smooth the dancer's box over a centred window of frames within a clip (a short delay line)."""

    def __init__(self, geo: _Geometry, half: int):
        self.aspect = geo.out[0] / geo.out[1]
        self.half = half
        self.buf: deque = deque()     # (payload, bbox, raw box cx, cy, h)
        self.next = 0                 # index in buf of the next frame to release

    def _raw(self, bbox) -> tuple[float, float, float]:
        x, y, w, h = bbox
        return x + w / 2, y + h / 2, 1.2 * max(h, w / self.aspect)

    def push(self, payload, bbox) -> list:
        self.buf.append((payload, bbox, self._raw(bbox)))
        out = []
        while len(self.buf) - 1 - self.next >= self.half:
            out.append(self._release())
        return out

    def flush(self) -> list:
        out = []
        while self.next < len(self.buf):
            out.append(self._release())
        self.buf.clear()
        self.next = 0
        return out

    def _release(self):
        i = self.next
        lo, hi = max(0, i - self.half), min(len(self.buf), i + self.half + 1)
        raws = np.array([self.buf[j][2] for j in range(lo, hi)])
        cx, cy = raws[:, 0].mean(), raws[:, 1].mean()
        bh = raws[:, 2].max()               # the largest recent size: steady, and it fits
        bw = bh * self.aspect
        payload, (x, y, w, h), _ = self.buf[i]
        # the smoothed box must still hold this frame's dancer: slide it, grow it if need be
        bw, bh = max(bw, w), max(bh, h)
        bw, bh = max(bw, bh * self.aspect), max(bh, bw / self.aspect)
        cx = min(max(cx, x + w - bw / 2), x + bw / 2)
        cy = min(max(cy, y + h - bh / 2), y + bh / 2)
        self.next += 1
        if self.next > self.half:
            self.buf.popleft()
            self.next -= 1
        return payload, (cx - bw / 2, cy - bh / 2, bw, bh)


# --- the store side -------------------------------------------------------------------------------
class _Sink:
    """Frames -> store: batching, clip boundaries, gaps, tracking and the preview strip."""

    def __init__(self, writer: StoreWriter, geo: _Geometry, fps: float):
        self.w = writer
        self.geo = geo
        self.track = _Tracker(geo, max(1, round(fps / 4))) if geo.track else None  # +-1/4 s
        self.batch: list[np.ndarray] = []
        self.gaps: list[dict] = []
        self.clip_starts: list[dict] = []
        self.open = False             # a clip is open: the next frame continues it
        self.input = 0
        self.emitted = 0
        self.preview: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.stride = 1
        self.gap: list | None = None  # [from_s, to_s, frames] of the frames without a dancer so far
        self.kept = 0                 # frames kept from the current input

    def start_input(self, index: int, geo: _Geometry) -> None:
        self.end_clip()
        self.input, self.geo, self.kept = index, geo, 0
        if self.track:
            self.track = _Tracker(geo, self.track.half)

    def add(self, t: float, result, raw: np.ndarray) -> None:
        if result is None:
            self.gap = [t, t, 0] if self.gap is None else self.gap
            self.gap[1:] = t, self.gap[2] + 1
            return
        self._close_gap()
        if not self.open:
            self.clip_starts.append({"input": self.input, "start_s": round(t, 3)})
            self.open = True
        self.kept += 1
        mask, bbox = result
        if self.track:
            for payload, box in self.track.push((mask, raw), bbox):
                self._emit(*payload, box)
        else:
            self._emit(mask, raw, None)

    def end_input(self) -> int:
        self._close_gap()
        self.end_clip()
        return self.kept

    def _close_gap(self) -> None:
        if self.gap is not None:
            self.end_clip()
            start, end, frames = self.gap
            self.gaps.append({"input": self.input, "at_frame": self.w.manifest.frames,
                              "from_s": round(start, 3), "to_s": round(end, 3), "dropped": frames})
            self.gap = None

    def end_clip(self) -> None:
        if self.track:
            for payload, box in self.track.flush():
                self._emit(*payload, box)
        self._write()
        self.w.end_clip()
        self.open = False

    def _emit(self, mask: np.ndarray, raw: np.ndarray, box) -> None:
        frame = 255 - self.geo.frame(mask, box, 0)
        self.batch.append(frame)
        if self.emitted % self.stride == 0:
            self.preview.append((self.emitted, self.geo.frame(raw, box, 255), frame))
            if len(self.preview) >= 4 * PREVIEW:  # keep it small: every other one, twice the stride
                self.stride *= 2
                self.preview = [p for p in self.preview if p[0] % self.stride == 0]
        self.emitted += 1
        if len(self.batch) >= 64:
            self._write()

    def _write(self) -> None:
        if self.batch:
            self.w.append(np.stack(self.batch))
            self.batch = []

    def write_preview(self, path: Path) -> bool:
        if not self.preview:
            return False
        picks = [self.preview[i] for i in np.linspace(0, len(self.preview) - 1,
                                                      min(PREVIEW, len(self.preview))).round().astype(int)]
        gap = 4
        ow, oh = self.geo.out
        sheet = np.full((2 * oh + gap, len(picks) * (ow + gap) - gap, 3), 128, np.uint8)
        for j, (_, raw, cut) in enumerate(picks):
            x = j * (ow + gap)
            sheet[:oh, x:x + ow] = raw
            sheet[oh + gap:, x:x + ow] = cut[..., None]
        return bool(cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)))


# --- the whole thing ------------------------------------------------------------------------------
def _no_dancer(path: Path, cutter: Cutter, which: str) -> UserError:
    hint = "try another --cut mode (threshold, chroma, background, segment)"
    if cutter.mode == "threshold":
        other = "light" if cutter.params["polarity"] == "dark" else "dark"
        hint = f"try --polarity {other}, or {hint}"
    return UserError(f"no dancer found in {path}: {which} blank after the '{cutter.mode}' cut; {hint}")


def ingest(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, *, cfg: IngestConfig | None = None,
           force: bool = False, progress: bool = True) -> FrameStore:
    """Cut the dancer out of videos / image folders into a new frame store at `out`."""
    cfg = cfg or IngestConfig()
    out = Path(out)
    paths = [Path(p) for p in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)]
    if not paths:
        raise UserError("no input: give at least one video or folder of images")
    # everything that can be checked is checked before any decoding
    check_not_overlapping(out, paths)  # with --force the inputs would be deleted
    check_new_folder(out, force=force)
    check_writable_dir(out.parent)
    if cfg.cut == "segment":
        mediapipe_solutions()   # a broken install fails here, not after decoding
    for p in paths:
        if not p.exists():
            raise UserError(f"no such file or folder: {p}")
    sources = [_Input(p, cfg.fps) for p in paths]
    geos = [_Geometry.make(s, cfg) for s in sources]
    fps = min([cfg.fps] + [s.fps for s in sources if s.kind == "video"])
    if fps < cfg.fps - 1e-6:
        slowest = min((s for s in sources if s.kind == "video"), key=lambda s: s.fps)
        say(f"note: asked for {cfg.fps:g} fps but {slowest.path.name} gives only {fps:g} fps; "
            f"sampling at {fps:g} fps")

    source_info = {"inputs": [s.facts() for s in sources], "fps_requested": cfg.fps, "fit": cfg.fit,
                   "crop": list(cfg.crop) if cfg.crop else None, "track": cfg.track}
    with StoreWriter(out, width=cfg.width, height=cfg.height, fps=fps, packed=cfg.packed,
                     source=source_info, force=force) as writer:
        sink = _Sink(writer, geos[0], fps)
        cuts = []
        for i, (src, geo) in enumerate(zip(sources, geos)):
            samples = [geo.prepare(s) for s in src.samples(SAMPLES)]
            cutter, reason = make_cutter(cfg.cut, samples, polarity=cfg.polarity, limits=cfg.limits)
            if not any(dancer_share(cutter, samples, cfg.limits)):  # fail before the long pass
                raise _no_dancer(src.path, cutter, f"all {len(samples)} frames sampled across it are")
            say(f"{src.path.name}: cut '{cutter.mode}' ({reason})")
            cuts.append({"path": str(src.path), "mode": cutter.mode, "reason": reason, "params": cutter.params})
            sink.start_input(i, geo)
            _cut_input(src, geo, cutter, cfg, fps, sink, progress)
            if sink.end_input() == 0:
                raise _no_dancer(src.path, cutter, "every frame is")
            note = src.truncation()
            if note:
                say(f"note: {note}")
                writer.manifest.source["inputs"][i].update(decoded_frames=src.decoded, truncated=True)
                writer.manifest.extra.setdefault("notes", []).append(note)

        modes = {c["mode"] for c in cuts}
        writer.manifest.cut = {**({k: cuts[0][k] for k in ("mode", "reason", "params")} if len(modes) == 1
                                  else {"mode": "mixed", "reason": "chosen per input"}),
                               "smooth": cfg.smooth, "keep_all_components": cfg.keep_all_components,
                               "track": cfg.track, "limits": {k: getattr(cfg, k) for k in
                                                              ("min_area", "max_area", "speck_area", "hole_area")}}
        if len(cuts) > 1:
            writer.manifest.cut["inputs"] = cuts
        writer.manifest.extra["gaps"] = sink.gaps
        writer.manifest.extra["clip_starts"] = sink.clip_starts
        if cfg.preview and sink.write_preview(writer.file("preview.png")):
            writer.manifest.extra["preview"] = "preview.png"
        if len(sources) == 1 and sources[0].audio:
            video.extract_audio(sources[0].path, writer.file("music.wav"))
            writer.manifest.audio = "music.wav"
        elif len(sources) > 1 and any(s.audio for s in sources):
            say("note: several inputs, so no music is kept (one soundtrack cannot follow several clips)")
    return FrameStore.open(out)


def _cut_input(src: _Input, geo: _Geometry, cutter: Cutter, cfg: IngestConfig, fps: float,
               sink: _Sink, progress: bool) -> None:
    k = min(cfg.smooth // 2, int(SMOOTH_SPAN * src.fps + 1e-9))
    # the sample outweighs its neighbours together: they settle its uncertain pixels (flicker) but never
    # overrule a confident one (a fast limb)
    weights = {d: 1 if d else 2 * k + 1 for d in range(-k, k + 1)}
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}   # source index -> (working frame, score)
    lim = cfg.limits
    total = round(src.frames * fps / src.fps) if src.frames else None
    with tqdm(total=total, desc=src.path.name, unit="frame", disable=not progress, file=sys.stderr,
              leave=False) as bar:
        for t, items, c in _windows(src.handles(), fps, src.fps, k):
            centre = items[c][0]
            for idx, h in items:
                if idx not in cache:
                    work = geo.prepare(src.rgb(h))
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
            sink.add(t, clean(mask, lim), raw)
            bar.update(1)
