"""What every cut shares: the Cutter interface (a frame -> a score picture) and small picture helpers."""

from __future__ import annotations

import cv2
import numpy as np

K3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
K5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


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


def ramp(centre: float, width: float, rising: bool) -> np.ndarray:
    """A 256-entry LUT: score 128 at `centre`, saturating `width` grey levels either side."""
    x = np.arange(256, dtype=np.float32)
    slope = 128.0 / max(width, 1.0)
    s = 128 + (x - centre) * slope if rising else 128 + (centre - x) * slope
    return np.clip(np.round(s), 0, 255).astype(np.uint8)


def grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def fill_in(rgb: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, float]:
    """The picture with its `hidden` pixels filled in smoothly from around them, and how far a real
    background strays from such a fill: its texture, the median distance of the picture from a blur of it."""
    filled = cv2.inpaint(rgb, hidden.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    f = filled.astype(np.float32)
    return filled, float(np.median(np.linalg.norm(f - cv2.GaussianBlur(f, (0, 0), 2), axis=-1)))


class Cutter:
    mode = ""

    def score(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (H, W) score of an RGB frame; >= 128 means dancer."""
        raise NotImplementedError

    @property
    def params(self) -> dict:
        return {}
