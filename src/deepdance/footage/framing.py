"""Where the store's frame lies in the source: crop / pad to the output, a tracked box, the joints mapped alike.

`Geometry` takes a source frame to working resolution (`prepare`) and a working picture to the store's
frame (`frame`); `to_store` sends joints (source pixels) through the same steps, so a stored pose lies on
its stored frame. `Tracker` smooths the tracked box; `windows` pairs the output clock with source frames.
`default_size`, `stage_crop` and `choose_fit` are the framing defaults: the source's orientation, the stage a far
dancer uses, and padding instead of cropping when a crop would cut off the dancer's head or feet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import cv2
import numpy as np

from ..errors import UserError
from ..pose.skeleton import INDEX
from .inputs import Input

MIN_REGION = 16       # pixels a side: the least of a source frame the cut can work on (after --crop and --fit)


# --- geometry -------------------------------------------------------------------------------------
@dataclass
class Geometry:
    region: tuple[int, int, int, int]   # x, y, w, h of the source that is cut
    work: tuple[int, int]               # working size (w, h) of that region
    out: tuple[int, int]
    fit: str
    track: bool

    @classmethod
    def make(cls, inp: Input, *, size: tuple[int, int], fit: str, crop: tuple[int, int, int, int] | None,
             track: bool) -> "Geometry":
        x, y, w, h = crop or (0, 0, inp.width, inp.height)
        if x + w > inp.width or y + h > inp.height:
            raise UserError(f"crop {x},{y},{w},{h} reaches outside the {inp.width}x{inp.height} frame of "
                            f"{inp.path}")
        ow, oh = size
        if not track and fit == "crop":
            cw, ch = (w, round(w * oh / ow)) if w * oh <= h * ow else (round(h * ow / oh), h)
            x, y, w, h = x + (w - cw) // 2, y + (h - ch) // 2, cw, ch
        # work at 1.5x to 3x the output (clean anti-aliased edges, cheap to cut), reached by an integer
        # factor: INTER_AREA is ten times faster then; a tracked box is a part of the frame: less shrinking
        if min(w, h) < MIN_REGION:
            raise UserError(f"the part of {inp.path} to cut ({x},{y},{w},{h} after --crop and --fit) is {w}x{h} "
                            f"pixels, too small to cut a dancer from: at least {MIN_REGION} a side")
        k = max(1, int(h / (2.5 * oh)) if track else int(max(w / ow, h / oh) / 1.5))
        w, h = w - w % k, h - h % k
        return cls((x, y, w, h), (w // k, h // k), (ow, oh), fit, track)

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
            img = crop_padded(img, x0, y0, bw, bh, fill)
        elif self.fit == "pad":
            h, w = img.shape[:2]
            s = min(ow / w, oh / h)
            pw, ph = max(1, round(w * s)), max(1, round(h * s))
            canvas = np.full((oh, ow) + img.shape[2:], fill, np.uint8)
            x, y = (ow - pw) // 2, (oh - ph) // 2
            canvas[y:y + ph, x:x + pw] = cv2.resize(img, (pw, ph), interpolation=cv2.INTER_AREA)
            return canvas
        return cv2.resize(img, (ow, oh), interpolation=cv2.INTER_AREA)

    def to_work(self, joints2d: np.ndarray) -> np.ndarray:
        """Joints (..., J, 3) in source pixels -> working pixels (the picture `prepare` makes)."""
        x, y, w, h = self.region
        out = np.array(joints2d, np.float32, copy=True)
        out[..., 0] = (out[..., 0] - x) * (self.work[0] / w)
        out[..., 1] = (out[..., 1] - y) * (self.work[1] / h)
        return out

    def to_store(self, joints2d: np.ndarray, box: tuple[float, float, float, float] | None) -> np.ndarray:
        """Joints (J, 3) in source pixels -> the store's pixels, as `frame(prepare(rgb), box)` moves the picture.

        A joint that falls outside the stored frame keeps its position and gets confidence 0: not seen."""
        out = self.to_work(joints2d)
        ow, oh = self.out
        ww, wh = self.work
        if box is not None:
            x0, y0, bw, bh = (int(round(v)) for v in box)
            out[:, 0] = (out[:, 0] - x0) * (ow / bw)
            out[:, 1] = (out[:, 1] - y0) * (oh / bh)
        elif self.fit == "pad":
            s = min(ow / ww, oh / wh)
            pw, ph = max(1, round(ww * s)), max(1, round(wh * s))
            out[:, 0] = out[:, 0] * (pw / ww) + (ow - pw) // 2
            out[:, 1] = out[:, 1] * (ph / wh) + (oh - ph) // 2
        else:
            out[:, 0] *= ow / ww
            out[:, 1] *= oh / wh
        inside = (out[:, 0] >= 0) & (out[:, 0] < ow) & (out[:, 1] >= 0) & (out[:, 1] < oh)
        out[~inside, 2] = 0.0
        return out


FULL_BODY = ("nose", "l_ankle", "r_ankle")
MARGIN = 0.02         # of the picture's height: a joint this near the crop's edge counts as cut off


def default_size(width: int, height: int, size: tuple[int, int]) -> tuple[int, int]:
    """The store's (width, height) for a source: `size` turned to the source's orientation (portrait in,
    portrait out)."""
    a, b = max(size), min(size)
    return (b, a) if height > width else (a, b)


def choose_fit(inp: Input, size: tuple[int, int], crop, poses: Sequence[np.ndarray | None]) -> tuple[str, str]:
    """'crop' unless cropping the source to the store's aspect would cut off the dancer's head or feet in a
    sample frame's skeleton (`poses`, source pixels), then 'pad': (fit, why)."""
    geo = Geometry.make(inp, size=size, fit="crop", crop=crop, track=False)
    x, y, w, h = geo.region
    m = MARGIN * h
    idx = [INDEX[n] for n in FULL_BODY]
    cut = 0
    seen = 0
    for p in poses:
        if p is None:
            continue
        j = p[idx]
        ok = (j[:, 2] >= 0.5) & np.isfinite(j[:, :2]).all(-1)
        if not ok.any():
            continue
        seen += 1
        jx, jy = j[ok, 0], j[ok, 1]
        cut += bool(((jx < x + m) | (jx > x + w - m) | (jy < y + m) | (jy > y + h - m)).any())
    if cut:
        return "pad", (f"cropping to {size[0]}x{size[1]} would cut off head or feet in {cut} of {seen} sample "
                       f"frames, so the frame is padded")
    return "crop", "cropped to the store's aspect: head and feet stay inside in every sample frame"


# A dancer far from the camera fills little of the picture and is drawn small in the store: the store frames the
# stage she uses instead, where that is at least STAGE_ZOOM times smaller than the picture. The built-in dancer at
# 0.42 of a room's height: 68% of it, her silhouettes read as a person 0.77 -> 0.99; the real portrait clip shrunk
# to 0.45 of a portrait room picture: 79% of it (at the sides 0.4 of her height kept all of it).
STAGE_ZOOM = 1.2
STAGE_SIDE, STAGE_TOP, STAGE_FLOOR = 0.3, 0.4, 0.12   # of her height: room to step aside, jump, and the feet
STAGE_SEEN = 0.5      # of the samples must show her skeleton


def stage_crop(inp: Input, size: tuple[int, int], poses: Sequence[np.ndarray | None]
               ) -> tuple[tuple[int, int, int, int] | None, str]:
    """The part of the source the dancer uses: every seen joint of the sample frames' skeletons (`poses`,
    source pixels), widened by STAGE_SIDE / STAGE_TOP / STAGE_FLOOR of her height and to the store's aspect,
    as (x, y, w, h) where the picture is STAGE_ZOOM times its height or more, else None; and why."""
    boxes = []
    for p in poses:
        if p is None:
            continue
        j = p[(p[:, 2] >= 0.5) & np.isfinite(p[:, :2]).all(-1), :2]
        if len(j) >= 2:
            boxes.append([*j.min(0), *j.max(0)])
    if len(boxes) < STAGE_SEEN * max(1, len(poses)):
        return None, "too few samples show her skeleton to frame her stage"
    b = np.array(boxes)
    tall = float(np.percentile(b[:, 3] - b[:, 1], 90))
    x0, y0 = b[:, 0].min() - STAGE_SIDE * tall, b[:, 1].min() - STAGE_TOP * tall
    x1, y1 = b[:, 2].max() + STAGE_SIDE * tall, b[:, 3].max() + STAGE_FLOOR * tall
    aspect = size[0] / size[1]
    w, h = max(x1 - x0, (y1 - y0) * aspect), max(y1 - y0, (x1 - x0) / aspect)
    zoom = inp.height / h
    if zoom < STAGE_ZOOM or w > inp.width:
        return None, f"she fills {1 / zoom:.0%} of the picture's height with room to move: the whole picture is kept"
    w, h = int(np.ceil(w)), int(np.ceil(h))
    x = int(np.clip(round((x0 + x1 - w) / 2), 0, inp.width - w))
    y = int(np.clip(round((y0 + y1 - h) / 2), 0, inp.height - h))
    return (x, y, w, h), (f"she uses only {1 / zoom:.0%} of the picture's height: framed to the stage she dances on, "
                          f"{w}x{h} at {x},{y} (--crop or --fit to choose)")


def crop_padded(img: np.ndarray, x: int, y: int, w: int, h: int, fill: int) -> np.ndarray:
    H, W = img.shape[:2]
    out = np.full((h, w) + img.shape[2:], fill, np.uint8)
    sx0, sy0, sx1, sy1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y:sy1 - y, sx0 - x:sx1 - x] = img[sy0:sy1, sx0:sx1]
    return out


# --- sampling with neighbours -----------------------------------------------------------------------
def windows(handles: Iterator[tuple[float, Any]], fps: float, src_fps: float,
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
class Tracker:
    """Smooth the dancer's box over a centred window of frames within a clip (a short delay line)."""

    def __init__(self, geo: Geometry, half: int):
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
