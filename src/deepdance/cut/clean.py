"""A hard mask -> one dancer: specks opened, cracks closed, the person-sized region kept, small holes filled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from .base import K3, K5, Cutter


@dataclass
class Limits:
    """Areas as fractions of the frame."""
    min_area: float = 0.005     # the smallest dancer
    max_area: float = 0.9       # more than this is not a dancer but a wrong cut (e.g. inverted polarity)
    speck_area: float = 0.0005  # with keep_all: smaller regions are noise
    hole_area: float = 0.003    # enclosed background smaller than this is a hole in the dancer
    keep_all: bool = False


def clean(mask: np.ndarray, lim: Limits, points: np.ndarray | None = None
          ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """Hard mask (uint8, 255 = dancer) -> (cleaned mask, bbox x, y, w, h), or None when no dancer.

    Opens away specks, closes small cracks, keeps the largest person-sized region (or every
    non-speck region with keep_all) and fills small holes; large enclosed background (an arm on the
    hip) stays open. With `points` (the skeleton's joints (J, 2|3) in the mask's pixels, NaN or confidence
    < 0.5 where unseen) the region kept is the person-sized one that holds most of them: the dancer the
    pose estimator follows, not a larger shape beside her.
    """
    h, w = mask.shape
    area = h * w
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, K3)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, K5)
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
        if points is not None and len(outer) > 1:
            j = _holding(points, [contours[i] for i in outer], areas, lim.min_area * area, j)
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


def _holding(points: np.ndarray, contours: list, areas: np.ndarray, least: float, default: int) -> int:
    """Index of the contour (of at least `least` area) holding most of the seen points; `default` if none does."""
    p = np.asarray(points, np.float64)
    seen = np.isfinite(p[:, :2]).all(-1) & ((p[:, 2] >= 0.5) if p.shape[1] > 2 else True)
    if not seen.any():
        return default
    counts = np.array([sum(cv2.pointPolygonTest(c, (float(x), float(y)), True) >= -3 for x, y in p[seen, :2])
                       if a >= least else -1 for c, a in zip(contours, areas)])
    if counts.max() <= 0:
        return default
    best = np.flatnonzero(counts == counts.max())
    return int(best[np.argmax(areas[best])])


def dancer_share(cutter: Cutter, samples: Sequence[np.ndarray], lim: Limits) -> list[float]:
    """Fraction of each sample frame that the cut keeps as dancer (0 where no dancer is found)."""
    out = []
    for s in samples:
        r = clean(np.where(cutter.score(s) >= 128, np.uint8(255), np.uint8(0)), lim)
        out.append(0.0 if r is None else float(np.count_nonzero(r[0])) / r[0].size)
    return out
