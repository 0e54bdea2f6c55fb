"""Training data: frames of a store and windows of latents, split so that held-out data stays unseen.

The end of every clip is held out for validation (never a random split: neighbouring frames are
near-copies), and no training window crosses a clip boundary. `FrameData`, `LookData` and `LatentData` give
a stage's two data loaders; Lightning is not imported here, so generating and evaluating (which read frames
but train nothing) start without it (~5 s).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .store import FRAMES, FrameStore, frame_bytes

VAL_FRACTION = 0.1  # held out from the end of every clip, unless a run's training config says otherwise


def epoch_seed(seed: int, epoch: int, *more: int) -> int:
    """A seed for one epoch (and batch, rank...) of a training run: derived from the run's seed and the
    position alone, so an epoch replays exactly whether the run went straight through or was resumed."""
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, epoch, *more]).generate_state(1)[0])


class Shuffle(Sampler):
    """Every epoch's order drawn from (seed, epoch) only (Lightning calls `set_epoch` before each epoch),
    never from the global random state, which a resumed run cannot restore."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        return iter(torch.randperm(self.n, generator=g).tolist())


def split_clips(clips, val_fraction: float) -> list[tuple[int, int, int]]:
    """(start, cut, stop) per clip: frames [start, cut) train, [cut, stop) are held out."""
    parts = []
    for a, b in clips:
        n_val = int(round((b - a) * val_fraction))
        if val_fraction > 0 and b - a > 1:
            n_val = max(n_val, 1)
        parts.append((a, b - n_val, b))
    return parts


class FrameReader(Dataset):
    """Frames of a store as uint8 pictures (0 = dancer), read one at a time with pread.

    Not through the store's memory map: mapped pages count as resident memory of the process, and
    the kernel maps the pages it reads ahead too, so random reads over a 14,401-frame store kept
    80-680 MB of it resident. Plain reads leave the file to the page cache."""

    def __init__(self, store: FrameStore, indices: np.ndarray):
        m = store.manifest
        self.path, self.indices = store.path / FRAMES, indices
        self.shape, self.packed = (m.height, m.width), m.packed
        self.row = frame_bytes(m.width, m.height, m.packed)
        self.fd: int | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> torch.Tensor:
        if self.fd is None:  # opened per process: DataLoader workers and DDP ranks each get their own
            self.fd = os.open(self.path, os.O_RDONLY)
        row = np.frombuffer(os.pread(self.fd, self.row, int(self.indices[i]) * self.row), np.uint8)
        if self.packed:
            row = ((1 - np.unpackbits(row, count=self.shape[0] * self.shape[1])) * 255).astype(np.uint8)
        return torch.from_numpy(row.reshape(self.shape).copy())

    def __getstate__(self):
        return {**self.__dict__, "fd": None}

    def __del__(self):
        if self.fd is not None:
            os.close(self.fd)


class FrameData:
    def __init__(self, store: FrameStore, *, batch_size: int, val_fraction: float, seed: int = 0):
        self.store, self.batch_size, self.seed = store, batch_size, seed
        parts = split_clips(store.clips, val_fraction)
        self.train_idx = np.concatenate([np.arange(a, c) for a, c, _ in parts])
        self.val_idx = np.concatenate([np.arange(c, b) for _, c, b in parts])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(FrameReader(self.store, self.train_idx), batch_size=self.batch_size,
                          sampler=Shuffle(len(self.train_idx), self.seed),
                          drop_last=len(self.train_idx) > self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(FrameReader(self.store, self.val_idx), batch_size=self.batch_size)


class LookData:
    """Pairs (the body drawn at a pose, the real silhouette of that frame), uint8 (N, H, W) each, held in
    memory (`pose.look.MAX_PAIRS` bounds them); `train` and `val` index them."""

    def __init__(self, bodies: np.ndarray, silhouettes: np.ndarray, train: np.ndarray, val: np.ndarray, *,
                 batch_size: int, seed: int = 0):
        self.pairs = torch.from_numpy(np.stack([bodies, silhouettes], 1))   # (N, 2, H, W)
        self.train, self.val, self.batch_size, self.seed = train, val, batch_size, seed

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.pairs[self.train], batch_size=self.batch_size, sampler=Shuffle(len(self.train), self.seed),
                          drop_last=len(self.train) > self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.pairs[self.val], batch_size=self.batch_size)


class Windows(Dataset):
    """Sequences of `span` latents, with the music of the same frames when there is music."""

    def __init__(self, latents: np.ndarray, starts: np.ndarray, span: int, music: np.ndarray | None):
        self.latents, self.starts, self.span, self.music = latents, starts, span, music

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int):
        s = self.starts[i]
        seq = torch.from_numpy(self.latents[s:s + self.span])
        return seq if self.music is None else (seq, torch.from_numpy(self.music[s:s + self.span]))


def window_starts(parts, *, window: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Training windows lie inside the training part of a clip; validation windows predict only held-out
    latents (their context may reach back into the training part)."""
    train = [np.arange(a, c - span + 1) for a, c, _ in parts]
    val = [np.arange(max(a, c - window), b - span + 1) for a, c, b in parts]
    return (np.concatenate(train).astype(np.int64) if train else np.zeros(0, np.int64),
            np.concatenate(val).astype(np.int64) if val else np.zeros(0, np.int64))


class LatentData:
    def __init__(self, latents: np.ndarray, train_starts: np.ndarray, val_starts: np.ndarray, *,
                 span: int, batch_size: int, music: np.ndarray | None = None, seed: int = 0):
        self.latents, self.span, self.batch_size, self.music = latents, span, batch_size, music
        self.seed = seed
        self.train_starts, self.val_starts = train_starts, val_starts

    def train_dataloader(self) -> DataLoader:
        return DataLoader(Windows(self.latents, self.train_starts, self.span, self.music),
                          batch_size=self.batch_size, sampler=Shuffle(len(self.train_starts), self.seed),
                          drop_last=len(self.train_starts) > self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(Windows(self.latents, self.val_starts, self.span, self.music),
                          batch_size=4 * self.batch_size)
