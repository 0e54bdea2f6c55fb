"""Generation: roll the sequence model forward from a start window, then decode the latents to frames.

Default recipe: the sequence model samples a pose code per frame (see `models/sequence.py`), the codes
become latents, and every latent is decoded, thresholded at 0.5, cut down to its largest region and
encoded again (`reproject`), so each frame shows one crisp dancer. A run trained with music dances to
music: a song (`music`), a drum beat made at `bpm`, or else the music of its own data.

Frame count: `frames` new steps (default: the length of the song, else 600); with `interpolate` = K
in-between frames per step the output holds (frames - 1) * (K + 1) + 1 frames (linear interpolation of
latents, as the original did).
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch

from .config import Config
from .errors import UserError
from .files import read_json
from .train import load_autoencoder, load_sequence, select_music

# per recipe, when the config leaves them open: sampling temperature, and whether to re-project every
# latent onto a crisp silhouette (the original decoded its raw predictions)
RECIPE_DEFAULTS = {"default": {"temperature": 0.8, "top_p": 1.0, "near": 128, "project": True},
                   "original": {"temperature": 0.0, "top_p": 1.0, "near": 0, "project": False}}
DEFAULT_FRAMES = 600


@dataclasses.dataclass
class GenerateConfig(Config):
    frames: int | None = None         # new steps (before interpolation); None: the song's length, else 600
    seconds: float | None = None      # or the dance's length in seconds
    start: int | None = None          # start from the real window beginning at this frame
    from_noise: bool = False          # start from a random window instead (the original's way)
    seed: int = 0
    temperature: float | None = None  # None: the recipe's; 0 = always the most likely next pose
    top_p: float | None = None        # sample among the likeliest poses holding this probability; None: recipe's
    near: int | None = None           # sample among this many poses nearest the current one (0: all); None: recipe's
    interpolate: int = 0              # K in-between frames per generated step
    project: bool | None = None       # decode-threshold-encode every latent; None: the recipe's
    music: str | None = None          # a song to dance to (wav, mp3, ogg, m4a, flac, or a video's sound)
    bpm: float | None = None          # or a drum beat made at this tempo
    batch_size: int = 256             # frames decoded at once

    def __post_init__(self):
        if self.frames is not None and self.frames < 1 or self.batch_size < 1:
            raise UserError("frames and batch size must be at least 1")
        if self.seconds is not None and not self.seconds > 0:
            raise UserError(f"seconds must be positive, got {self.seconds}")
        if self.frames is not None and self.seconds is not None:
            raise UserError("give the dance's length as frames or as seconds, not both")
        if self.interpolate < 0 or (self.temperature is not None and self.temperature < 0):
            raise UserError("interpolate and temperature cannot be negative")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise UserError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.from_noise and self.start is not None:
            raise UserError("give either a start frame or from_noise, not both")
        if self.music is not None and self.bpm is not None:
            raise UserError("give either a song (music) or a tempo (bpm), not both")
        if self.bpm is not None and not 30 <= self.bpm <= 300:
            raise UserError(f"bpm must be between 30 and 300, got {self.bpm}")

    def steps(self, fps: float, song_seconds: float | None = None) -> int:
        """New steps at the data's `fps`: frames, seconds, the song's length, or the default."""
        if self.frames is not None:
            return self.frames
        seconds = self.seconds if self.seconds is not None else song_seconds
        return max(1, math.ceil(seconds * fps - 1e-9)) if seconds is not None else DEFAULT_FRAMES

    def resolved(self, recipe: str) -> dict:
        """temperature, top_p and project with the recipe's defaults filled in."""
        return {k: RECIPE_DEFAULTS[recipe][k] if getattr(self, k) is None else getattr(self, k)
                for k in ("temperature", "top_p", "near", "project")}


@dataclasses.dataclass
class Dance:
    """A generated dance: frames uint8 (N, H, W), 0 = dancer; latents (N, latent); its frame rate; for a
    run trained with music, the music it dances to (an audio file for the video, and its beat times in
    seconds) and notes worth telling the user (e.g. that a song had no clear beat)."""
    frames: np.ndarray
    latents: np.ndarray
    fps: float
    audio: Path | None = None
    beats: np.ndarray | None = None
    notes: list[str] = dataclasses.field(default_factory=list)


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


# --- keeping the dance on the data ---------------------------------------------------------------
def largest_region(masks: np.ndarray) -> np.ndarray:
    """Keep only the largest 8-connected region of each binary mask (N, H, W): the dancer is one body."""
    out = np.zeros_like(masks)
    for i, m in enumerate(masks.astype(np.uint8)):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        if n > 1:
            out[i] = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return out


@torch.no_grad()
def reproject(ae: torch.nn.Module, z: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """Decode, threshold at 0.5, keep the largest region, encode: for each latent, the latent of the one
    crisp silhouette nearest to what it shows. (An in-between of two poses decodes to a blurred double
    image, and a stray limb can float beside the body; neither is a dancer.)"""
    out = []
    for i in range(0, len(z), batch_size):
        masks = largest_region((ae.probs(z[i:i + batch_size]) > 0.5)[:, 0].cpu().numpy())
        out.append(ae.encode(torch.from_numpy(masks[:, None]).float().to(z.device)))
    return torch.cat(out)


def interpolate(latents: torch.Tensor, k: int) -> torch.Tensor:
    """K linear in-betweens after every latent but the last: (N - 1) * (K + 1) + 1 latents."""
    if k == 0 or len(latents) < 2:
        return latents
    t = torch.arange(k + 1, dtype=latents.dtype) / (k + 1)
    a, b = latents[:-1, None], latents[1:, None]
    steps = (a + t[None, :, None] * (b - a)).reshape(-1, latents.shape[1])
    return torch.cat([steps, latents[-1:]])


# --- the music of the dance --------------------------------------------------------------------------
def drum_beat(bpm: float, seconds: float) -> Path:
    """A drum track at `bpm` lasting `seconds`, as a WAV in the user cache (made once per tempo and length)."""
    from .audio import cache_root
    from .dancer.music import SAMPLE_RATE, write_music
    from .files import atomic_path

    path = cache_root() / "beats" / f"drums-{bpm:g}bpm-{seconds:.3f}s.wav"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            write_music(tmp, bpm, int(round(seconds * SAMPLE_RATE)))
    return path


def dance_music(store, cfg: GenerateConfig, fps: float, lead_beats: float):
    """The music of a music run's dance: (frames, feature table, lead, audio file, beat times, notes).
    The table holds the sequence model's features for `lead` frames before the dance (enough for
    `lead_beats` beats) and for every frame of it; the beat times cover the dance."""
    from .audio import beat_seconds, features_for_file, features_for_store, lead_in

    if cfg.bpm is not None:
        seconds = cfg.seconds if cfg.seconds is not None else cfg.steps(fps) / fps
        source = drum_beat(cfg.bpm, seconds)
    else:
        source = Path(cfg.music) if cfg.music is not None else None
    if source is None:  # its own data's music, repeated when the dance is longer
        own = features_for_store(store)
        steps = cfg.steps(fps, own.seconds)
        rows = own.features[np.arange(steps) % len(own.features)]
        music, audio = own, store.audio_path
        beats = np.concatenate([own.beats.times + k * own.seconds
                                for k in range(math.ceil(steps / len(own.features)))])
    else:
        probe = features_for_file(source, fps=fps)
        steps = cfg.steps(fps, probe.seconds)
        music = probe if steps == len(probe.features) else features_for_file(source, fps=fps, n_frames=steps)
        rows, audio, beats = music.features, source, music.beats.times
    notes = [music.beats.reason] if music.beats.fallback else []
    lead = max(0, math.ceil(-beat_seconds(beats, -lead_beats)[0] * fps)) + 1
    table = select_music(np.concatenate([lead_in(music, lead), rows]))
    return steps, table, lead, audio, beats, notes


def _in_beats(seq, run_dir: Path, store, cfg: GenerateConfig, latents: np.ndarray, clips: list, fps: float,
              generator: torch.Generator) -> tuple[torch.Tensor, np.ndarray, Path | None, list[str]]:
    """Roll a music run's sequence model out in beat steps laid on the dance's music, then read the latent
    of every video frame off them. Returns (latents (frames, latent), beat times, audio file, notes)."""
    from .audio import beat_position, beat_seconds
    from .train import beat_steps, store_music

    per_beat = read_json(run_dir / "seq.json")["music"]["steps_per_beat"]
    steps, table, lead, audio, beats, notes = dance_music(store, cfg, fps, seq.window / per_beat)
    p0, p1 = beat_position(beats, [0.0, (steps - 1) / fps])
    n = int(math.ceil((p1 - p0) * per_beat)) + 1
    at = np.rint(beat_seconds(beats, p0 + np.arange(-seq.window, n) / per_beat) * fps).astype(int) + lead
    music = torch.from_numpy(table[np.clip(at, 0, len(table) - 1)])
    own, own_beats = store_music(store)
    real = beat_steps(latents, own, clips, own_beats, fps, steps_per_beat=per_beat)
    window = _start_window(real.latents, real.clips, seq, cfg, generator, frames=real.frames)
    out = seq.roll_out(window, n, temperature=cfg.temperature, top_p=cfg.top_p, near=cfg.near,
                       generator=generator, music=music).float()
    x = torch.from_numpy((beat_position(beats, np.arange(steps) / fps) - p0) * per_beat).float()
    lo = x.floor().long().clamp(0, n - 1)
    hi, w = (lo + 1).clamp(max=n - 1), (x - lo).clamp(0, 1)[:, None]
    return (1 - w) * out[lo] + w * out[hi], beats[beats <= (steps - 1) / fps + 1e-9], audio, notes


# --- the roll-out ------------------------------------------------------------------------------------
def _real_latents(run_dir: Path) -> tuple[np.ndarray, list, float]:
    """Every frame's latent (memory-mapped), the clips, the data's frame rate."""
    path = run_dir / "latents.npy"
    if not path.is_file():
        raise UserError(f"{run_dir} has no latents.npy; train the run first ('deepdance train')")
    info = read_json(run_dir / "latents.json")
    return np.load(path, mmap_mode="r"), info["clips"], float(info["fps"])


def _start_window(latents: np.ndarray, clips: list, seq: torch.nn.Module, cfg: GenerateConfig,
                  generator: torch.Generator, *, frames: np.ndarray | None = None) -> torch.Tensor:
    """The latents the roll-out starts from: random, or a real window (at store frame `cfg.start`; `frames`
    gives the store frame of each latent when they are not one per frame)."""
    if cfg.from_noise:
        return seq.noise_window(generator=generator)
    w = seq.window
    valid = np.concatenate([np.arange(a, b - w + 1) for a, b in clips] or [np.zeros(0, int)])
    if not len(valid):
        raise UserError(f"no clip is as long as the window ({w} steps); use from_noise")
    if cfg.start is None:
        start = int(valid[torch.randint(len(valid), (1,), generator=generator)])
    else:
        start = cfg.start if frames is None else int(np.searchsorted(frames, cfg.start - 1e-6))
        if start not in set(valid.tolist()):
            raise UserError(f"start {cfg.start}: the {w}-step window from there must lie inside one clip "
                            f"(clips {clips}{'' if frames is None else ' in beat steps'})")
    return torch.from_numpy(np.array(latents[start:start + w]))[None]


def generate(run_dir: str | os.PathLike, cfg: GenerateConfig) -> Dance:
    """A new dance from a trained run, at the data's frame rate times (interpolate + 1).
    The same run and config give the same frames."""
    from .pipeline import run_store

    run_dir = Path(run_dir)
    ae, seq = load_autoencoder(run_dir), load_sequence(run_dir)
    if ae.recipe != seq.recipe:
        raise UserError(f"{run_dir} mixes a {ae.recipe!r} autoencoder with a {seq.recipe!r} sequence model")
    latents, clips, fps = _real_latents(run_dir)
    opts = cfg.resolved(seq.recipe)
    generator = torch.Generator().manual_seed(cfg.seed)
    if seq.music:
        out, beats, audio, notes = _in_beats(seq, run_dir, run_store(run_dir), cfg.replace(**opts), latents,
                                             clips, fps, generator)
    else:
        if cfg.music is not None or cfg.bpm is not None:
            raise UserError(f"{run_dir} was trained without music, so it cannot follow --music or --bpm; "
                            f"train it on data with music (deepdance train --music on)")
        window = _start_window(latents, clips, seq, cfg, generator)
        # the original samples nothing
        sampling = {"top_p": opts["top_p"], "near": opts["near"]} if seq.recipe == "default" else {}
        out = seq.roll_out(window, cfg.steps(fps), temperature=opts["temperature"], generator=generator,
                           **sampling).float()
        beats, audio, notes = None, None, []
    ae = ae.to(memory_format=torch.channels_last)
    if opts["project"]:
        out = reproject(ae, out, batch_size=cfg.batch_size)
    out = interpolate(out.float(), cfg.interpolate)
    frames = np.concatenate(list(decode_latents(ae, out, batch_size=cfg.batch_size)))
    return Dance(frames, out.numpy(), fps * (cfg.interpolate + 1), audio, beats, notes)
