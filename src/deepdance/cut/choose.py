"""Which cut: the one asked for, or `auto`'s choice from sample frames, with the reason and the figures.

With a skeleton in enough sample frames, `auto` fits every mode that can apply (chroma only on a green or
blue screen), checks each against the skeleton (`check.py`), rejects those that lose the head, hands and
feet or keep the backdrop, and takes the best of the rest; modes with crisper edges (chroma, threshold,
background) win a near tie over person segmentation, which is also the fallback when every mode fails.
Without a skeleton (a shadow play the estimator cannot read) it decides from the picture alone (`_by_picture`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import UserError
from .background import BackgroundCutter
from .base import Cutter, border_pixels, grey, otsu
from .chroma import ChromaCutter
from .check import Tally, describe, quality, verdict
from .clean import Limits, clean, dancer_share
from .segment import SegmentCutter
from .threshold import ThresholdCutter

MODES = ("auto", "threshold", "chroma", "background", "segment")
POLARITIES = ("auto", "dark", "light")
ORDER = ("chroma", "threshold", "background", "segment")   # preferred on a near tie
NEAR_TIE = 0.05
MIN_SKELETONS = 3     # sample frames with a skeleton before `auto` trusts the check


def make_cutter(mode: str, samples: Sequence[np.ndarray], *, polarity: str = "auto",
                limits: Limits | None = None) -> tuple[Cutter, str]:
    """Fit the cutter for `mode` on sample frames (RGB, working resolution): (cutter, reason)."""
    cutter, reason, _ = choose_cut(mode, samples, polarity=polarity, limits=limits)
    return cutter, reason


def sample_figures(cutter: Cutter, samples: Sequence[np.ndarray], poses: Sequence[np.ndarray | None],
                   lim: Limits) -> dict:
    """The skeleton check of `cutter` on the samples (poses (J, 3) in their pixels, None where nobody)."""
    tally = Tally()
    for s, p in zip(samples, poses):
        r = clean(np.where(cutter.score(s) >= 128, np.uint8(255), np.uint8(0)), lim, points=p)
        tally.add(None if r is None else r[0] > 0, p)
    return tally.summary()


def _fit(mode: str, samples, polarity: str) -> Cutter:
    if mode == "threshold":
        return ThresholdCutter.fit(samples, polarity)
    if mode == "chroma":
        return ChromaCutter.fit(samples)
    if mode == "background":
        return BackgroundCutter.fit(samples)
    return SegmentCutter(portrait=samples[0].shape[0] > samples[0].shape[1])


def choose_cut(mode: str, samples: Sequence[np.ndarray], *, polarity: str = "auto", limits: Limits | None = None,
               poses: Sequence[np.ndarray | None] | None = None) -> tuple[Cutter, str, dict]:
    """Fit the cutter for `mode` (or choose one, `auto`) on sample frames (RGB, working resolution) and their
    poses (J, 3 in the same pixels; None where nobody was found): (cutter, reason, figures).

    `figures`: the skeleton check of every mode tried, by mode, and the reason any was rejected."""
    lim = limits or Limits()
    poses = list(poses) if poses is not None else [None] * len(samples)
    if mode not in MODES:
        raise UserError(f"unknown cut mode {mode!r}: choose one of {', '.join(MODES)}")
    if mode != "auto":
        cutter = _fit(mode, samples, polarity)
        return cutter, "asked for", {mode: sample_figures(cutter, samples, poses, lim)}
    skeletons = sum(p is not None and np.isfinite(p[:, :2]).all(-1).sum() >= 4 for p in poses)
    if skeletons < max(MIN_SKELETONS, 0.25 * len(samples)):
        cutter, reason = _by_picture(samples, polarity, lim)
        why = f"{reason} (a skeleton in only {skeletons} of {len(samples)} samples: not enough to check the cut)"
        return cutter, why, {cutter.mode: sample_figures(cutter, samples, poses, lim)}
    return _by_skeleton(samples, poses, polarity, lim)


def _by_skeleton(samples, poses, polarity: str, lim: Limits) -> tuple[Cutter, str, dict]:
    key, share, hue = ChromaCutter.screen(samples)
    figures: dict = {}
    rejected: dict[str, str] = {}
    cutters: dict[str, Cutter] = {}
    for mode in ORDER:
        if mode == "chroma" and not (key is not None and share >= 0.6):
            continue
        try:
            cutter = _fit(mode, samples, polarity)
        except UserError as e:
            rejected[mode] = str(e)
            continue
        fig = sample_figures(cutter, samples, poses, lim)
        figures[mode] = fig
        why = verdict(fig)
        if why is None and mode == "background" and cutter.unsettled > 0.03:
            why = f"over {cutter.unsettled:.0%} of the frame the background shows in fewer than 2 samples"
        if why is not None:
            rejected[mode] = why
        else:
            cutters[mode] = cutter
    figures["rejected"] = rejected
    if not cutters:
        cutter = _fit("segment", samples, polarity)
        no = "; ".join(f"{m} {r}" for m, r in rejected.items())
        return cutter, f"every mode failed the skeleton check ({no}), so person segmentation", figures
    best = max(quality(figures[m]) for m in cutters)
    pick = next(m for m in ORDER if m in cutters and quality(figures[m]) >= best - NEAR_TIE)
    no = "".join(f"; {m} rejected: {r}" for m, r in rejected.items())
    if pick == "chroma":
        no = f"; {share:.0%} of the border is a {key} screen (hue {hue * 2} degrees){no}"
    return cutters[pick], f"holds the skeleton best ({describe(figures[pick])}){no}", figures


def _by_picture(samples: Sequence[np.ndarray], polarity: str, lim: Limits) -> tuple[Cutter, str]:
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
    return _fit("segment", samples, polarity), f"{why}; {trouble}, so person segmentation"
