"""Logs for both kinds of terminal: bars on a TTY; in a log file one line per stage and per epoch, no
third-party advertisements, and the run's files last."""

import logging
import re
import subprocess
import sys

import pytest
from lightning.pytorch.utilities.rank_zero import rank_zero_info

from deepdance.progress import drop_tips


def test_lightning_tips_are_dropped_and_its_other_messages_kept():
    drop_tips()
    seen = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        rank_zero_info("💡 Tip: For seamless cloud logging, try installing [litlogger](https://pypi.org/...)")
        rank_zero_info("`Trainer.fit` stopped: `max_epochs=2` reached.")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert seen == ["`Trainer.fit` stopped: `max_epochs=2` reached."]


@pytest.mark.slow
def test_a_run_logged_to_a_file_is_short_and_plain(tmp_path):
    run = tmp_path / "run"
    args = ["run", "--out", str(run), "--seconds", "10", "--bpm", "120", "--size", "80x48", "--latent", "8",
            "--window", "3", "--ae-epochs", "2", "--seq-epochs", "2", "--batch-size", "16", "--represent", "pixels",
            "--precision", "32-true", "--accelerator", "cpu", "--frames", "30", "--evaluate-frames", "24"]
    # stdout and stderr into one pipe, as `make demo > log 2>&1`: neither is a terminal
    result = subprocess.run([sys.executable, "-m", "deepdance", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=900)
    log = result.stdout
    assert result.returncode == 0, log
    assert "\r" not in log, "progress-bar redraws in a log file"
    assert "Tip" not in log and "litlogger" not in log, log
    lines = log.splitlines()
    for stage in ("ae", "seq"):
        epochs = [line for line in lines if re.match(rf"{stage} epoch \d+/2: .*train_loss", line)]
        assert len(epochs) == 2, log
    assert len(log.encode()) < 6000, log
    # the files come last: the line naming the run folder, one indented line per file, then the verdict
    start = next(i for i, line in enumerate(lines) if line.startswith("run folder:"))
    verdict = next(i for i, line in enumerate(lines) if line.startswith("verdict:"))
    assert start < verdict and all(line.startswith("  ") for line in lines[start + 1:verdict]), log
    assert any("dance.mp4" in line for line in lines[start + 1:verdict]), log
    assert all(line.startswith("  - ") for line in lines[verdict + 1:]), log
