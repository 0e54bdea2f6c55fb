"""Lightning modules: one optimisation step of the autoencoder and of the sequence model, and augmentation."""

from __future__ import annotations

import os
import random

import lightning as L
import numpy as np
import torch
from torch.nn import functional as F

from .datasets import epoch_seed
from .errors import check_interrupted
from .representation import to_ink


class _Stage(L.LightningModule):
    def __init__(self, model: torch.nn.Module, *, lr: float, onecycle: bool):
        super().__init__()
        self.model, self.lr, self.onecycle = model, lr, onecycle

    def setup(self, stage: str) -> None:
        # spawned CPU processes share the cores instead of each taking all of them
        if self.trainer.world_size > 1 and self.device.type == "cpu":
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.trainer.num_devices))

    def configure_optimizers(self):
        # foreach: the same updates bit for bit as the per-tensor loop PyTorch picks on the CPU, with fewer calls
        # (the look's AdamW step: 6.0 -> 3.8 ms of a 60-80 ms step on 2 cores)
        if not self.onecycle:
            return torch.optim.Adam(self.parameters(), lr=self.lr, foreach=True)
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=1e-4, foreach=True)
        # one warm-up and one long decay over the whole budget: the best result for a fixed, short budget
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, pct_start=0.15,
                                                    total_steps=max(1, self.trainer.estimated_stepping_batches))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def silhouette_scores(logits: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame IoU and pixel accuracy of reconstructions thresholded at 0.5 against the real masks."""
    pred, true = logits > 0, x > 0.5
    inter = (pred & true).sum((1, 2, 3)).float()
    union = (pred | true).sum((1, 2, 3)).float()
    iou = torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))
    return iou, (pred == true).float().mean((1, 2, 3))


def augment(x: torch.Tensor, *, shift: tuple[float, float] = (0.2, 0.05)) -> torch.Tensor:
    """Shift every frame by up to `shift` of its width and height and mirror half of them.

    A dance travels: the held-out end of the built-in dancer puts poses at places the training part never
    did (its nearest training frame has IoU 0.65 on average). Without this the autoencoder reached
    train/held-out IoU 0.94/0.77; with it 0.87/0.85 after the same 400 steps, and 0.92 held out after 1000.
    """
    b, _, h, w = x.shape
    px, py = int(shift[0] * w), int(shift[1] * h)
    padded = F.pad(x, (px, px, py, py))
    dx = torch.randint(0, 2 * px + 1, (b,)).tolist()
    dy = torch.randint(0, 2 * py + 1, (b,)).tolist()
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])
    flip = (torch.rand(b) < 0.5).to(x.device)
    out = torch.where(flip[:, None, None, None], out.flip(3), out)
    return out.contiguous(memory_format=torch.channels_last)


class AEModule(_Stage):
    def __init__(self, model: torch.nn.Module, *, lr: float, onecycle: bool, augment: bool):
        super().__init__(model, lr=lr, onecycle=onecycle)
        self.augment_frames = augment

    def training_step(self, batch, batch_idx):
        x = augment(to_ink(batch)) if self.augment_frames else to_ink(batch)
        loss, _ = self.model.loss(x)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(x), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x = to_ink(batch)
        loss, logits = self.model.loss(x)
        iou, acc = silhouette_scores(logits, x)
        self.log_dict({"val_loss": loss, "val_iou": iou.mean(), "val_pixel_acc": acc.mean()},
                      on_epoch=True, prog_bar=True, batch_size=len(x), sync_dist=True)


class LookModule(_Stage):
    """The look: batches of (body, silhouette) pairs, uint8 (B, 2, H, W), 0 = ink; both shifted and mirrored
    together. Validation also scores the body alone against the same silhouettes (`val_iou_body`)."""

    def training_step(self, batch, batch_idx):
        pair = augment(1.0 - batch.float() / 255.0, shift=(0.1, 0.05))
        loss, _ = self.model.loss(pair[:, :1], pair[:, 1:])
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(batch), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        pair = 1.0 - batch.float() / 255.0
        body, target = pair[:, :1], pair[:, 1:]
        loss, logits = self.model.loss(body, target)
        iou, _ = silhouette_scores(logits, target)
        body_iou, _ = silhouette_scores(2 * body - 1, target)
        self.log_dict({"val_loss": loss, "val_iou": iou.mean(), "val_iou_body": body_iou.mean()},
                      on_epoch=True, prog_bar=True, batch_size=len(batch), sync_dist=True)


def seq_batch(batch) -> tuple:
    """A batch of latents, or of (latents, music): the arguments of the sequence model's loss."""
    return tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)


class SeqModule(_Stage):
    def training_step(self, batch, batch_idx):
        args = seq_batch(batch)
        loss = self.model.loss(*args)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(args[0]),
                 sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        args = seq_batch(batch)
        self.log("val_loss", self.model.loss(*args), on_epoch=True, prog_bar=True, batch_size=len(args[0]),
                 sync_dist=True)


# --- the same randomness for the same (seed, epoch, batch): resume replays exactly -------------------
class Replay(L.Callback):
    """Every training batch draws its randomness (augmentation, dropout, corrupted codes) from (seed, epoch,
    batch, rank) alone, so a resumed run replays the epochs it had not finished exactly as a run that went
    straight through (the order of the batches comes from `datasets.Shuffle`). It also stops training at the
    next batch when a signal arrived, should Python have dropped the exception the signal raised."""

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        check_interrupted()
        s = epoch_seed(self.seed, trainer.current_epoch, batch_idx, trainer.global_rank)
        torch.manual_seed(s)
        np.random.seed(s)
        random.seed(s)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        check_interrupted()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        check_interrupted()
