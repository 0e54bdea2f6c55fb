"""How a long job talks while it works: progress bars on a terminal; elsewhere (a log file, CI, nohup) no
bars, one plain line per stage and per epoch, so the log stays small and its last lines are the results.

The CLI decides with `on_terminal()` and passes `progress=` down; the stages say their lines with `say`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from tqdm import tqdm


def on_terminal() -> bool:
    """Do progress bars belong here: is stderr (where bars and notes go) a terminal?"""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def say(message: str) -> None:
    """One line on stderr, written above a progress bar if one is showing; by the first process only (the
    others of a multi-device run, started by Lightning with RANK / LOCAL_RANK set, keep quiet)."""
    if os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) != "0":
        return
    tqdm.write(message, file=sys.stderr)
    sys.stderr.flush()


def figures(values: dict[str, float]) -> str:
    """{'train_loss': 0.123456, 'val_iou': 0.5} -> 'train_loss 0.1235  val_iou 0.5'"""
    return "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())


# --- Lightning's advertisements ------------------------------------------------------------------------
class _NoTips(logging.Filter):
    """Lightning's '💡 Tip: ... try installing litlogger / litmodels': advertisements, not news of this run.
    Its real warnings and infos pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).lstrip().startswith("💡 Tip")


_NO_TIPS = _NoTips()


def drop_tips() -> None:
    """Filter the tips out of the logger Lightning says them through (adding the same filter twice is a no-op)."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_NO_TIPS)


def quiet_lightning(progress: bool):
    """Lightning's start-up chatter (GPU available, TPU...) only when a progress bar is shown too."""
    if progress:
        return contextlib.nullcontext()
    logger = logging.getLogger("lightning.pytorch")

    @contextlib.contextmanager
    def ctx():
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            logger.setLevel(level)

    return ctx()
