"""The green / blue screen cut: a colour-difference key, key colour found from the frame border."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from ..errors import UserError
from .base import Cutter, border_pixels, otsu, ramp


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
        self._lut = ramp(threshold, max(3.0, 0.2 * key_strength), rising=False)

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
