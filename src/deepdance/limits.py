"""Documented limits: requests past them are refused up front, with the limit and the estimate in the message,
instead of eating the machine's memory or disk for minutes and then failing.

Each number is generous for real use and far below what would exhaust a laptop. Change one here and every
check follows.
"""

from __future__ import annotations

import math

from .errors import UserError

# --- the run side: training and generation ------------------------------------------------------------
MAX_FRAMES = 1_000_000       # frames of one generated dance, after interpolation: 23 h at 12 fps, 2.3 h at
                             # 120 fps; the roll-out alone takes ~1 ms a step on a CPU, so more is a typo
MAX_SECONDS = 24 * 3600.0    # a dance (or --seconds of generation) longer than a day is a typo, not a request
MAX_INTERPOLATE = 100        # in-between frames per generated step: past ~10 they only slow the video down
MAX_LATENT = 4096            # latent size: the default is 128, and past a few thousand the autoencoder's
                             # dense layer alone outgrows memory (a 200x120 store: 7.5k inputs x latent)
MAX_WINDOW = 10_000          # latents the sequence model reads: the default is 10, a clip is rarely longer
MAX_PARAMETERS = 2 ** 28     # weights of one network (1 GiB of float32): a model file from elsewhere asking
                             # for more is refused before anything is allocated
MAX_DANCE_BYTES = 4 * 2**30  # decoded frames of one dance, held in memory for rendering (uint8, W x H each)


def check_count(what: str, value: float, limit: float, *, unit: str = "") -> None:
    """Refuse a count or length that is not finite or exceeds its documented limit."""
    if not math.isfinite(value):
        raise UserError(f"{what} must be a finite number, got {value}")
    if value > limit:
        raise UserError(f"{what} {value:g}{unit} exceeds the limit of {limit:g}{unit} (deepdance.limits)")


def check_estimate(what: str, estimate: float, limit: float, *, unit: str = "", why: str = "") -> None:
    """Refuse a request whose estimated output or memory exceeds its documented limit."""
    if not math.isfinite(estimate) or estimate > limit:
        raise UserError(f"{what}: would make {estimate:.3g}{unit}, over the limit of {limit:.3g}{unit}"
                        f"{f' ({why})' if why else ''} (deepdance.limits)")


def check_setting(name: str, value, low: float, high: float, *, integer: bool = True) -> None:
    """A model setting within [low, high] (ValueError: models raise it, `checkpoint.load_model` names the
    file). Checked before a network is built, so a hand-edited config never allocates first."""
    kind = int if integer else (int, float)
    if not isinstance(value, kind) or isinstance(value, bool) or not (low <= value <= high):
        raise ValueError(f"'{name}' must be {'an integer' if integer else 'a number'} in [{low:g}, {high:g}], "
                         f"got {value!r}")


def check_parameters(what: str, count: int) -> None:
    """A network of at most MAX_PARAMETERS weights (ValueError, as `check_setting`)."""
    if count > MAX_PARAMETERS:
        raise ValueError(f"these settings make a {what} of {count:.3g} weights, over the limit of "
                         f"{MAX_PARAMETERS:.3g}")
