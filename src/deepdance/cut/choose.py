"""Which cut: the one asked for, or `auto`'s choice from sample frames, with the reason."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import UserError
from .background import BackgroundCutter
from .base import Cutter, border_pixels, grey, otsu
from .chroma import ChromaCutter
from .clean import Limits, dancer_share
from .segment import SegmentCutter
from .threshold import ThresholdCutter

MODES = ("auto", "threshold", "chroma", "background", "segment")
POLARITIES = ("auto", "dark", "light")


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

    values = np.concatenate([grey(s).ravel() for s in samples])
    t, eta, lo, hi = otsu(values)
    border = np.concatenate([border_pixels(grey(s)) for s in samples])
    border_light = float(np.mean(border > t))
    purity = max(border_light, 1 - border_light)
    minority = float(np.mean(values > t)) if border_light < 0.5 else float(np.mean(values <= t))
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
