"""The representation seam: a dance's frames <-> latent vectors, the only thing the sequence model sees.

A representation encodes a store's frames into one latent per frame, decodes latents into pictures, and
may `project` latents back onto what its data looks like. The sequence model, the sampler and the
generation loop know nothing else, so a second representation (poses <-> latents, drawn by a renderer)
plugs in here without touching them.

Pixels (the original idea): an autoencoder over silhouettes. Decoding thresholds at 0.5; `project`
decodes, thresholds, keeps the largest region and encodes again, so every frame shows one crisp dancer.
Poses (`pose/space.py`): normalised joints, the root's travel and which joints are seen; decoding draws
the body fitted to the dancer (`pose/figure.py`) at any size. A run folder holds one: pose.json or ae.*.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Protocol

import cv2
import numpy as np
import torch

from .checkpoint import load_model
from .datasets import FrameReader
from .pose.space import POSE_FILE, Poses
from .store import FrameStore

REPRESENTATIONS = ("pose", "pixels")


class Representation(Protocol):
    """What generation needs of a representation."""
    name: str
    recipe: str
    latent: int
    size: tuple[int, int]    # (width, height) of the pictures `decode` makes; may be set before decoding
    fps: float | None        # the frame rate its dances are shown at by default (None: the data's)
    walk: str                # "real": dances are made of the data's real steps by default; "centres": of codes
    smooth: dict             # walk -> seconds its generated latents are smoothed over by default (0: not at all)

    def encode(self, store: FrameStore, *, batch_size: int = 256) -> np.ndarray:
        """Every frame of `store` as a latent: (N, latent) float32."""

    def decode(self, latents: torch.Tensor, *, batch_size: int = 256) -> Iterator[np.ndarray]:
        """Latents (N, latent) as uint8 pictures (B, H, W), 0 = dancer, in batches."""

    def project(self, latents: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
        """Latents moved onto what the data looks like (identity where nothing needs it)."""


# --- pictures <-> model inputs --------------------------------------------------------------------------
def to_ink(batch: torch.Tensor) -> torch.Tensor:
    """uint8 pictures (B, H, W), 0 = dancer, to float ink maps (B, 1, H, W), 1 = dancer."""
    x = 1.0 - batch.unsqueeze(1).float() / 255.0
    return x.contiguous(memory_format=torch.channels_last)


def to_pictures(probs: torch.Tensor) -> np.ndarray:
    """Dancer probabilities (B, 1, H, W) -> uint8 pictures (B, H, W), 0 = dancer."""
    return (255.0 * (1.0 - probs[:, 0].float())).round().to(torch.uint8).cpu().numpy()


def largest_region(masks: np.ndarray) -> np.ndarray:
    """Keep only the largest 8-connected region of each binary mask (N, H, W): the dancer is one body."""
    out = np.zeros_like(masks)
    for i, m in enumerate(masks.astype(np.uint8)):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        if n > 1:
            out[i] = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return out


# --- pixels ---------------------------------------------------------------------------------------------
class Pixels:
    """Silhouette frames through the run's autoencoder (ae.safetensors + ae.json)."""
    name = "pixels"
    fps = None
    walk = "centres"
    smooth = {"real": 0.0, "centres": 0.0}   # each latent is projected onto one crisp silhouette: nothing to smooth

    def __init__(self, ae: torch.nn.Module):
        self.ae = ae.to(memory_format=torch.channels_last)
        self.recipe, self.latent = ae.recipe, ae.latent
        self.size = self._own = (getattr(ae, "width", 0), getattr(ae, "height", 0))

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> "Pixels":
        return cls(load_model(Path(run_dir), "ae"))

    @torch.no_grad()
    def encode(self, store: FrameStore, *, batch_size: int = 256) -> np.ndarray:
        out = np.empty((len(store), self.latent), np.float32)
        frames = FrameReader(store, np.arange(len(store)))
        for i in range(0, len(store), batch_size):
            batch = torch.stack([frames[j] for j in range(i, min(i + batch_size, len(store)))])
            out[i:i + len(batch)] = self.ae.encode(to_ink(batch)).numpy()
        return out

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, *, batch_size: int = 256) -> Iterator[np.ndarray]:
        device = next(self.ae.parameters()).device
        latents = torch.as_tensor(np.asarray(latents, np.float32))
        for i in range(0, len(latents), batch_size):
            pictures = to_pictures(self.ae.probs(latents[i:i + batch_size].to(device)))
            if self.size != self._own:   # another output size: scaled, smoothly
                pictures = np.stack([cv2.resize(p, self.size, interpolation=cv2.INTER_LINEAR) for p in pictures])
            yield pictures

    @torch.no_grad()
    def project(self, latents: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
        """Decode, threshold at 0.5, keep the largest region, encode: for each latent, the latent of the one
        crisp silhouette nearest to what it shows. (An in-between of two poses decodes to a blurred double
        image, and a stray limb can float beside the body; neither is a dancer.)"""
        out = []
        for i in range(0, len(latents), batch_size):
            masks = largest_region((self.ae.probs(latents[i:i + batch_size]) > 0.5)[:, 0].cpu().numpy())
            out.append(self.ae.encode(torch.from_numpy(masks[:, None]).float().to(latents.device)))
        return torch.cat(out)


def load_representation(run_dir: str | os.PathLike) -> Representation:
    """The trained representation of a run folder: poses where it has pose.json, else pixels."""
    if (Path(run_dir) / POSE_FILE).is_file():
        return Poses.load(run_dir)
    return Pixels.load(run_dir)
