"""The shadow-dance cut: one Otsu grey threshold for the clip, polarity from the border."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .base import Cutter, border_pixels, grey, otsu, ramp


class ThresholdCutter(Cutter):
    """The shadow-dance rule: one grey threshold for the clip (Otsu), polarity from the border."""

    mode = "threshold"

    def __init__(self, threshold: int, dark: bool, width: float = 8.0):
        self.threshold, self.dark = int(threshold), bool(dark)
        # a pixel equal to the Otsu threshold belongs to the lower class
        self._lut = ramp(threshold + 0.5, width, rising=not dark)

    @classmethod
    def fit(cls, samples: Sequence[np.ndarray], polarity: str = "auto") -> "ThresholdCutter":
        greys = [grey(s) for s in samples]
        t, _, lo, hi = otsu(np.concatenate([g.ravel() for g in greys]))
        if polarity == "auto":
            light_border = float(np.mean(np.concatenate([border_pixels(g) for g in greys]) > t))
            dark = light_border >= 0.5  # the background is what fills the border
        else:
            dark = polarity == "dark"
        return cls(t, dark, width=max(4.0, 0.15 * (hi - lo)))

    def score(self, rgb: np.ndarray) -> np.ndarray:
        return cv2.LUT(grey(rgb), self._lut)

    @property
    def params(self) -> dict:
        return {"threshold": self.threshold, "polarity": "dark" if self.dark else "light"}
