"""Stage: train a run's representation (the pose statistics and fitted body, or the autoencoder over frames;
then every frame's latent) and the sequence model over those latents, with Lightning.

Files written into the run folder (see `runfolder.py` for the whole tree):
    pose.json                       the pose representation (represent "pose"): statistics, fitted body
    ae.safetensors + ae.json        (represent "pixels") weights + {recipe, model config, train config, epochs, figures}
    latents.npy + latents.json      every frame's latent, float32 (N, latent), + the clips they belong to
    music.npy + music.json + music.*   what a music run's sequence model heard, and the music itself
    seq.safetensors + seq.json
    checkpoints/ae.ckpt, seq.ckpt   Lightning's trainer state after every epoch (for resume=True)
    logs/ae.csv, logs/seq.csv       one row per epoch
    plots/ae_loss.png, ae_recon.png (held-out frames: real above, reconstructed below), seq_loss.png
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from . import hardware, limits
from .checkpoint import check_checkpoint, save_model
from .conditioning import MUSIC_COLUMNS, STEPS_PER_BEAT, beat_steps, heard, her_music
from .config import Config
from .datasets import VAL_FRACTION, FrameData, FrameReader, LatentData, LookData, split_clips, window_starts
from .errors import UserError
from .files import read_json, write_json
from .history import History
from .metrics import fragments
from .models import RECIPE_DEFAULTS, RECIPES, build_autoencoder, build_look, build_sequence
from .models.original import HEIGHT as ORIGINAL_HEIGHT, WIDTH as ORIGINAL_WIDTH
from .modules import AEModule, LookModule, Replay, SeqModule, seq_batch, silhouette_scores
from .pose.look import EDGE, LOOK_SHEET, bodies, pair_frames, write_look_sheet
from .pose_metrics import humans_found
from .pose.space import POSE_FILE
from .progress import drop_tips, quiet_lightning, say
from .representation import REPRESENTATIONS, Pixels, Poses, load_representation, to_ink, to_pictures
from .runfolder import read_latents, read_music, write_latents, write_music
from .store import FrameStore


@dataclasses.dataclass
class TrainConfig(Config):
    recipe: str = "default"             # "default" or "original" (the original project's networks)
    represent: str = "auto"             # "pose", "pixels", or auto: pose where the store has poses (and the
                                        # default recipe), else pixels
    latent: int = 128                   # latent size
    window: int = 10                    # latents the sequence model reads
    ae_epochs: int = 24
    seq_epochs: int = 15
    look_steps: int = 400               # training steps of the dancer's learned look (pose runs); 0: the
                                        # fitted body only
    codes: int = 512                    # pose codes of the default sequence model (fewer on small data)
    predict: int = 14                   # frames scored after the window in each training sequence (default)
    music_input: str = "auto"           # the sequence model hears the data's music: auto (when the data has
                                        # music), on, off
    batch_size: int | None = None       # None: the recipe's (64 default, 32 original)
    lr: float | None = None             # None: the recipe's
    seed: int = 0
    devices: int | str = 1              # Lightning devices: a count, "auto" or a list such as "0,1"
    num_nodes: int = 1
    precision: str | None = None        # None: bf16-mixed where the hardware has it natively, else 32-true
    accelerator: str = "auto"
    val_fraction: float = VAL_FRACTION  # held out from the end of every clip

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise UserError(f"unknown recipe {self.recipe!r}: choose one of {', '.join(RECIPES)}")
        if self.represent not in ("auto", *REPRESENTATIONS):
            raise UserError(f"unknown representation {self.represent!r}: choose auto, {', '.join(REPRESENTATIONS)}")
        if self.recipe == "original" and self.represent == "pose":
            raise UserError("the original recipe learns pixels; use --represent pixels or the default recipe")
        if isinstance(self.devices, str) and self.devices.strip().isdigit():
            self.devices = int(self.devices)
        if self.look_steps < 0:
            raise UserError("look steps cannot be negative (0: no learned look)")
        if min(self.latent, self.window, self.ae_epochs, self.seq_epochs, self.num_nodes) < 1:
            raise UserError("latent, window, epochs and num_nodes must be at least 1")
        limits.at_most("latent size", self.latent, limits.MAX_LATENT)
        limits.at_most("window", self.window, limits.MAX_WINDOW, "latents")
        if self.batch_size is not None and self.batch_size < 1 or self.lr is not None and self.lr <= 0:
            raise UserError("batch size and learning rate must be positive")
        if not 0 <= self.val_fraction < 0.5:
            raise UserError(f"val_fraction must be in [0, 0.5), got {self.val_fraction}")
        if self.music_input not in ("auto", "on", "off"):
            raise UserError(f"music_input must be auto, on or off, got {self.music_input!r}")
        if self.recipe == "original" and self.music_input == "on":
            raise UserError("the original recipe has no music input; use --music-input off or the default recipe")
        hardware.check_devices(self.accelerator, self.devices, self.precision)
        if self.codes < 2 or self.predict < 1:
            raise UserError("codes must be at least 2 and predict at least 1")

    def get(self, key: str) -> Any:
        """batch_size / lr / onecycle / augment: the config's value, or the recipe's default."""
        value = getattr(self, key, None)
        return RECIPE_DEFAULTS[self.recipe][key] if value is None else value

    def representation(self, store: FrameStore) -> str:
        """"pose" or "pixels": `represent`, with auto resolved on the store."""
        if self.represent != "auto":
            if self.represent == "pose" and store.poses() is None:
                raise UserError(f"{store.path} has no poses to learn from; use --represent pixels")
            return self.represent
        return "pose" if store.poses() is not None and self.recipe == "default" else "pixels"

    def precision_for(self) -> str:
        return hardware.resolve_precision(self.precision, self.accelerator)


# --- one Lightning fit, shared by both stages --------------------------------------------------------
def _fit(module: L.LightningModule, data: FrameData | LookData | LatentData, run_dir: Path, name: str,
         cfg: TrainConfig, *, epochs: int, precision: str, resume: bool, progress: bool, history: History,
         has_val: bool) -> None:
    ckpt_dir = run_dir / "checkpoints"
    last = ckpt_dir / f"{name}.ckpt"
    signature = {"recipe": cfg.recipe, "model": module.model.config()}
    if resume and last.is_file():
        saved = read_json(ckpt_dir / f"{name}.json") if (ckpt_dir / f"{name}.json").is_file() else None
        if saved != signature:
            raise UserError(f"cannot resume: {last} was trained with {saved}, these settings build {signature}")
        check_checkpoint(last)
        ckpt_path = last
    else:
        last.unlink(missing_ok=True)
        ckpt_path = None
    if hardware.is_rank_zero():
        write_json(ckpt_dir / f"{name}.json", signature)
    drop_tips()
    trainer = L.Trainer(
        accelerator=cfg.accelerator, devices=cfg.devices, num_nodes=cfg.num_nodes, strategy=hardware.strategy(cfg.accelerator, cfg.devices, cfg.num_nodes),
        precision=precision, max_epochs=epochs, logger=False, enable_progress_bar=progress,
        enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=1.0 if has_val else 0,
        default_root_dir=run_dir,
        callbacks=[Replay(cfg.seed), history, ModelCheckpoint(dirpath=ckpt_dir, filename=name, save_top_k=1,
                                            enable_version_counter=False)])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*is smaller than the logging interval.*")
        warnings.filterwarnings("ignore", ".*exists and is not empty.*")  # our own resume signature lives there
        warnings.filterwarnings("ignore", ".*treespec, LeafSpec.*")  # Lightning internals, not ours
        # weights_only: our checkpoints hold tensors and plain values, so nothing is unpickled
        try:
            trainer.fit(module, train_dataloaders=data.train_dataloader(), val_dataloaders=data.val_dataloader(),
                        ckpt_path=ckpt_path, weights_only=True)
        except BaseException:
            hardware.stop_children()
            raise


# --- the stages --------------------------------------------------------------------------------------
def _ae_kwargs(store: FrameStore, cfg: TrainConfig) -> dict:
    if cfg.recipe == "original" and (store.width, store.height) != (ORIGINAL_WIDTH, ORIGINAL_HEIGHT):
        raise UserError(f"the original recipe needs {ORIGINAL_WIDTH}x{ORIGINAL_HEIGHT} frames; this store has "
                        f"{store.width}x{store.height} (make one with --size {ORIGINAL_WIDTH}x{ORIGINAL_HEIGHT})")
    return {"width": store.width, "height": store.height, "latent": cfg.latent}


@torch.no_grad()
def evaluate_autoencoder(model: torch.nn.Module, store: FrameStore, indices: np.ndarray,
                         *, batch_size: int = 256) -> dict[str, float]:
    """Mean IoU and pixel accuracy of held-out frames against their reconstructions thresholded at 0.5."""
    model.eval()
    device = next(model.parameters()).device
    frames = FrameReader(store, indices)
    ious, accs = [], []
    for i in range(0, len(indices), batch_size):
        x = to_ink(torch.stack([frames[j] for j in range(i, min(i + batch_size, len(indices)))]).to(device))
        iou, acc = silhouette_scores(model(x)[0], x)
        ious.append(iou.cpu())
        accs.append(acc.cpu())
    if not ious:
        return {}
    return {"val_iou": float(torch.cat(ious).mean()), "val_pixel_acc": float(torch.cat(accs).mean())}


def train_autoencoder(store: FrameStore, run_dir: str | os.PathLike, cfg: TrainConfig, *,
                      resume: bool = False, progress: bool = True) -> dict[str, float]:
    """Train the autoencoder on the store's frames; writes ae.safetensors + ae.json and the plots.
    Returns ae.val_iou, ae.val_pixel_acc, ae.seconds, ae.frames_per_s, ae.epochs."""
    run_dir = Path(run_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model = build_autoencoder(cfg.recipe, **_ae_kwargs(store, cfg))
    model = model.to(memory_format=torch.channels_last)
    data = FrameData(store, batch_size=cfg.get("batch_size"), val_fraction=cfg.val_fraction, seed=cfg.seed)
    if hasattr(model, "init_output_bias"):  # the original recipe (see models/original.py)
        pick = data.train_idx[np.linspace(0, len(data.train_idx) - 1, min(1000, len(data.train_idx))).astype(int)]
        model.init_output_bias(float(store.ink(pick).mean()))
    recon_idx = data.val_idx[np.linspace(0, len(data.val_idx) - 1, min(8, len(data.val_idx))).astype(int)]
    history = History(run_dir, "ae", recon=store.take(recon_idx) if len(recon_idx) else None, lines=not progress)
    module = AEModule(model, lr=cfg.get("lr"), onecycle=cfg.get("onecycle"), augment=cfg.get("augment"))
    precision = cfg.precision_for()
    started = time.perf_counter()
    with quiet_lightning(progress):
        _fit(module, data, run_dir, "ae", cfg, epochs=cfg.ae_epochs, precision=precision, resume=resume,
             progress=progress, history=history, has_val=len(data.val_idx) > 0)
    seconds = time.perf_counter() - started
    model = module.model.cpu().float()
    figures = evaluate_autoencoder(model, store, data.val_idx)
    out = {f"ae.{k}": round(v, 4) for k, v in figures.items()}
    out.update({"ae.seconds": round(seconds, 2), "ae.epochs": cfg.ae_epochs, "ae.precision": precision,
                "ae.frames_per_s": round(cfg.ae_epochs * len(data.train_idx) / seconds, 1)})
    if hardware.is_rank_zero():
        save_model(run_dir, "ae", model, {"train": cfg.to_dict(), "epochs": cfg.ae_epochs, "figures": out})
    hardware.barrier()
    return out


def fit_poses(store: FrameStore, run_dir: str | os.PathLike) -> dict[str, Any]:
    """The pose representation of the store (statistics, the body fitted to its silhouettes) -> pose.json.
    Returns pose.scale (median torso length, pixels), pose.thick, pose.seconds."""
    started = time.perf_counter()
    poses = Poses.fit(store)
    if hardware.is_rank_zero():
        poses.save(run_dir)
    hardware.barrier()
    return {"pose.scale": round(poses.scale, 3), "pose.thick": poses.figure.thick,
            "pose.seconds": round(time.perf_counter() - started, 2)}


def look_epochs(pairs: int, cfg: TrainConfig) -> int:
    """Epochs that make at least `look_steps` steps over `pairs` training pairs."""
    return max(1, math.ceil(cfg.look_steps / max(1, math.ceil(pairs / LOOK_BATCH))))


# The learned look is the default when it beats the body's held-out IoU by this much. The built-in dancer (who is
# the body) gained 0.021 (0.976 vs 0.955) and its dances' shape distance got 19% worse with the learned look;
# the 12-s portrait clip (a dress) gained 0.08 and its shape distance got 5% better.
LOOK_MARGIN = 0.03
# ...and when a pose estimator finds a person in its drawings of the clip's own poses as often as in the body's
# (less LOOK_HUMAN_SLACK), judged on LOOK_JUDGE of them. The waist-up green-screen clip's learned look beat the
# body's IoU by 0.10, but read as a person in 0.57 of its drawings against the body's 0.67 (dances: 0.53 / 0.65).
LOOK_JUDGE = 48
LOOK_HUMAN_SLACK = 0.02
# ...and when its drawings fall apart into pieces no more often than her silhouettes or the body's (plus
# LOOK_PIECES_SLACK regions a frame). A portrait dancer shrunk into a room (her shins lost in the cut) had a
# learned look with IoU 0.79 against the body's 0.71, whose dances drew her feet apart: 1.19 regions a frame, hers 1.01.
LOOK_PIECES_SLACK = 0.05
LOOK_BATCH = 16      # pairs a step: many small steps learn more in the same time than a few large ones


def learned_look_is_better(*, iou: float, iou_body: float, human: float, human_body: float, pieces: float,
                           pieces_allowed: float) -> bool:
    """Whether the learned look is the default: it draws her outline better than the body (held-out IoU, by
    LOOK_MARGIN), reads as a person as often, and does not fall apart into more pieces than her silhouettes or
    the body's drawings (regions a frame)."""
    return iou > iou_body + LOOK_MARGIN and human >= human_body - LOOK_HUMAN_SLACK \
        and pieces <= pieces_allowed + LOOK_PIECES_SLACK


def train_look(store: FrameStore, run_dir: str | os.PathLike, cfg: TrainConfig, *, resume: bool = False,
               progress: bool = True) -> dict[str, Any]:
    """The dancer's look (`models/look.py`) on pairs of (the body at a real pose, its real silhouette);
    writes look.safetensors + look.json, whose `default` is the look that scored better (learned or body:
    held-out IoU, a person found in its drawings, and no more pieces than hers). Returns look.val_iou,
    look.val_iou_body, look.human, look.human_body, look.pieces, look.pieces_allowed, look.default, look.seconds."""
    run_dir = Path(run_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    poses = Poses.load(run_dir)
    idx = pair_frames(store)
    parts = split_clips(store.clips, cfg.val_fraction)
    train_mask = np.zeros(len(store), bool)
    for a, c, _ in parts:
        train_mask[a:c] = True
    body = bodies(poses.joints(poses.latents(np.asarray(store.poses())[idx])), poses.figure)
    data = LookData(body, store.take(idx), np.flatnonzero(train_mask[idx]), np.flatnonzero(~train_mask[idx]),
                    batch_size=LOOK_BATCH, seed=cfg.seed)
    if not len(data.train):
        raise UserError(f"{store.path}: no frame with a pose to learn the dancer's look from")
    model = build_look("default")
    module = LookModule(model, lr=cfg.get("lr"), onecycle=cfg.get("onecycle"))
    precision = "32-true"   # measured: bf16 autocast ran this small network 5-8x slower on the CPU
    epochs = look_epochs(len(data.train), cfg)
    started = time.perf_counter()
    with quiet_lightning(progress):
        _fit(module, data, run_dir, "look", cfg, epochs=epochs, precision=precision, resume=resume,
             progress=progress, history=History(run_dir, "look", lines=not progress), has_val=len(data.val) > 0)
    seconds = time.perf_counter() - started
    model = module.model.cpu().float().eval()
    check = data.val if len(data.val) else data.train
    with torch.no_grad():
        pair = 1.0 - data.pairs[check].float() / 255.0
        learned = float(silhouette_scores(model(pair[:, :1]), pair[:, 1:])[0].mean())
        plain = float(silhouette_scores(2 * pair[:, :1] - 1, pair[:, 1:])[0].mean())

    def drawn(rows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return to_pictures(torch.sigmoid(EDGE * model(to_ink(data.pairs[rows, 0]))))

    judged = np.linspace(0, len(idx) - 1, min(LOOK_JUDGE, len(idx))).round().astype(int)
    judged_drawn = drawn(judged)
    human, human_body = humans_found([judged_drawn, data.pairs[judged, 0].numpy()])
    pieces = fragments(judged_drawn)
    pieces_allowed = max(fragments(data.pairs[judged, 1].numpy()), fragments(data.pairs[judged, 0].numpy()))
    shown = check[np.linspace(0, len(check) - 1, min(6, len(check))).round().astype(int)]
    if hardware.is_rank_zero():
        write_look_sheet(run_dir / LOOK_SHEET, data.pairs[shown, 1].numpy(), data.pairs[shown, 0].numpy(), drawn(shown))
    better = learned_look_is_better(iou=learned, iou_body=plain, human=human, human_body=human_body, pieces=pieces,
                                    pieces_allowed=pieces_allowed)
    out = {"look.val_iou": round(learned, 4), "look.val_iou_body": round(plain, 4),
           "look.human": round(human, 4), "look.human_body": round(human_body, 4),
           "look.pieces": round(pieces, 4), "look.pieces_allowed": round(pieces_allowed, 4),
           "look.default": "learned" if better else "body",
           "look.seconds": round(seconds, 2), "look.epochs": epochs, "look.pairs": int(len(idx))}
    if hardware.is_rank_zero():
        save_model(run_dir, "look", model, {"train": cfg.to_dict(), "epochs": epochs, "figures": out,
                                            "default": out["look.default"]})
    hardware.barrier()
    return out


def encode_store(store: FrameStore, run_dir: str | os.PathLike) -> Path:
    """Every frame of the store through the run's representation: latents.npy (N, latent) float32, plus
    latents.json with the clips and the frame rate, so the sequence stage needs only the run folder."""
    run_dir = Path(run_dir)
    representation = load_representation(run_dir)
    if isinstance(representation, Pixels):
        ae = representation.ae
        if (store.width, store.height) != (ae.width, ae.height):
            raise UserError(f"the autoencoder of {run_dir} was trained on {ae.width}x{ae.height} frames, "
                            f"the store has {store.width}x{store.height}")
    latents = representation.encode(store)
    if hardware.is_rank_zero():
        write_latents(run_dir, latents, fps=store.fps, clips=store.clips)
    hardware.barrier()
    return run_dir / "latents.npy"


@torch.no_grad()
def _seq_val_loss(model: torch.nn.Module, data: LatentData, seed: int) -> float | None:
    if not len(data.val_starts):
        return None
    model.eval()
    torch.manual_seed(seed)  # a model that samples in its loss gives the same figure for the same weights
    total = n = 0
    for batch in data.val_dataloader():
        args = seq_batch(batch)
        total += float(model.loss(*args)) * len(args[0])
        n += len(args[0])
    return total / n


def train_sequence(run_dir: str | os.PathLike, cfg: TrainConfig, *, music: bool = False, resume: bool = False,
                   progress: bool = True) -> dict[str, Any]:
    """Train the sequence model on latents.npy; with `music`, on the music the run keeps (`keep_music`), in
    beat steps (`conditioning.beat_steps`). Writes seq.safetensors + seq.json and plots/seq_loss.png.
    Returns seq.val_loss (None without held-out windows), seq.seconds, seq.windows_per_s, seq.epochs."""
    run_dir = Path(run_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    latents, clips, fps = read_latents(run_dir)
    poses = np.concatenate([latents[a:c] for a, c, _ in split_clips(clips, cfg.val_fraction)])
    rows = None
    if music:
        heard_music, _ = read_music(run_dir)
        if len(heard_music.features) != len(latents):
            raise UserError(f"music features for {len(heard_music.features)} frames, latents for {len(latents)}")
        steps = beat_steps(latents, heard(heard_music.features), clips, heard_music.beats.times, fps)
        latents, clips, rows = steps.latents, steps.clips, steps.music
    parts = split_clips(clips, cfg.val_fraction)
    kwargs = {"latent": latents.shape[1], "window": cfg.window}
    if cfg.recipe == "default":
        # on little data, fewer codes: one per ~5 training frames of pixels, ~2 of poses (a pose code is an
        # average pose, and few codes average the motion away: a 12-s clip's dance moved at 0.17 torso
        # lengths/s with 26 codes, 0.23 with 65, the dancer at 0.42)
        per_code = 2 if (run_dir / POSE_FILE).is_file() else 5
        kwargs.update(codes=min(cfg.codes, max(2, len(poses) // per_code)), predict=cfg.predict,
                      music_features=0 if rows is None else rows.shape[1])
    model = build_sequence(cfg.recipe, **kwargs)
    train_starts, val_starts = window_starts(parts, window=cfg.window, span=model.span)
    if not len(train_starts):
        raise _too_few(cfg, model.span, rows is not None)
    if hasattr(model, "fit_codebook"):
        model.fit_codebook(torch.from_numpy(poses), seed=cfg.seed)  # the poses of the training frames
        model.fit_runs(torch.from_numpy(latents), [(a, c) for a, c, _ in parts])  # in the steps it reads
    data = LatentData(latents, train_starts, val_starts, span=model.span, batch_size=cfg.get("batch_size"),
                      music=rows, seed=cfg.seed)
    module = SeqModule(model, lr=cfg.get("lr"), onecycle=cfg.get("onecycle"))
    precision = cfg.precision_for()
    started = time.perf_counter()
    with quiet_lightning(progress):
        _fit(module, data, run_dir, "seq", cfg, epochs=cfg.seq_epochs, precision=precision, resume=resume,
             progress=progress, history=History(run_dir, "seq", lines=not progress), has_val=len(val_starts) > 0)
    seconds = time.perf_counter() - started
    model = module.model.cpu().float().eval()
    val = _seq_val_loss(model, data, cfg.seed)
    out = {"seq.val_loss": None if val is None else round(val, 4), "seq.seconds": round(seconds, 2),
           "seq.windows_per_s": round(cfg.seq_epochs * len(train_starts) / seconds, 1),
           "seq.epochs": cfg.seq_epochs, "seq.precision": precision, "seq.music": rows is not None}
    if hardware.is_rank_zero():
        save_model(run_dir, "seq", model, {"train": cfg.to_dict(), "epochs": cfg.seq_epochs, "figures": out,
                                           "music": {"columns": list(MUSIC_COLUMNS), "steps_per_beat": STEPS_PER_BEAT}
                                           if rows is not None else None})
    hardware.barrier()
    return out


def _too_few(cfg: TrainConfig, span: int, music: bool) -> UserError:
    return UserError(f"too few frames to train the sequence model: it needs a clip of at least {span} training "
                     f"{'beat steps' if music else 'frames'} (window {cfg.window}), after the held-out "
                     f"{cfg.val_fraction:.0%} of each clip")


def sequence_span(cfg: TrainConfig) -> int:
    """Length of one training sequence of the sequence model these settings build."""
    kwargs = {"latent": 1, "window": cfg.window}
    if cfg.recipe == "default":
        kwargs.update(codes=2, predict=cfg.predict)
    return build_sequence(cfg.recipe, **kwargs).span


def check_sequence_data(store: FrameStore, cfg: TrainConfig, music: bool) -> None:
    """Refuse, before the autoencoder trains, data too short for the sequence model: the same windows
    `train_sequence` will cut, counted in frames, or for a music run in beat steps (the music is analysed
    now rather than after the autoencoder; the analysis is cached in the store)."""
    clips = store.clips
    if music:
        features, _ = her_music(store)
        clips = beat_steps(np.zeros((len(store), 1), np.float32), heard(features.features), clips,
                           features.beats.times, store.fps).clips
    span = sequence_span(cfg)
    starts, _ = window_starts(split_clips(clips, cfg.val_fraction), window=cfg.window, span=span)
    if not len(starts):
        raise _too_few(cfg, span, music)


def hears_music(store: FrameStore, cfg: TrainConfig) -> bool:
    """Does the sequence model train with the data's music? `music_input` on, or auto on a store with music
    and the default recipe."""
    wanted = cfg.music_input
    if wanted == "auto":
        wanted = "on" if store.audio_path is not None and cfg.recipe == "default" else "off"
    if wanted == "on" and store.audio_path is None:
        raise UserError(f"{store.path} has no music to train with; use --music-input off")
    return wanted == "on"


def keep_music(store: FrameStore, run_dir: Path) -> None:
    """The store's music features and music file, kept in the run folder for training and generation."""
    if hardware.is_rank_zero():
        music, why = her_music(store)
        if why:
            say(f"music: {why}")
        write_music(run_dir, music, store.audio_path)
    hardware.barrier()


def _done(run_dir: Path, name: str, epochs: int) -> dict | None:
    """The figures of a stage that already finished `epochs` epochs in this run folder, else None."""
    meta = run_dir / f"{name}.json"
    if not (meta.is_file() and (run_dir / f"{name}.safetensors").is_file()):
        return None
    data = read_json(meta)
    return data.get("figures") if isinstance(data, dict) and data.get("epochs") == epochs else None


def train(store: FrameStore, run_dir: str | os.PathLike, cfg: TrainConfig, *, stage: str = "all",
          resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train a run: stage "ae" (the representation: the pose statistics or the autoencoder, then encode every
    frame), "seq" (sequence model on the latents; encodes first if latents.npy is missing) or "all".
    resume=True continues interrupted stages from their last checkpoint and skips the ones already finished.
    Returns the figures of the stages it ran."""
    if stage not in ("ae", "seq", "all"):
        raise UserError(f"unknown stage {stage!r}: choose ae, seq or all")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    music = hears_music(store, cfg)
    if stage in ("seq", "all"):
        check_sequence_data(store, cfg, music)
    if resume:  # a checkpoint to resume from is checked before any stage starts
        for last in sorted((run_dir / "checkpoints").glob("*.ckpt")):
            check_checkpoint(last)
    represent = cfg.representation(store)
    figures: dict[str, Any] = {"represent": represent}
    if stage in ("ae", "all") and represent == "pose":
        say(f"pose: the pose representation of {len(store)} frames, the body fitted to the dancer")
        figures.update(fit_poses(store, run_dir))
        started = time.perf_counter()
        encode_store(store, run_dir)
        figures["encode.seconds"] = round(time.perf_counter() - started, 2)
        if cfg.look_steps:
            done = _done(run_dir, "look", look_epochs(len(pair_frames(store)), cfg)) if resume else None
            if done is None:
                say(f"look: the dancer's own look, {cfg.look_steps} steps on the body at her poses")
                done = train_look(store, run_dir, cfg, resume=resume, progress=progress)
            figures.update(done)
        elif hardware.is_rank_zero():
            for f in ("look.safetensors", "look.json"):
                (run_dir / f).unlink(missing_ok=True)
    elif stage in ("ae", "all"):
        if hardware.is_rank_zero():
            (run_dir / POSE_FILE).unlink(missing_ok=True)   # a pixel run decodes with its autoencoder
        done = _done(run_dir, "ae", cfg.ae_epochs) if resume else None
        if done is not None and (run_dir / "latents.npy").is_file():
            figures.update(done)
        else:
            say(f"ae: the autoencoder, {cfg.ae_epochs} epochs on {len(store)} frames")
            figures.update(train_autoencoder(store, run_dir, cfg, resume=resume, progress=progress))
            say("encode: every frame to its latent")
            started = time.perf_counter()
            encode_store(store, run_dir)
            figures["encode.seconds"] = round(time.perf_counter() - started, 2)
    if stage in ("seq", "all"):
        if not (run_dir / "latents.npy").is_file():
            encode_store(store, run_dir)
        done = _done(run_dir, "seq", cfg.seq_epochs) if resume else None
        if done is None:
            if music:
                keep_music(store, run_dir)
            say(f"seq: the sequence model, {cfg.seq_epochs} epochs" + (" with the music" if music else ""))
            done = train_sequence(run_dir, cfg, music=music, resume=resume, progress=progress)
        figures.update(done)
    return figures
