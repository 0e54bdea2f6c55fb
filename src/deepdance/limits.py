"""The documented limits of what one command may be asked to make, in one place.

A request beyond them is refused up front, before any work, with the limit and the estimate in the message,
instead of filling the disk or the memory (or overflowing) minutes later. Each number is generous for real use
and far below what would exhaust a laptop: six hours of dance, a million frames, frames up to 8192 pixels a
side, 64 GiB of frames in one store. Change one here and every check follows.
"""

from __future__ import annotations

import math
import numbers

from .errors import UserError

MIN_SIDE, MAX_SIDE = 8, 8192          # pixels, width and height of the frames made (a store read may be smaller)
MIN_FPS, MAX_FPS = 0.1, 1000.0        # frames per second
MAX_SECONDS = 6 * 3600.0              # length of a dance (synth, generate)
MAX_FRAMES = 1_000_000                # frames in one store or one dance
MAX_STORE_BYTES = 64 << 30            # frames.bin of one store
MIN_BPM, MAX_BPM = 30.0, 300.0        # tempos a dance is made to: slower or faster is no beat a dancer steps on


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError  # unreachable


def at_most(what: str, value: float, limit: float, unit: str = "", fmt=None) -> None:
    """Refuse `value` over `limit` (NaN and infinity included): '<what> would be <value>, over the limit of
    <limit>', both written by `fmt` (default: the number and `unit`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or value > limit:
        fmt = fmt or (lambda x: _number(x) + (f" {unit}" if unit else ""))
        finite = isinstance(value, numbers.Real) and math.isfinite(value)
        raise UserError(f"{what} would be {fmt(value)}, over the limit of {fmt(limit)} (deepdance.limits)"
                        + ("" if finite else ": not a finite number"))


def check_fps(what: str, fps: float) -> None:
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise UserError(f"{what} must be a number, got {fps!r}")
    if not fps > 0:
        raise UserError(f"{what} must be positive, got {fps!r}")
    if not MIN_FPS <= fps <= MAX_FPS:
        raise UserError(f"{what} must be between {MIN_FPS:g} and {MAX_FPS:g}, got {fps!r}")


def check_bpm(what: str, bpm: float) -> None:
    if isinstance(bpm, bool) or not isinstance(bpm, numbers.Real) or not MIN_BPM <= bpm <= MAX_BPM:
        raise UserError(f"{what} must be between {MIN_BPM:g} and {MAX_BPM:g} BPM, got {bpm!r}")


def check_side(what: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UserError(f"{what} must be a whole number, got {value!r}")
    if not MIN_SIDE <= value <= MAX_SIDE:
        raise UserError(f"{what} must be between {MIN_SIDE} and {MAX_SIDE}, got {value!r}")


def check_frames(what: str, seconds: float, fps: float, bytes_per_frame: int) -> int:
    """Frames of `seconds` at `fps`, after checking seconds, frames and the bytes they fill; returns the count."""
    at_most(f"{what}: the length", seconds, MAX_SECONDS, "s")
    frames = seconds * fps
    at_most(f"{what}: {seconds:g} s at {fps:g} fps", frames, MAX_FRAMES, "frames")
    at_most(f"{what}: {frames:.0f} frames of {bytes_per_frame} bytes", frames * bytes_per_frame,
            MAX_STORE_BYTES, fmt=human_bytes)
    return int(round(frames))


def _number(x) -> str:
    return f"{x:g}" if isinstance(x, numbers.Real) and not isinstance(x, bool) else repr(x)


# --- the run side: training and generation ------------------------------------------------------------
MAX_INTERPOLATE = 100        # in-between frames per generated step: past ~10 they only slow the video down
MAX_LATENT = 4096            # latent size: the default is 128, and past a few thousand the autoencoder's
                             # dense layer alone outgrows memory (a 200x120 store: 7.5k inputs x latent)
MAX_WINDOW = 10_000          # latents the sequence model reads: the default is 10, a clip is rarely longer
MAX_PARAMETERS = 2 ** 28     # weights of one network (1 GiB of float32): a model file from elsewhere asking
                             # for more is refused before anything is allocated
MAX_DANCE_BYTES = 4 * 2**30  # decoded frames of one dance, held in memory for rendering (uint8, W x H each)


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
