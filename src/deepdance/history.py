"""Per-epoch records of a training stage: one CSV row per epoch, loss curves and reconstructions."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import cv2
import lightning as L
import numpy as np
import torch

from .files import atomic_path
from .progress import figures, say
from .representation import to_ink, to_pictures


PLOT_EVERY_S = 10.0   # drawn every epoch, the loss plot took 7 of a 12-s clip's 27 s of look training


class History(L.Callback):
    """Keeps one row of figures per epoch (saved in Lightning's checkpoint, so resume keeps the curves)
    and rewrites logs/NAME.csv every epoch, plots/NAME_loss.png and, given frames, plots/NAME_recon.png at
    most every PLOT_EVERY_S and when training ends. With `lines` (no progress bar), it also says one line
    per epoch: 'ae epoch 3/24: train_loss 0.41  val_iou 0.62 (12.3 s)'."""

    def __init__(self, run_dir: Path, name: str, recon: np.ndarray | None = None, *, lines: bool = False):
        self.run_dir, self.name, self.recon, self.lines = run_dir, name, recon, lines
        self.rows: list[dict[str, float]] = []
        self._start = 0.0
        self._plotted = -math.inf

    def state_dict(self) -> dict:
        return {"rows": self.rows}

    def load_state_dict(self, state: dict) -> None:
        self.rows = list(state["rows"])

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        row = {"epoch": trainer.current_epoch + 1, "seconds": round(time.perf_counter() - self._start, 2),
               "lr": trainer.optimizers[0].param_groups[0]["lr"]}
        row.update({k: float(v) for k, v in trainer.callback_metrics.items()})
        self.rows.append(row)
        if trainer.is_global_zero:
            if self.lines:
                shown = {k: row[k] for k in sorted(row, key=lambda k: not k.startswith("train"))
                         if k not in ("epoch", "seconds", "lr")}
                say(f"{self.name} epoch {row['epoch']}/{trainer.max_epochs}: {figures(shown)} ({row['seconds']:.1f} s)")
            write_csv(self.run_dir / "logs" / f"{self.name}.csv", self.rows)
            last = trainer.current_epoch + 1 >= trainer.max_epochs   # `on_train_end` plots it
            if not last and time.perf_counter() - self._plotted >= PLOT_EVERY_S:
                self._plot(pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero and self.rows:
            self._plot(pl_module)

    def _plot(self, pl_module) -> None:
        plot_losses(self.rows, self.run_dir / "plots" / f"{self.name}_loss.png", title=self.name)
        if self.recon is not None:
            recon_grid(pl_module.model, self.recon, self.run_dir / "plots" / f"{self.name}_recon.png")
        self._plotted = time.perf_counter()


def write_csv(path: Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def plot_losses(rows: list[dict], path: Path, *, title: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    epochs = [r["epoch"] for r in rows]
    for key in ("train_loss", "val_loss"):
        if any(key in r for r in rows):
            ax.plot(epochs, [r.get(key, np.nan) for r in rows], marker=".", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{title} loss")
    if any("val_iou" in r for r in rows):
        ax2 = ax.twinx()
        ax2.plot(epochs, [r.get("val_iou", np.nan) for r in rows], color="tab:green", marker=".", label="val_iou")
        ax2.set_ylabel("val IoU")
        ax2.legend(loc="center right")
    ax.legend(loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


@torch.no_grad()
def recon_grid(model: torch.nn.Module, frames: np.ndarray, path: Path) -> None:
    """Real held-out frames in the top row, their reconstructions below."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    logits, _ = model(to_ink(torch.from_numpy(frames).to(device)))
    model.train(was_training)
    recon = to_pictures(torch.sigmoid(logits.float()))
    h, w = frames.shape[1:]
    sheet = np.full((2 * h + 6, len(frames) * (w + 2) + 2), 128, np.uint8)
    for i, (real, rec) in enumerate(zip(frames, recon)):
        x = 2 + i * (w + 2)
        sheet[2:2 + h, x:x + w] = real
        sheet[4 + h:4 + 2 * h, x:x + w] = rec
    with atomic_path(path) as tmp:
        tmp.write_bytes(cv2.imencode(".png", sheet)[1].tobytes())
