"""The run folder: where each file of a run lives, and reading and writing the ones stages share.

    runs/NAME/
        config.json                 every stage's config (synth or ingest, train, generate, run)
        store/ or store.json        the frame store, or a reference to one outside the run
        pose.json                   the pose representation: joint statistics, the fitted body (the default)
        ae.safetensors, ae.json     or autoencoder weights + config (the pixel representation)
        latents.npy, latents.json   every frame's latent + the clips, the frame rate
        music.npy, music.json       what the sequence model hears of the data's music (music runs) ...
        music.wav                   ... and that music, so the run generates without its store
        seq.safetensors, seq.json   sequence model weights + config
        checkpoints/, logs/         Lightning's resumable state, one CSV row per epoch
        plots/                      loss curves, reconstructions
        dance.mp4, dance.gif, contact_sheet.png
        dance.bvh, dance_keypoints.npz, dance_skeleton.mp4   (pose runs) the dance for other tools
        metrics.json                data, training, generation and timing figures
        evaluation/                 evaluation.json, report.html

A run folder stands alone: generating reads only the files above. The store is needed to train and to
compare dances with the real frames (`evaluate`); it is optional otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .audio import Beats, MusicFeatures
from .errors import UserError
from .files import atomic_path, read_json, write_json
from .store import FrameStore

STORE_REF = "store.json"
CONFIG = "config.json"
METRICS = "metrics.json"
LATENTS, LATENTS_INFO = "latents.npy", "latents.json"
MUSIC, MUSIC_INFO = "music.npy", "music.json"


def relative(path: str | os.PathLike, run_dir: Path) -> str:
    """A path inside the run folder relative to it (the folder may be moved), any other absolute."""
    try:
        return str(Path(path).resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return str(Path(path).resolve())


# --- the store -----------------------------------------------------------------------------------
def link_store(run_dir: Path, store: str | os.PathLike) -> FrameStore:
    """Record which store a run learns from; a store inside the run folder is referenced relatively."""
    opened = FrameStore.open(store)
    write_json(run_dir / STORE_REF, {"path": relative(store, run_dir)})
    return opened


def store_path(run_dir: str | os.PathLike) -> Path:
    """Where the run's store.json says its store is (not checked to exist)."""
    run_dir = Path(run_dir)
    ref = run_dir / STORE_REF
    if not ref.is_file():
        raise UserError(f"{run_dir} is not a run folder (no {STORE_REF}); train one with 'deepdance train'")
    data = read_json(ref)
    if not isinstance(data, dict) or not isinstance(data.get("path"), str) or not data["path"]:
        raise UserError(f"{ref}: 'path' must name the run's frame store")
    path = Path(data["path"])
    return path if path.is_absolute() else run_dir / path


def run_store(run_dir: str | os.PathLike) -> FrameStore:
    """The run's frame store; a UserError when it cannot be opened."""
    return FrameStore.open(store_path(run_dir))


def optional_store(run_dir: str | os.PathLike) -> FrameStore | None:
    """The run's frame store, or None when it has moved or gone (generation does not need it)."""
    try:
        return run_store(run_dir)
    except UserError:
        return None


# --- JSON files of the run ----------------------------------------------------------------------------
def update_json(path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """Merge sections into a JSON file of the run (metrics.json, config.json), atomically."""
    data = read_json(path) if path.exists() else {}
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object")
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    write_json(path, data)
    return data


def update_metrics(run_dir: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    return update_json(run_dir / METRICS, **sections)


def update_config(run_dir: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    return update_json(run_dir / CONFIG, **sections)


def saved_config(run_dir: Path, stage: str) -> dict[str, Any] | None:
    """The `stage` section of the run's config.json, None when there is none."""
    path = run_dir / CONFIG
    section = read_json(path).get(stage) if path.is_file() else None
    if section is not None and not isinstance(section, dict):
        raise UserError(f"{path}: '{stage}' must be an object of settings")
    return section


# --- latents --------------------------------------------------------------------------------------
def write_latents(run_dir: Path, latents: np.ndarray, *, fps: float, clips: list) -> Path:
    path = run_dir / LATENTS
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, latents)
    write_json(run_dir / LATENTS_INFO, {"frames": len(latents), "latent": int(latents.shape[1]), "fps": fps,
                                        "clips": [list(c) for c in clips]})
    return path


def read_latents(run_dir: Path, *, mmap: bool = False) -> tuple[np.ndarray, list[list[int]], float]:
    """Every frame's latent (N, latent) float32, the clips ([start, stop) rows) and the frame rate, checked
    against latents.json. `mmap` leaves them on disk (generation reads a few windows)."""
    path, info_path = run_dir / LATENTS, run_dir / LATENTS_INFO
    if not path.is_file():
        raise UserError(f"{run_dir} has no {LATENTS}: train the representation first ('deepdance train --stage ae')")
    info = read_json(info_path)
    try:
        latents = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as e:
        raise UserError(f"{path} is not a plain array ({e})") from None
    where = f"{info_path}"
    if not isinstance(info, dict):
        raise UserError(f"{where} must hold a JSON object")
    if latents.ndim != 2 or len(latents) != info.get("frames") or latents.shape[1] != info.get("latent"):
        raise UserError(f"{path} {latents.shape} does not match {where} (frames {info.get('frames')}, latent "
                        f"{info.get('latent')}); encode the store again")
    fps = info.get("fps")
    if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not 0 < fps < 1000:
        raise UserError(f"{where}: 'fps' must be a positive frame rate, got {fps!r}")
    clips = info.get("clips")
    if not isinstance(clips, list) or not clips or not all(
            isinstance(c, list) and len(c) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in c)
            and 0 <= c[0] < c[1] <= len(latents) for c in clips):
        raise UserError(f"{where}: 'clips' must be a list of [start, stop) frame ranges within {len(latents)} frames")
    return (latents if mmap else latents.astype(np.float32, copy=False)), clips, float(fps)


# --- the data's music -------------------------------------------------------------------------------
def write_music(run_dir: Path, music: MusicFeatures, audio: Path) -> None:
    """Keep the data's music features and the music itself in the run (a link where the file system
    allows it), so a run generates to its own music without its store."""
    suffix = audio.suffix or ".wav"
    target = run_dir / f"music{suffix}"
    if audio.resolve() != target.resolve():
        with atomic_path(target) as tmp:
            tmp.unlink()
            try:
                os.link(audio, tmp)
            except OSError:
                shutil.copyfile(audio, tmp)
    with atomic_path(run_dir / MUSIC) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, music.features)
    write_json(run_dir / MUSIC_INFO, {"fps": music.fps, "seconds": music.seconds, "audio": target.name,
                                      "beats": music.beats.to_dict()})


def read_music(run_dir: Path) -> tuple[MusicFeatures, Path]:
    """The data's music features and music file, as `write_music` kept them."""
    info_path = run_dir / MUSIC_INFO
    if not info_path.is_file():
        raise UserError(f"{run_dir} keeps no music ({MUSIC_INFO}); train it again with music")
    info = read_json(info_path)
    try:
        audio = run_dir / Path(info["audio"]).name  # only a file of the run folder itself
        beats = Beats.from_dict(info["beats"])
        features = np.load(run_dir / MUSIC, allow_pickle=False)
        music = MusicFeatures(features, float(info["fps"]), beats, float(info["seconds"]))
    except (KeyError, TypeError, ValueError, OSError) as e:
        raise UserError(f"{info_path}: malformed music record ({e})") from None
    if not audio.is_file():
        raise UserError(f"{run_dir} is missing its music file {audio.name}")
    return music, audio
