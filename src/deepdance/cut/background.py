"""The static-camera cut: a background learnt from the clip itself (drift aligned, shadows suppressed)."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from ..errors import UserError
from .base import K5, Cutter, fill_in, grey
from .clean import Limits, clean


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
        g0 = grey(background)
        gx = cv2.Sobel(g0, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(g0, cv2.CV_32F, 0, 1, ksize=3)
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
        zone = cv2.morphologyEx((stray > cls.STRAY * len(stack)).astype(np.uint8), cv2.MORPH_OPEN, K5)
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
        around, texture = fill_in(np.clip(means[0], 0, 255).astype(np.uint8), zone)
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
                h[:] = cv2.dilate(r[0], K5, iterations=2) > 0  # her blurred edge too
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
            background, texture = fill_in(background, unseen)
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
        half = 256.0 * dist / (cv2.dilate(dist, K5) + 1e-3)
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
        g = self.grey(ref)
        self._g = g
        self._win = cv2.createHanningWindow(g.shape[::-1], cv2.CV_32F)
        if ignore is not None:
            half = cv2.resize(ignore.astype(np.float32), g.shape[::-1], interpolation=cv2.INTER_AREA) > 0
            self._win *= 1 - cv2.GaussianBlur(cv2.dilate(half.astype(np.float32), K5), (0, 0), 2)
        self._ref = np.conj(np.fft.rfft2(g * self._win))
        h, w = g.shape
        self._r = r = max(3, int(0.04 * max(h, w)))
        # the shift is checked on the outer band, where the background shows most of the time
        self._band = np.zeros((h, w), bool)
        bh, bw = max(r + 2, int(0.15 * h)), max(r + 2, int(0.15 * w))
        self._band[r:bh, r:w - r] = self._band[h - bh:h - r, r:w - r] = True
        self._band[r:h - r, r:bw] = self._band[r:h - r, w - bw:w - r] = True

    @staticmethod
    def grey(rgb: np.ndarray) -> np.ndarray:
        g = cv2.resize(grey(rgb), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA).astype(np.float32)
        return g - g.mean()

    def shift(self, rgb: np.ndarray) -> tuple[float, float]:
        """(dx, dy) in full-size pixels by which `rgb`'s content is moved from the reference."""
        g = self.grey(rgb)
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
