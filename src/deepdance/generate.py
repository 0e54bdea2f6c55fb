"""Generation: roll the sequence model forward from a start window, then decode the latents to frames.

Default recipe, each step: the predicted next latent plus noise (the model's one-step error covariance
times the temperature) is pulled a little toward the mean of its nearest real latents (`pull`), then
decoded, thresholded at 0.5 and encoded again. The last step puts every fed-back latent where the
encoder puts crisp silhouettes; the pull keeps the roll-out among the poses of the data.

Measured on the built-in dancer (720 frames, 6 start windows; motion of the last third relative to
the real data, fragments per frame, share of frames with a real-like dancer area):
    mean only, projected                 motion 0.30-0.47   fragments 1.0       area 1.0
    noise T=1, projected                 motion 0.52-1.36   fragments 1.0-8.6   area 0.2-1.0 (breaks up)
    noise T=2, pull 0.3, projected       motion 0.65-0.95   fragments 1.0-1.18  area 0.95-1.0

Frame count: `frames` new steps; with `interpolate` = K in-between frames per step the output holds
(frames - 1) * (K + 1) + 1 frames (linear interpolation of latents, as the original did).
"""

from __future__ import annotations

import dataclasses
import os
from functools import partial
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch

from .config import Config
from .errors import UserError
from .files import read_json
from .train import load_autoencoder, load_sequence

# per recipe, when the config leaves them open: sampling temperature, pull toward real latents, and
# whether to re-project every step (the original fed its raw predictions back, deterministically)
RECIPE_DEFAULTS = {"default": {"temperature": 2.0, "pull": 0.3, "project": True},
                   "original": {"temperature": 0.0, "pull": 0.0, "project": False}}
NEIGHBOURS = 4  # real latents averaged for the pull


@dataclasses.dataclass
class GenerateConfig(Config):
    frames: int = 600                 # new steps to generate (before interpolation)
    start: int | None = None          # start from the real window beginning at this frame
    from_noise: bool = False          # start from a random window instead (the original's way)
    seed: int = 0
    temperature: float | None = None  # None: the recipe's; 0 = always the most likely next latent
    interpolate: int = 0              # K in-between frames per generated step
    pull: float | None = None         # 0..1 toward the nearest real latents each step; None: the recipe's
    project: bool | None = None       # decode-threshold-encode every step; None: the recipe's
    batch_size: int = 256             # frames decoded at once

    def __post_init__(self):
        if self.frames < 1 or self.batch_size < 1:
            raise UserError("frames and batch size must be at least 1")
        if self.interpolate < 0 or (self.temperature is not None and self.temperature < 0):
            raise UserError("interpolate and temperature cannot be negative")
        if self.pull is not None and not 0 <= self.pull <= 1:
            raise UserError(f"pull must be between 0 and 1, got {self.pull}")
        if self.from_noise and self.start is not None:
            raise UserError("give either a start frame or from_noise, not both")

    def output_frames(self) -> int:
        return (self.frames - 1) * (self.interpolate + 1) + 1

    def resolved(self, recipe: str) -> dict:
        """temperature, pull and project with the recipe's defaults filled in."""
        return {k: RECIPE_DEFAULTS[recipe][k] if getattr(self, k) is None else getattr(self, k)
                for k in ("temperature", "pull", "project")}


# --- decoding --------------------------------------------------------------------------------------
def to_pictures(probs: torch.Tensor) -> np.ndarray:
    """Dancer probabilities (B, 1, H, W) to uint8 pictures (B, H, W), 0 = dancer, 255 = background."""
    return (255.0 * (1.0 - probs[:, 0].float())).round().to(torch.uint8).cpu().numpy()


@torch.no_grad()
def decode_latents(ae: torch.nn.Module, latents: np.ndarray | torch.Tensor, *,
                   batch_size: int = 256) -> Iterator[np.ndarray]:
    """Decode latents in batches: yields uint8 pictures (B, H, W), ready for `video.write_video`."""
    device = next(ae.parameters()).device
    latents = torch.as_tensor(np.asarray(latents, np.float32))
    for i in range(0, len(latents), batch_size):
        yield to_pictures(ae.probs(latents[i:i + batch_size].to(device)))


# --- keeping the roll-out on the data ------------------------------------------------------------
def largest_region(masks: np.ndarray) -> np.ndarray:
    """Keep only the largest 8-connected region of each binary mask (N, H, W): the dancer is one body."""
    out = np.zeros_like(masks)
    for i, m in enumerate(masks.astype(np.uint8)):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        if n > 1:
            out[i] = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return out


@torch.no_grad()
def reproject(ae: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Decode, threshold at 0.5, keep the largest region, encode: the latent of the one crisp silhouette
    nearest to what `z` shows. (A stray limb left floating beside the body would otherwise be fed back
    and kept alive by the sequence model; it was the main way roll-outs broke up.)"""
    masks = largest_region((ae.probs(z) > 0.5)[:, 0].cpu().numpy())
    return ae.encode(torch.from_numpy(masks[:, None]).float().to(z.device))


@torch.no_grad()
def pull_and_reproject(ae: torch.nn.Module, bank: torch.Tensor, pull: float, z: torch.Tensor) -> torch.Tensor:
    """Move `z` (1, latent) the fraction `pull` toward the mean of its nearest real latents, then reproject."""
    if pull > 0:
        near = torch.topk(torch.cdist(z, bank)[0], min(NEIGHBOURS, len(bank)), largest=False).indices
        z = (1 - pull) * z + pull * bank[near].mean(0, keepdim=True)
    return reproject(ae, z)


def interpolate(latents: torch.Tensor, k: int) -> torch.Tensor:
    """K linear in-betweens after every latent but the last: (N - 1) * (K + 1) + 1 latents."""
    if k == 0 or len(latents) < 2:
        return latents
    t = torch.arange(k + 1, dtype=latents.dtype) / (k + 1)
    a, b = latents[:-1, None], latents[1:, None]
    steps = (a + t[None, :, None] * (b - a)).reshape(-1, latents.shape[1])
    return torch.cat([steps, latents[-1:]])


# --- the roll-out ------------------------------------------------------------------------------------
def _real_latents(run_dir: Path) -> tuple[np.ndarray, list]:
    path = run_dir / "latents.npy"
    if not path.is_file():
        raise UserError(f"{run_dir} has no latents.npy; train the run first ('deepdance train')")
    return np.load(path, mmap_mode="r"), read_json(run_dir / "latents.json")["clips"]


def _start_window(latents: np.ndarray, clips: list, seq: torch.nn.Module, cfg: GenerateConfig,
                  generator: torch.Generator) -> torch.Tensor:
    if cfg.from_noise:
        return seq.noise_window(generator=generator)
    w = seq.window
    valid = np.concatenate([np.arange(a, b - w + 1) for a, b in clips] or [np.zeros(0, int)])
    if not len(valid):
        raise UserError(f"no clip is as long as the window ({w} frames); use from_noise")
    if cfg.start is None:
        start = int(valid[torch.randint(len(valid), (1,), generator=generator)])
    elif cfg.start in set(valid.tolist()):
        start = cfg.start
    else:
        raise UserError(f"start {cfg.start}: the {w} frames from there must lie inside one clip "
                        f"(frames 0..{len(latents) - 1}, clips {clips})")
    return torch.from_numpy(np.array(latents[start:start + w]))[None]


def generate(run_dir: str | os.PathLike, cfg: GenerateConfig) -> tuple[np.ndarray, np.ndarray]:
    """A new dance from a trained run: (frames uint8 (N, H, W), 0 = dancer; latents float32 (N, latent)),
    N = cfg.output_frames(). The same run and config give the same frames."""
    run_dir = Path(run_dir)
    ae, seq = load_autoencoder(run_dir), load_sequence(run_dir)
    if ae.recipe != seq.recipe:
        raise UserError(f"{run_dir} mixes a {ae.recipe!r} autoencoder with a {seq.recipe!r} sequence model")
    ae = ae.to(memory_format=torch.channels_last)
    latents, clips = _real_latents(run_dir)
    opts = cfg.resolved(seq.recipe)
    generator = torch.Generator().manual_seed(cfg.seed)
    window = _start_window(latents, clips, seq, cfg, generator)
    project = None
    if opts["project"]:
        project = partial(pull_and_reproject, ae, torch.from_numpy(np.array(latents)), opts["pull"])
    out = seq.roll_out(window, cfg.frames, temperature=opts["temperature"], generator=generator, project=project)
    out = interpolate(out.float(), cfg.interpolate)
    frames = np.concatenate(list(decode_latents(ae, out, batch_size=cfg.batch_size)))
    return frames, out.numpy()
