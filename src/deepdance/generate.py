"""Generation: roll the sequence model forward from a start window, then decode the latents to frames.

Default recipe, each step: sample the next latent from the predicted Gaussian (spread scaled by the
temperature), decode it, threshold the picture at 0.5 and encode that picture again. This projection
puts every fed-back latent where the encoder puts real silhouettes, so errors cannot pile up into blobs
or a frozen average pose over long roll-outs.

Frame count: `frames` new steps; with `interpolate` = K in-between frames per step the output holds
(frames - 1) * (K + 1) + 1 frames (linear interpolation of latents, as the original did).
"""

from __future__ import annotations

import dataclasses
import os
from functools import partial
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from .config import Config
from .errors import UserError
from .files import read_json
from .train import load_autoencoder, load_sequence

# the recipes' sampling temperature when none is asked (the original is deterministic)
TEMPERATURE = {"default": 0.8, "original": 0.0}


@dataclasses.dataclass
class GenerateConfig(Config):
    frames: int = 600                 # new steps to generate (before interpolation)
    start: int | None = None          # start from the real window beginning at this frame
    from_noise: bool = False          # start from a random window instead (the original's way)
    seed: int = 0
    temperature: float | None = None  # None: the recipe's; 0 = always the most likely next latent
    interpolate: int = 0              # K in-between frames per generated step
    project: bool | None = None       # decode-threshold-encode every step; None: on except for "original"
    batch_size: int = 256             # frames decoded at once

    def __post_init__(self):
        if self.frames < 1 or self.batch_size < 1:
            raise UserError("frames and batch size must be at least 1")
        if self.interpolate < 0 or (self.temperature is not None and self.temperature < 0):
            raise UserError("interpolate and temperature cannot be negative")
        if self.from_noise and self.start is not None:
            raise UserError("give either a start frame or from_noise, not both")

    def output_frames(self) -> int:
        return (self.frames - 1) * (self.interpolate + 1) + 1


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


@torch.no_grad()
def reproject(ae: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Decode, threshold at 0.5, encode: the latent of the crisp silhouette nearest to what `z` shows."""
    return ae.encode((ae.probs(z) > 0.5).float())


def interpolate(latents: torch.Tensor, k: int) -> torch.Tensor:
    """K linear in-betweens after every latent but the last: (N - 1) * (K + 1) + 1 latents."""
    if k == 0 or len(latents) < 2:
        return latents
    t = torch.arange(k + 1, dtype=latents.dtype) / (k + 1)
    a, b = latents[:-1, None], latents[1:, None]
    steps = (a + t[None, :, None] * (b - a)).reshape(-1, latents.shape[1])
    return torch.cat([steps, latents[-1:]])


# --- the roll-out ------------------------------------------------------------------------------------
def _start_window(run_dir: Path, seq: torch.nn.Module, cfg: GenerateConfig, generator: torch.Generator) -> torch.Tensor:
    if cfg.from_noise:
        return seq.noise_window(generator=generator)
    path = run_dir / "latents.npy"
    if not path.is_file():
        raise UserError(f"{run_dir} has no latents.npy to start from; train the run or use from_noise")
    latents = np.load(path, mmap_mode="r")
    clips = read_json(run_dir / "latents.json")["clips"]
    w = seq.window
    valid = np.concatenate([np.arange(a, b - w + 1) for a, b in clips] or [np.zeros(0, int)])
    if not len(valid):
        raise UserError(f"no clip of {run_dir} is as long as the window ({w} frames); use from_noise")
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
    generator = torch.Generator().manual_seed(cfg.seed)
    window = _start_window(run_dir, seq, cfg, generator)
    temperature = TEMPERATURE[seq.recipe] if cfg.temperature is None else cfg.temperature
    project = seq.recipe != "original" if cfg.project is None else cfg.project
    latents = seq.roll_out(window, cfg.frames, temperature=temperature, generator=generator,
                           project=partial(reproject, ae) if project else None)
    latents = interpolate(latents.float(), cfg.interpolate)
    frames = np.concatenate(list(decode_latents(ae, latents, batch_size=cfg.batch_size)))
    return frames, latents.numpy()
