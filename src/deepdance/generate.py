"""Generation: roll the sequence model forward from a start window, then decode the latents to frames.

It reads only the run folder and sees only latents: the sequence model samples them (default recipe: a
pose code per frame, see `models/sequence.py`), the run's representation projects them onto its data
(pixels: one crisp silhouette each) and decodes them (`representation.py`). A run trained with music
dances to music: a song (`song`), a drum beat made at `bpm`, or else the music of its own data.

Frame count: `frames` new steps (default: the length of the song, else 600); with `interpolate` = K
in-between frames per step the output holds (frames - 1) * (K + 1) + 1 frames (linear interpolation of
latents, as the original did). With `fps` (or the representation's own frame rate: poses are shown at
24 fps) the latents are interpolated linearly at that rate instead. `size` sets the pictures' size.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from .audio import MusicFeatures, beat_position, beat_seconds, features_for_file, lead_in
from .checkpoint import load_model, model_meta
from .conditioning import at_her_tempo, beat_steps, drum_beat, heard, looped, on_beat
from .dancer.body import Body, Camera
from .dancer.motion import load_motion, motion_poses
from . import limits
from .config import Config, parse_size
from .errors import UserError
from .limits import check_bpm, check_fps
from .models import RECIPE_DEFAULTS
from .models.sequence import RealDance
from .pose.skeleton import carried, from_dancer
from .representation import load_representation
from .runfolder import read_latents, read_music

DEFAULT_FRAMES = 600
# the dance's own pauses go onto its beats with at most 1.4x faster or slower (her steps' were moved with 1.1x):
# beat-align over 6 dances on a 30-s clip of the built-in dancer 0.60 (1.2x) -> 0.64 (1.4x), hers 0.68; the
# portrait clip 0.45 -> 0.49 (hers 0.40); freeze within 0.008, under the bars (see models/sequence.py)
FINAL_STRETCH = 1.4


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
    song: str | None = None           # a song to dance to (wav, mp3, ogg, m4a, flac, or a video's sound)
    bpm: float | None = None          # or a drum beat made at this tempo
    batch_size: int = 256             # frames decoded at once
    size: str | None = None           # WIDTHxHEIGHT of the pictures; None: the representation's (poses: the
                                      # source's aspect, >= 480 tall; pixels: the frames it learnt)
    fps: float | None = None          # frame rate of the pictures (latents interpolated between steps);
                                      # None: the representation's (poses: 24), else the data's x (interpolate + 1)
    motion: str | None = None         # dance this BVH / keypoints file (or another run's dance_keypoints.npz)
                                      # in this dancer's look instead of a generated dance (pose runs)
    look: str | None = None           # poses drawn as "learned" (the dancer's look) or "body"; None: the run's
    smooth: float | None = None       # seconds the latents are smoothed over (Gaussian sigma); None: the
                                      # representation's (poses: 0.04 for real steps, 0.125 for codes' centres,
                                      # see pose/space.py; pixels: 0)
    walk: str | None = None           # "real": each step's pose is a real one, the codes walking the real dance
                                      # as a motion graph (`models.sequence.RealWalk`); "centres": the codes' average
                                      # poses; None: the representation's (poses: real; pixels: centres)

    def __post_init__(self):
        if self.size is not None:
            parse_size(self.size)
        if self.fps is not None:
            check_fps("generate: fps", self.fps)
        if self.frames is not None and self.frames < 1 or self.batch_size < 1:
            raise UserError("frames and batch size must be at least 1")
        if self.seconds is not None and not self.seconds > 0:
            raise UserError(f"seconds must be positive, got {self.seconds}")
        if self.frames is not None and self.seconds is not None:
            raise UserError("give the dance's length as frames or as seconds, not both")
        if self.walk not in (None, "real", "centres"):
            raise UserError(f"walk must be real or centres, got {self.walk!r}")
        if self.look not in (None, "learned", "body"):
            raise UserError(f"look must be learned or body, got {self.look!r}")
        if self.smooth is not None and not 0 <= self.smooth <= 10:
            raise UserError(f"smooth must be between 0 and 10 seconds, got {self.smooth}")
        if self.interpolate < 0 or (self.temperature is not None and self.temperature < 0):
            raise UserError("interpolate and temperature cannot be negative")
        if self.temperature is not None and not math.isfinite(self.temperature):
            raise UserError(f"temperature must be a finite number, got {self.temperature}")
        if self.start is not None and self.start < 0:
            raise UserError(f"start must be a frame of the data (0 or more), got {self.start}")
        if self.near is not None and self.near < 0:
            raise UserError(f"near cannot be negative, got {self.near}")
        if self.frames is not None:
            limits.at_most("frames", self.frames, limits.MAX_FRAMES)
        if self.seconds is not None:
            limits.at_most("seconds", self.seconds, limits.MAX_SECONDS, "s")
        limits.at_most("interpolate", self.interpolate, limits.MAX_INTERPOLATE, "in-between frames")
        if self.frames is not None:
            self.check_output(self.frames)
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise UserError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.from_noise and self.start is not None:
            raise UserError("give either a start frame or from_noise, not both")
        if self.song is not None and self.bpm is not None:
            raise UserError("give either a song or a tempo (bpm), not both")
        if self.motion is not None and (self.song is not None or self.bpm is not None or self.from_noise
                                        or self.start is not None):
            raise UserError("a motion file is danced as it is: give no song, tempo or start with --motion")
        if self.bpm is not None:
            check_bpm("bpm", self.bpm)

    def check_output(self, steps: int, *, width: int | None = None, height: int | None = None) -> None:
        """Refuse, before the roll-out, a dance whose frames (after interpolation) or decoded bytes would
        exceed the documented limits."""
        frames = (steps - 1) * (self.interpolate + 1) + 1
        limits.at_most(f"{steps} steps with {self.interpolate} in-between frames each", frames, limits.MAX_FRAMES,
                       "frames")
        if width and height:
            limits.at_most(f"{frames} frames of {width}x{height} held for rendering", frames * width * height,
                           limits.MAX_DANCE_BYTES, fmt=limits.human_bytes)

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
    joints: np.ndarray | None = None    # (N, 21, 3) in the data's pixels, for a representation of poses
    source: tuple[int, int] | None = None   # the data's picture size (width, height) the joints are in


# --- the roll-out ------------------------------------------------------------------------------------
def interpolate(latents: torch.Tensor, k: int) -> torch.Tensor:
    """K linear in-betweens after every latent but the last: (N - 1) * (K + 1) + 1 latents."""
    if k == 0 or len(latents) < 2:
        return latents
    t = torch.arange(k + 1, dtype=latents.dtype) / (k + 1)
    a, b = latents[:-1, None], latents[1:, None]
    steps = (a + t[None, :, None] * (b - a)).reshape(-1, latents.shape[1])
    return torch.cat([steps, latents[-1:]])


def retime(latents: torch.Tensor, from_fps: float, to_fps: float) -> torch.Tensor:
    """Latents at `from_fps` linearly interpolated at `to_fps` over the same span of time."""
    n = len(latents)
    if n < 2 or from_fps == to_fps:
        return latents
    t = torch.arange(int(math.floor((n - 1) * to_fps / from_fps + 1e-9)) + 1, dtype=torch.float64) * (from_fps / to_fps)
    lo = t.floor().long().clamp(0, n - 1)
    hi, w = (lo + 1).clamp(max=n - 1), (t - lo).to(latents.dtype)[:, None]
    return (1 - w) * latents[lo] + w * latents[hi]


def smooth(latents: torch.Tensor, sigma: float) -> torch.Tensor:
    """Latents smoothed over time with a Gaussian of `sigma` steps (ends held); sigma 0: as they are."""
    if sigma <= 0 or len(latents) < 2:
        return latents
    return torch.from_numpy(gaussian_filter1d(latents.numpy(), sigma, axis=0, mode="nearest"))


# --- the roll-out ------------------------------------------------------------------------------------
def _start_window(latents: np.ndarray, clips: list, seq: torch.nn.Module, cfg: GenerateConfig,
                  generator: torch.Generator, *, frames: np.ndarray | None = None) -> tuple[torch.Tensor, int | None]:
    """The latents the roll-out starts from, and the index of the window's last latent (None for a random
    window): random, or a real window (at store frame `cfg.start`; `frames` gives the store frame of each
    latent when they are not one per frame)."""
    if cfg.from_noise:
        return seq.noise_window(generator=generator), None
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
    return torch.from_numpy(np.array(latents[start:start + w]))[None], start + w - 1


def _walk(cfg: GenerateConfig, latents: np.ndarray, clips: list, after: int | None,
          phases: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """The roll-out's `real` argument: the real steps it walks, when the dance is to be made of them
    (`phases`: where in its beat each real step and each new step lies)."""
    if cfg.walk != "real":
        return {}
    phase, dance_phase = (None, None) if phases is None else (torch.from_numpy(np.asarray(p, np.float32)) for p in phases)
    return {"real": RealDance(torch.from_numpy(np.array(latents, np.float32)), [tuple(c) for c in clips], after,
                              phase, dance_phase)}


# --- the music of the dance --------------------------------------------------------------------------
def dance_music(own: MusicFeatures, own_audio: Path, cfg: GenerateConfig, fps: float, lead_beats: float):
    """The music of a music run's dance: (frames, rows the model hears, lead, audio file, beat times, notes).
    The rows cover `lead` frames before the dance (enough for `lead_beats` beats) and every frame of it; the
    beat times cover the dance. Without a song or tempo it is the data's own music (`own`), looped on its
    beats when the dance is longer (`conditioning.looped`)."""
    if cfg.bpm is not None:
        seconds = cfg.seconds if cfg.seconds is not None else cfg.steps(fps) / fps
        source = drum_beat(cfg.bpm, seconds)
    else:
        source = Path(cfg.song) if cfg.song is not None else None
    retimed = ""   # a song danced at half or twice its tracked tempo (`at_her_tempo`) says so
    if source is None:
        steps = cfg.steps(fps, own.seconds)
        at, beats, audio = looped(own, own_audio, steps, fps)
        rows, music = own.features[at], own
    else:
        probe = features_for_file(source, fps=fps)
        steps = cfg.steps(fps, probe.seconds)
        music = probe if steps == len(probe.features) else features_for_file(source, fps=fps, n_frames=steps)
        if cfg.song is not None:
            music, retimed = at_her_tempo(music, own.beats.tempo)
        rows, audio, beats = music.features, source, music.beats.times
    notes = [music.beats.reason] if music.beats.fallback else []
    if retimed:
        notes.append(retimed)
    lead = max(0, math.ceil(-beat_seconds(beats, -lead_beats)[0] * fps)) + 1
    table = heard(np.concatenate([lead_in(music, lead), rows]))
    return steps, table, lead, audio, beats, notes


def _read(steps: torch.Tensor, x: np.ndarray) -> torch.Tensor:
    """`steps` (n, latent) read at fractional positions `x`: linear between the two nearest, clamped to the ends."""
    x = torch.from_numpy(np.asarray(x, np.float64)).float()
    lo = x.floor().long().clamp(0, len(steps) - 1)
    hi, w = (lo + 1).clamp(max=len(steps) - 1), (x - lo).clamp(0, 1)[:, None]
    return (1 - w) * steps[lo] + w * steps[hi]


def _in_beats(seq, representation, run_dir: Path, cfg: GenerateConfig, latents: np.ndarray, clips: list, fps: float,
              generator: torch.Generator) -> tuple[torch.Tensor, np.ndarray, Path | None, list[str]]:
    """Roll a music run's sequence model out in beat steps laid on the dance's music, then read the latent
    of every video frame off them. Returns (latents (frames, latent), beat times, audio file, notes)."""
    meta = model_meta(run_dir, "seq")
    record = meta.get("music")
    per_beat = record.get("steps_per_beat") if isinstance(record, dict) else None
    if not isinstance(per_beat, int) or isinstance(per_beat, bool) or not 1 <= per_beat <= 64:
        raise UserError(f"{run_dir / 'seq.json'}: 'music' must record 'steps_per_beat' (1-64) for a sequence model "
                        f"that hears {seq.music_features} music features; got {record!r}")
    own, own_audio = read_music(run_dir)
    steps, table, lead, audio, beats, notes = dance_music(own, own_audio, cfg, fps, seq.window / per_beat)
    cfg.check_output(steps, **_picture_size(representation, cfg))
    p0, p1 = beat_position(beats, [0.0, (steps - 1) / fps])
    n = int(math.ceil((p1 - p0) * per_beat)) + 1
    at = np.rint(beat_seconds(beats, p0 + np.arange(-seq.window, n) / per_beat) * fps).astype(int) + lead
    music = torch.from_numpy(table[np.clip(at, 0, len(table) - 1)])
    real = beat_steps(latents, heard(own.features), clips, own.beats.times, fps, steps_per_beat=per_beat,
                      between=cfg.walk == "real")
    window, after = _start_window(real.latents, real.clips, seq, cfg, generator, frames=real.frames)
    out = seq.roll_out(window, n, temperature=cfg.temperature, top_p=cfg.top_p, near=cfg.near,
                       generator=generator, music=music,
                       **_walk(cfg, real.latents, real.clips, after,
                               (beat_position(own.beats.times, real.frames / fps) % 1, (p0 + np.arange(n) / per_beat) % 1))
                       ).float()
    x = (beat_position(beats, np.arange(steps) / fps) - p0) * per_beat
    if cfg.walk == "real":
        # the walk's jumps put her pauses off the beat again: the dance's own are moved onto it as `on_beat`
        # moved hers, read straight off the steps (a second interpolation would smooth the motion away)
        at = on_beat(_read(out, x).numpy(), 0, steps, beats, fps, np.arange(steps, dtype=np.float64),
                     stretch=FINAL_STRETCH)
        x = np.interp(at, np.arange(steps), x)
    z = _read(out, x)
    return z, beats[beats <= (steps - 1) / fps + 1e-9], audio, notes


# --- another dance, in this dancer's look ----------------------------------------------------------------
def transferred(representation, cfg: GenerateConfig, fps: float) -> torch.Tensor:
    """The latents of `cfg.motion` (a BVH or keypoints file), at the data's `fps`, retargeted to this dancer:
    her size and her place in the picture (`Poses.retarget`); as long as the file, or `frames` / `seconds`."""
    if not hasattr(representation, "retarget"):
        raise UserError("--motion needs a run of poses (this one learnt pixels)")
    motion = load_motion(cfg.motion).resample(fps)
    steps = min(len(motion), cfg.steps(fps, motion.seconds))
    cfg.check_output(steps, **_picture_size(representation, cfg))
    camera = Camera.fit(*representation.source)
    track = from_dancer(motion_poses(motion, camera, 0, steps), Body(), camera, fps, known=carried(motion.source))
    return torch.from_numpy(representation.retarget(track.joints2d))


# --- the dance ----------------------------------------------------------------------------------------
def _picture_size(representation, cfg: GenerateConfig) -> dict:
    """The width and height of the dance's pictures, for its size before making it."""
    w, h = parse_size(cfg.size) if cfg.size is not None else representation.size
    return {"width": w, "height": h}


def _decode(representation, latents: torch.Tensor, k: int, batch_size: int) -> tuple[np.ndarray, torch.Tensor]:
    """Interpolate (K in-betweens a step) and decode into one preallocated array, batch by batch: memory
    for the frames once, not for the frames, a list of their batches and their concatenation."""
    latents = interpolate(latents.float(), k)
    frames = None
    at = 0
    for batch in representation.decode(latents, batch_size=batch_size):
        if frames is None:
            frames = np.empty((len(latents), *batch.shape[1:]), np.uint8)
        frames[at:at + len(batch)] = batch
        at += len(batch)
    return frames, latents


def generate(run_dir: str | os.PathLike, cfg: GenerateConfig) -> Dance:
    """A new dance from a trained run folder, at the data's frame rate times (interpolate + 1).
    The same run and config give the same frames."""
    run_dir = Path(run_dir)
    representation, seq = load_representation(run_dir), load_model(run_dir, "seq")
    if representation.recipe != seq.recipe:
        raise UserError(f"{run_dir} mixes a {representation.recipe!r} {representation.name} representation "
                        f"with a {seq.recipe!r} sequence model")
    cfg = cfg.replace(walk=cfg.walk or representation.walk)
    latents, clips, fps = read_latents(run_dir, mmap=True)
    if not latents.shape[1] == seq.latent == representation.latent:
        raise UserError(f"{run_dir / 'latents.json'}: 'latent' {latents.shape[1]} does not match the models "
                        f"(autoencoder {representation.latent}, sequence model {seq.latent}); encode the store again")
    opts = cfg.resolved(seq.recipe)
    generator = torch.Generator().manual_seed(cfg.seed)
    if cfg.motion is not None:
        out, beats, audio, notes = transferred(representation, cfg, fps), None, None, []
    elif seq.music_features:
        out, beats, audio, notes = _in_beats(seq, representation, run_dir, cfg.replace(**opts), latents, clips, fps, generator)
    else:
        if cfg.song is not None or cfg.bpm is not None:
            raise UserError(f"{run_dir} was trained without music, so it cannot follow a song or --bpm; "
                            f"train it on data with music (deepdance train --music-input on)")
        cfg.check_output(cfg.steps(fps), **_picture_size(representation, cfg))
        window, after = _start_window(latents, clips, seq, cfg, generator)
        # the original samples nothing
        sampling = {"top_p": opts["top_p"], "near": opts["near"], **_walk(cfg, latents, clips, after)
                    } if seq.recipe == "default" else {}
        out = seq.roll_out(window, cfg.steps(fps), temperature=opts["temperature"], generator=generator,
                           **sampling).float()
        beats, audio, notes = None, None, []
    if opts["project"]:
        out = representation.project(out, batch_size=cfg.batch_size)
    show_fps, k = cfg.fps or representation.fps, 0
    if show_fps:
        out = retime(out.float(), fps, show_fps)
    else:
        show_fps, k = fps * (cfg.interpolate + 1), cfg.interpolate
    if cfg.smooth is None:   # a motion file is real steps too
        cfg = cfg.replace(smooth=representation.smooth["real" if cfg.motion else cfg.walk])
    out = smooth(out.float(), cfg.smooth * show_fps / (k + 1))
    if cfg.motion is None and hasattr(representation, "plant_feet"):
        out = representation.plant_feet(out, show_fps / (k + 1))
    if cfg.size is not None:
        representation.size = parse_size(cfg.size)
    if cfg.look is not None:
        if not hasattr(representation, "use_look"):
            raise UserError(f"{run_dir} learnt pixels: --look is for runs of poses")
        representation.use_look(cfg.look)
    frames, out = _decode(representation, out, k, cfg.batch_size)
    joints = representation.joints(out.numpy()) if hasattr(representation, "joints") else None
    return Dance(frames, out.numpy(), show_fps, audio, beats, notes, joints, getattr(representation, "source", None))
