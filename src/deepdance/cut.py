"""Frame -> silhouette: the cut modes, the automatic choice between them, and mask cleaning.

Every cutter works on RGB uint8 frames at working resolution and returns a *score* picture
(uint8, >= 128 means dancer) rather than a hard mask, so that scores of neighbouring frames can be
averaged before thresholding (less flicker). `clean` then turns a hard mask into one dancer.

    threshold   shadow dance: Otsu threshold on grey, polarity from the border
    chroma      green or blue screen: colour-difference key, key colour from the border
    background  static (or slowly drifting) camera: background learnt from the clip, shadow-aware
    segment     person segmentation with mediapipe's selfie segmenter (in the normal install)
    auto        picks one of the above from sample frames and says why
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from .errors import UserError
from .pose.estimator import mediapipe_solutions

MODES = ("auto", "threshold", "chroma", "background", "segment")
POLARITIES = ("auto", "dark", "light")

_K3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_K5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


# --- small helpers --------------------------------------------------------------------------------
def border_pixels(img: np.ndarray, frac: float = 0.05) -> np.ndarray:
    """Pixels of the outer band of a picture (rows of channels, or a flat array for grey)."""
    h, w = img.shape[:2]
    b = max(1, int(round(min(h, w) * frac)))
    parts = [img[:b], img[-b:], img[b:-b, :b], img[b:-b, -b:]]
    tail = img.shape[2:]
    return np.concatenate([p.reshape(-1, *tail) for p in parts])


def otsu(values: np.ndarray) -> tuple[int, float, float, float]:
    """Otsu threshold of uint8 values: (t, separability eta in [0, 1], mean below, mean above).

    Class 0 is values <= t. eta = between-class / total variance: near 1 for a clean two-tone picture.
    """
    hist = np.bincount(np.asarray(values, np.uint8).ravel(), minlength=256).astype(np.float64)
    p = hist / max(hist.sum(), 1)
    levels = np.arange(256)
    omega = np.cumsum(p)
    mu = np.cumsum(p * levels)
    total_mu = mu[-1]
    total_var = float((p * (levels - total_mu) ** 2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mu * omega - mu) ** 2 / (omega * (1 - omega))
    between = np.nan_to_num(between[:-1])
    # with empty bins between the classes the optimum is a plateau: take its middle, not its start
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))
    t = int(best[np.searchsorted(best, (best[0] + best[-1]) / 2)]) if best.size else 0
    eta = float(between[t] / total_var) if total_var > 0 else 0.0
    lo = float(mu[t] / omega[t]) if omega[t] > 0 else 0.0
    hi = float((total_mu - mu[t]) / (1 - omega[t])) if omega[t] < 1 else 255.0
    return t, eta, lo, hi


def _ramp(centre: float, width: float, rising: bool) -> np.ndarray:
    """A 256-entry LUT: score 128 at `centre`, saturating `width` grey levels either side."""
    x = np.arange(256, dtype=np.float32)
    slope = 128.0 / max(width, 1.0)
    s = 128 + (x - centre) * slope if rising else 128 + (centre - x) * slope
    return np.clip(np.round(s), 0, 255).astype(np.uint8)


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _fill(rgb: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, float]:
    """The picture with its `hidden` pixels filled in smoothly from around them, and how far a real
    background strays from such a fill: its texture, the median distance of the picture from a blur of it."""
    filled = cv2.inpaint(rgb, hidden.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    f = filled.astype(np.float32)
    return filled, float(np.median(np.linalg.norm(f - cv2.GaussianBlur(f, (0, 0), 2), axis=-1)))


# --- the cutters ----------------------------------------------------------------------------------
class Cutter:
    mode = ""

    def score(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (H, W) score of an RGB frame; >= 128 means dancer."""
        raise NotImplementedError

    @property
    def params(self) -> dict:
        return {}


class ThresholdCutter(Cutter):
    """The shadow-dance rule: one grey threshold for the clip (Otsu), polarity from the border."""

    mode = "threshold"

    def __init__(self, threshold: int, dark: bool, width: float = 8.0):
        self.threshold, self.dark = int(threshold), bool(dark)
        # a pixel equal to the Otsu threshold belongs to the lower class
        self._lut = _ramp(threshold + 0.5, width, rising=not dark)

    @classmethod
    def fit(cls, samples: Sequence[np.ndarray], polarity: str = "auto") -> "ThresholdCutter":
        greys = [_grey(s) for s in samples]
        t, _, lo, hi = otsu(np.concatenate([g.ravel() for g in greys]))
        if polarity == "auto":
            light_border = float(np.mean(np.concatenate([border_pixels(g) for g in greys]) > t))
            dark = light_border >= 0.5  # the background is what fills the border
        else:
            dark = polarity == "dark"
        return cls(t, dark, width=max(4.0, 0.15 * (hi - lo)))

    def score(self, rgb: np.ndarray) -> np.ndarray:
        return cv2.LUT(_grey(rgb), self._lut)

    @property
    def params(self) -> dict:
        return {"threshold": self.threshold, "polarity": "dark" if self.dark else "light"}


class ChromaCutter(Cutter):
    """Colour-difference key: d = key channel - max(other two), high on the screen, ~0 on the dancer.

    The threshold sits between the dancer and the screen's key strength, so mild spill (greenish hair
    and edges, d well below the screen's) stays with the dancer and shadows on the screen (d lower but
    still clearly positive) stay background.
    """

    mode = "chroma"
    _CHANNEL = {"green": 1, "blue": 2}

    def __init__(self, key: str, threshold: float, key_strength: float, hue: int):
        self.key, self.threshold, self.key_strength, self.hue = key, float(threshold), float(key_strength), int(hue)
        self._ch = self._CHANNEL[key]
        self._lut = _ramp(threshold, max(3.0, 0.2 * key_strength), rising=False)

    @staticmethod
    def screen(samples: Sequence[np.ndarray]) -> tuple[str | None, float, int]:
        """(key 'green'/'blue' or None, fraction of border pixels of that key, dominant border hue)."""
        hsv = np.concatenate([border_pixels(cv2.cvtColor(s, cv2.COLOR_RGB2HSV)) for s in samples])
        vivid = (hsv[:, 1] >= 50) & (hsv[:, 2] >= 40)
        if not vivid.any():
            return None, 0.0, -1
        hue = int(np.argmax(np.bincount(hsv[vivid, 0], minlength=180)))
        for key, (a, b) in (("green", (35, 85)), ("blue", (90, 130))):
            if a <= hue <= b:
                on_key = vivid & (hsv[:, 0] >= a) & (hsv[:, 0] <= b)
                return key, float(on_key.mean()), hue
        return None, 0.0, hue

    @classmethod
    def fit(cls, samples: Sequence[np.ndarray]) -> "ChromaCutter":
        key, share, hue = cls.screen(samples)
        if key is None:
            seen = f"dominant hue {hue * 2} degrees" if hue >= 0 else "no vivid colour"
            raise UserError(f"cut mode 'chroma': the border of the picture is not a green or blue screen "
                            f"({seen}); try --cut background or --cut auto")
        ch = cls._CHANNEL[key]
        d = np.concatenate([cls._difference(s, ch).ravel() for s in samples])
        key_strength = float(np.median(np.concatenate([border_pixels(cls._difference(s, ch)) for s in samples])))
        if key_strength < 8:
            raise UserError(f"cut mode 'chroma': the {key} screen is too dull to key (strength {key_strength:.0f})")
        t, *_ = otsu(d)
        t = float(np.clip(t, 0.25 * key_strength, 0.65 * key_strength))
        return cls(key, t, key_strength, hue)

    @staticmethod
    def _difference(rgb: np.ndarray, ch: int) -> np.ndarray:
        planes = cv2.split(rgb)
        others = [planes[i] for i in range(3) if i != ch]
        return cv2.subtract(planes[ch], cv2.max(*others))

    def score(self, rgb: np.ndarray) -> np.ndarray:
        return cv2.LUT(self._difference(rgb, self._ch), self._lut)

    @property
    def params(self) -> dict:
        return {"key": self.key, "hue_degrees": self.hue * 2, "key_strength": round(self.key_strength, 1),
                "threshold": round(self.threshold, 1)}


class BackgroundCutter(Cutter):
    """Static camera: the background is learnt from aligned sample frames of the clip itself.

    A pixel is background when it lies near the segment {s * background : s in [shadow, 1]} in RGB:
    shadows darken the background without changing its colour, so they are not the dancer.
    Each frame is first aligned to the background (phase correlation), which tolerates drift.

    Learning it: per pixel the samples fall into groups of alike colours. Where the dancer only passes by,
    the largest group is the background; where she dwells, her clothes can be the largest group. So within
    her zone the largest group that fits the background around the zone is taken first, then, cutting the
    samples with that background, the group seen most often outside her. Where she hid a pixel in every
    sample, the background is filled in from around it and compared with a tolerance as wide as its texture.
    """

    mode = "background"
    SHADOW = 0.6  # darkest shadow still taken as background (fraction of the lit background)
    BRIGHTER = 1.08
    ALIKE = 12    # largest difference (per channel) between two samples of one colour
    GROUPS = 3    # colours told apart per pixel
    STRAY = 0.1   # where more of the samples than this stray from their median, the dancer comes by
    FAR = 24.0    # a group farther than this (plus 3x the texture) from the background around her is hers
    REFITS = 2    # cutting the samples with a better background finds the dancer better: twice
    CLOSE = 0.06  # gaps in the outline of her zone closed up to this fraction of the frame's height

    def __init__(self, background: np.ndarray, noise: float, slack: np.ndarray | float = 0.0,
                 zone: np.ndarray | None = None):
        """`slack`: extra tolerance per pixel (where the background is filled in); `zone`: where the dancer
        goes, left out of the alignment."""
        self.background = background
        self.noise = float(noise)
        self.shifts: list[tuple[float, float]] = []
        self.unsettled = 0.0  # share of the frame where the background shows in fewer than 2 samples
        bg = background.astype(np.float32)
        self._bg = bg
        self._inv_bb = 1.0 / ((bg * bg).sum(-1) + 1.0)
        grey = _grey(background)
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
        # texture edges move under sub-pixel drift and compression: tolerate a pixel's shift there (two
        # pixels' tolerance let dark legs over a dim, textured floor pass for background)
        tol = max(10.0, 3.0 * self.noise) + cv2.magnitude(gx, gy) / 8.0 + slack
        self._scale = 128.0 / tol
        self._align = _Aligner(background, zone)

    @classmethod
    def fit(cls, samples: Sequence[np.ndarray]) -> "BackgroundCutter":
        if len(samples) < 3:
            raise UserError("cut mode 'background' needs a clip of at least 3 frames to learn the background")
        stack, zone = np.stack(samples), None
        # the median of unaligned frames has no dancer in it where she only passes by, so it is a fair
        # reference for aligning the frames; her motion still pulls the estimate, so align again blind to her zone
        for _ in range(2):
            ref = np.median(stack, axis=0).astype(np.uint8)
            align = _Aligner(ref, zone)
            shifts = [align.shift(s) for s in samples]
            stack = np.stack([align.unshift(s, d) for s, d in zip(samples, shifts)])
            zone = cls._zone(stack, ref)
        means, members = cls._groups(stack)
        pick, unseen = cls._by_zone(means, members, zone)
        for _ in range(cls.REFITS):
            pick, unseen = cls._by_cut(cls._model(stack, means, members, pick, unseen, zone), stack, members)
        cutter = cls._model(stack, means, members, pick, unseen, zone)
        cutter.shifts = [(round(dx, 2), round(dy, 2)) for dx, dy in shifts]
        return cutter

    @classmethod
    def _zone(cls, stack: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """Where the dancer goes: bool (H, W) where the samples often stray from `ref`, their median.

        Texture edges that flicker under drift and compression are thin and opened away. Where she stands
        still her clothes are the median, but where she moves cuts them off from the background: every
        piece of the rest smaller than the zone is hers (a larger one is background she goes round).
        """
        stray = np.zeros(ref.shape[:2], np.uint8)
        for s in stack:
            # twice as loose as for two samples: the first median, of frames not yet aligned, is soft
            alike = cv2.inRange(cv2.absdiff(s, ref), (0, 0, 0), (2 * cls.ALIKE,) * 3)
            cv2.add(stray, 1, dst=stray, mask=255 - alike)
        zone = cv2.morphologyEx((stray > cls.STRAY * len(stack)).astype(np.uint8), cv2.MORPH_OPEN, _K5)
        # where she barely moves, the stray outline of her has gaps through which her clothes join the
        # background around: close them (640x360, 6 s: her torso became background, IoU 0.11)
        r = max(2, round(cls.CLOSE * zone.shape[0]))
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        zone = cv2.morphologyEx(zone, cv2.MORPH_CLOSE, disk)
        _, label, stats, _ = cv2.connectedComponentsWithStats(1 - zone, connectivity=4)
        area = stats[:, cv2.CC_STAT_AREA]
        area[0] = 0  # label 0 is the zone itself
        pieces = np.flatnonzero((area > 0) & (area < zone.sum()) & (area < area.max()))
        return (zone > 0) | np.isin(label, pieces)

    @classmethod
    def _groups(cls, stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel, GROUPS groups of alike samples, largest first: mean colours (G, H, W, 3) and
        members (G, n, H, W) (a group may be empty).

        Each group gathers the samples alike to the sample with most alike samples not yet in a group.
        """
        n = len(stack)
        lo, hi = (0, 0, 0), (cls.ALIKE,) * 3
        free = np.full(stack.shape[:3], 255, np.uint8)
        means, members = [], []
        for _ in range(cls.GROUPS):
            counts = np.zeros(stack.shape[:3], np.uint8)
            for i in range(n):
                cv2.add(counts[i], 1, dst=counts[i], mask=free[i])
                for j in range(i + 1, n):
                    alike = cv2.inRange(cv2.absdiff(stack[i], stack[j]), lo, hi)
                    cv2.add(counts[i], 1, dst=counts[i], mask=cv2.bitwise_and(alike, free[j]))
                    cv2.add(counts[j], 1, dst=counts[j], mask=cv2.bitwise_and(alike, free[i]))
            counts[free == 0] = 0
            centre = np.take_along_axis(stack, counts.argmax(0)[None, ..., None], axis=0)[0]
            member = np.stack([cv2.bitwise_and(cv2.inRange(cv2.absdiff(s, centre), lo, hi), fr)
                               for s, fr in zip(stack, free)]) > 0
            size = member.sum(0)
            means.append((stack * member[..., None]).sum(0, dtype=np.float32) / np.maximum(size, 1)[..., None])
            members.append(member)
            free[member] = 0
        return np.stack(means), np.stack(members)

    @classmethod
    def _by_zone(cls, means: np.ndarray, members: np.ndarray,
                 zone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A first choice of group per pixel (G-index), and where none is the background: outside the
        zone the largest group, within it the largest that fits the background around the zone."""
        size = members.sum(1)
        around, texture = _fill(np.clip(means[0], 0, 255).astype(np.uint8), zone)
        fits = (np.linalg.norm(means - around.astype(np.float32), axis=-1) <= cls.FAR + 3 * texture) & (size > 0)
        pick = np.where(zone, np.where(fits, size, -1).argmax(0), 0)
        return pick, zone & ~np.take_along_axis(fits, pick[None], axis=0)[0]

    @staticmethod
    def _by_cut(cutter: "BackgroundCutter", stack: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel the group seen most often outside the dancer as `cutter` cuts the samples, and where
        every group is hidden by her (a hole in her counts as hidden: it is where she stands still)."""
        hidden = np.zeros(stack.shape[:3], bool)
        for s, h in zip(stack, hidden):
            r = clean(np.where(cutter._distance_score(s) >= 128, np.uint8(255), np.uint8(0)),
                      Limits(hole_area=1.0))
            if r is not None:
                h[:] = cv2.dilate(r[0], _K5, iterations=2) > 0  # her blurred edge too
        outside = (members & ~hidden).sum(1)
        return outside.argmax(0), outside.max(0) == 0

    @classmethod
    def _model(cls, stack: np.ndarray, means: np.ndarray, members: np.ndarray, pick: np.ndarray,
               unseen: np.ndarray, zone: np.ndarray) -> "BackgroundCutter":
        """The cutter whose background is group `pick` of each pixel, filled in from around where unseen."""
        base = np.take_along_axis(means, pick[None, ..., None], axis=0)[0]
        member = np.take_along_axis(members, pick[None, None], axis=0)[0] & ~unseen
        f = stack.astype(np.float32)
        noise = float(np.median(np.linalg.norm(f - base, axis=-1)[member])) if member.any() else 0.0
        # where the dancer's shadow lingers the group may be the shadowed colour: per pixel, take the second
        # brightest (against noise) of the samples that keep its colour, lit or shadowed. Too bright costs
        # little (a frame may be darker, as in shadow), too dark loses a dark dancer.
        a = (f * base).sum(-1) / ((base * base).sum(-1) + 1.0)
        off = np.linalg.norm(f - a[..., None] * base, axis=-1)
        fits = (off < max(10.0, 3.0 * noise)) & (a >= cls.SHADOW) & (a <= 1.0 / cls.SHADOW)
        a = np.sort(np.where(fits, a, np.nan), axis=0)  # NaN sorts last
        count = fits.sum(0)
        second = np.maximum(count - 2, 0)[None]
        lit = np.where((count > 0) & ~unseen, np.take_along_axis(a, second, axis=0)[0], 1.0)
        background = np.clip(base * lit[..., None], 0, 255).round().astype(np.uint8)
        slack = 0.0
        if unseen.any():
            background, texture = _fill(background, unseen)
            slack = np.where(unseen, 3.0 * texture, 0.0).astype(np.float32)  # the real one is as textured
        cutter = cls(background, noise, slack, zone)
        cutter.unsettled = float(np.mean(member.sum(0) < 2))
        return cutter

    def _distance_score(self, rgb: np.ndarray) -> np.ndarray:
        f = rgb.astype(np.float32)
        b = self._bg
        a = (f * b).sum(-1) * self._inv_bb
        gain = float(np.clip(np.median(a[::4, ::4]), 0.5, 2.0))  # global exposure change
        f /= gain
        a /= gain
        np.clip(a, self.SHADOW, self.BRIGHTER, out=a)
        f -= a[..., None] * b
        dist = np.sqrt((f * f).sum(-1))
        # a blurred edge is half dancer where it is half as far from the background as the dancer beside
        # it: the cut runs there, as the other cuts' thresholds do, not where the edge leaves the noise
        half = 256.0 * dist / (cv2.dilate(dist, _K5) + 1e-3)
        return np.clip(np.minimum(dist * self._scale, half), 0, 255).astype(np.uint8)

    def score(self, rgb: np.ndarray) -> np.ndarray:
        dx, dy = self._align.shift(rgb)
        # compared in the background's place, then moved back: the mask stays on the frame's dancer
        score = self._distance_score(self._align.unshift(rgb, (dx, dy)))
        return self._align.unshift(score, (-dx, -dy))

    @property
    def params(self) -> dict:
        drift = max((max(abs(dx), abs(dy)) for dx, dy in self.shifts), default=0.0)
        return {"noise": round(self.noise, 2), "max_drift_px": round(float(drift), 2),
                "unsettled_share": round(self.unsettled, 4)}


class _Aligner:
    """Camera drift against a reference: phase correlation on a half-size grey copy, searched only
    within a few percent of the frame so that the dancer's own motion cannot win, and blind to `ignore`
    (where the dancer goes: her motion would pull the estimate)."""

    def __init__(self, ref: np.ndarray, ignore: np.ndarray | None = None):
        g = self._grey(ref)
        self._g = g
        self._win = cv2.createHanningWindow(g.shape[::-1], cv2.CV_32F)
        if ignore is not None:
            half = cv2.resize(ignore.astype(np.float32), g.shape[::-1], interpolation=cv2.INTER_AREA) > 0
            self._win *= 1 - cv2.GaussianBlur(cv2.dilate(half.astype(np.float32), _K5), (0, 0), 2)
        self._ref = np.conj(np.fft.rfft2(g * self._win))
        h, w = g.shape
        self._r = r = max(3, int(0.04 * max(h, w)))
        # the shift is checked on the outer band, where the background shows most of the time
        self._band = np.zeros((h, w), bool)
        bh, bw = max(r + 2, int(0.15 * h)), max(r + 2, int(0.15 * w))
        self._band[r:bh, r:w - r] = self._band[h - bh:h - r, r:w - r] = True
        self._band[r:h - r, r:bw] = self._band[r:h - r, w - bw:w - r] = True

    @staticmethod
    def _grey(rgb: np.ndarray) -> np.ndarray:
        g = cv2.resize(_grey(rgb), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA).astype(np.float32)
        return g - g.mean()

    def shift(self, rgb: np.ndarray) -> tuple[float, float]:
        """(dx, dy) in full-size pixels by which `rgb`'s content is moved from the reference."""
        g = self._grey(rgb)
        cross = self._ref * np.fft.rfft2(g * self._win)
        corr = np.fft.irfft2(cross / (np.abs(cross) + 1e-6), s=g.shape)
        r = self._r
        near = np.roll(corr, (r, r), axis=(0, 1))[: 2 * r + 1, : 2 * r + 1]  # shifts -r..r, zero at [r, r]
        y, x = np.unravel_index(int(np.argmax(near)), near.shape)
        y, x = min(max(y, 1), 2 * r - 1), min(max(x, 1), 2 * r - 1)
        patch = near[y - 1:y + 2, x - 1:x + 2]
        patch = patch - patch.min()
        total = patch.sum() + 1e-9
        dx = x - r + (patch.sum(0) @ np.array([-1.0, 0.0, 1.0])) / total
        dy = y - r + (patch.sum(1) @ np.array([-1.0, 0.0, 1.0])) / total
        # a plain backdrop has nothing to lock on to: keep a shift only if it really matches better
        moved = self.unshift(g, (dx, dy))
        if np.abs(moved - self._g)[self._band].mean() > 0.95 * np.abs(g - self._g)[self._band].mean():
            return 0.0, 0.0
        return 2.0 * dx, 2.0 * dy

    @staticmethod
    def unshift(rgb: np.ndarray, d: tuple[float, float]) -> np.ndarray:
        dx, dy = d
        if abs(dx) < 0.2 and abs(dy) < 0.2:
            return rgb
        m = np.float32([[1, 0, -dx], [0, 1, -dy]])
        return cv2.warpAffine(rgb, m, rgb.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class SegmentCutter(Cutter):
    """Person segmentation with mediapipe's selfie segmenter (the tflite model ships in its wheel)."""

    mode = "segment"

    def __init__(self):
        # model 1 ("landscape") is the faster one and suits wide dance frames
        self._seg = mediapipe_solutions().selfie_segmentation.SelfieSegmentation(model_selection=1)

    def score(self, rgb: np.ndarray) -> np.ndarray:
        mask = self._seg.process(np.ascontiguousarray(rgb)).segmentation_mask
        return cv2.convertScaleAbs(mask, alpha=255.0)

    @property
    def params(self) -> dict:
        return {"model": "mediapipe selfie_segmentation (landscape)"}


# --- cleaning -------------------------------------------------------------------------------------
@dataclass
class Limits:
    """Areas as fractions of the frame."""
    min_area: float = 0.005     # the smallest dancer
    max_area: float = 0.9       # more than this is not a dancer but a wrong cut (e.g. inverted polarity)
    speck_area: float = 0.0005  # with keep_all: smaller regions are noise
    hole_area: float = 0.003    # enclosed background smaller than this is a hole in the dancer
    keep_all: bool = False


def clean(mask: np.ndarray, lim: Limits) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Hard mask (uint8, 255 = dancer) -> (cleaned mask, bbox x, y, w, h), or None when no dancer.

    Opens away specks, closes small cracks, keeps the largest person-sized region (or every
    non-speck region with keep_all) and fills small holes; large enclosed background (an arm on the
    hip) stays open.
    """
    h, w = mask.shape
    area = h * w
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _K3)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _K5)
    # contours, not connected-component labels: an order of magnitude faster on a few large shapes
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    links = hierarchy[0]  # per contour: next, previous, first child (a hole), parent
    outer = [i for i in range(len(contours)) if links[i][3] < 0]
    areas = np.array([cv2.contourArea(contours[i]) + 0.5 * cv2.arcLength(contours[i], True) + 1
                      for i in outer])  # polygon through pixel centres + the half pixel outside it
    if lim.keep_all:
        keep = [i for i, a in zip(outer, areas) if a >= lim.speck_area * area]
        total = float(areas[areas >= lim.speck_area * area].sum())
    else:
        j = int(np.argmax(areas))
        keep, total = [outer[j]], float(areas[j])
    if not keep or not lim.min_area * area <= total <= lim.max_area * area:
        return None
    out = np.zeros_like(mask)
    cv2.drawContours(out, [contours[i] for i in keep], -1, 255, cv2.FILLED)  # holes filled...
    for i in keep:                                                            # ...then the large ones reopened
        hole = links[i][2]
        while hole >= 0:
            c = contours[hole]
            if cv2.contourArea(c) >= lim.hole_area * area:
                cv2.drawContours(out, [c], -1, 0, cv2.FILLED)
                cv2.drawContours(out, [c], -1, 255, 1)  # the hole's contour runs on dancer pixels
            hole = links[hole][0]
    x, y, bw, bh = cv2.boundingRect(np.concatenate([contours[i] for i in keep]))
    return out, (x, y, bw, bh)


def dancer_share(cutter: Cutter, samples: Sequence[np.ndarray], lim: Limits) -> list[float]:
    """Fraction of each sample frame that the cut keeps as dancer (0 where no dancer is found)."""
    out = []
    for s in samples:
        r = clean(np.where(cutter.score(s) >= 128, np.uint8(255), np.uint8(0)), lim)
        out.append(0.0 if r is None else float(np.count_nonzero(r[0])) / r[0].size)
    return out


# --- choosing -------------------------------------------------------------------------------------
def make_cutter(mode: str, samples: Sequence[np.ndarray], *, polarity: str = "auto",
                limits: Limits | None = None) -> tuple[Cutter, str]:
    """Fit the cutter for `mode` on sample frames (RGB, working resolution): (cutter, reason)."""
    lim = limits or Limits()
    if mode == "threshold":
        return ThresholdCutter.fit(samples, polarity), "asked for"
    if mode == "chroma":
        return ChromaCutter.fit(samples), "asked for"
    if mode == "background":
        return BackgroundCutter.fit(samples), "asked for"
    if mode == "segment":
        return SegmentCutter(), "asked for"
    if mode != "auto":
        raise UserError(f"unknown cut mode {mode!r}: choose one of {', '.join(MODES)}")
    return _choose(samples, polarity, lim)


def _choose(samples: Sequence[np.ndarray], polarity: str, lim: Limits) -> tuple[Cutter, str]:
    key, share, hue = ChromaCutter.screen(samples)
    if key is not None and share >= 0.6:
        return ChromaCutter.fit(samples), f"{share:.0%} of the border is a {key} screen (hue {hue * 2} degrees)"

    grey = np.concatenate([_grey(s).ravel() for s in samples])
    t, eta, lo, hi = otsu(grey)
    border = np.concatenate([border_pixels(_grey(s)) for s in samples])
    border_light = float(np.mean(border > t))
    purity = max(border_light, 1 - border_light)
    minority = float(np.mean(grey > t)) if border_light < 0.5 else float(np.mean(grey <= t))
    if eta >= 0.85 and purity >= 0.9 and 0.003 <= minority <= 0.5:
        cutter = ThresholdCutter.fit(samples, polarity)
        side = "dark on light" if cutter.dark else "light on dark"
        return cutter, (f"two-tone picture (Otsu separability {eta:.2f}, {purity:.0%} of the border one tone): "
                        f"{side} silhouette")

    why = f"no screen colour or two-tone picture (separability {eta:.2f})"
    cutter = BackgroundCutter.fit(samples)
    shares = dancer_share(cutter, samples, lim)
    found = float(np.mean([0 < s <= 0.6 for s in shares]))
    if found >= 0.5 and cutter.unsettled <= 0.03:
        return cutter, f"{why}; static camera, a dancer stands out from the clip's background in {found:.0%} of samples"
    trouble = (f"the background model finds a dancer in only {found:.0%} of samples" if found < 0.5 else
               f"over {cutter.unsettled:.0%} of the frame the background shows in fewer than 2 samples")
    return SegmentCutter(), f"{why}; {trouble}, so person segmentation"
