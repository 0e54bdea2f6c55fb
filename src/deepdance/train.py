"""Training with Lightning: the autoencoder on frames, then the sequence model on the frames' latents.

Files written into the run folder:
    ae.safetensors + ae.json        weights + {recipe, model config, train config, epochs, figures}
    latents.npy + latents.json      every frame's latent, float32 (N, latent), + the clips they belong to
    seq.safetensors + seq.json
    checkpoints/ae.ckpt, seq.ckpt   Lightning's trainer state after every epoch (for resume=True)
    logs/ae.csv, logs/seq.csv       one row per epoch
    plots/ae_loss.png, ae_recon.png (held-out frames: real above, reconstructed below), seq_loss.png

The end of every clip is held out for validation (never a random split: neighbouring frames are
near-copies), and no training window crosses a clip boundary.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import os
import time
import warnings
from pathlib import Path
from typing import Any

import cv2
import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.strategies import DDPStrategy
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from .config import Config
from .errors import UserError
from .files import atomic_path, read_json, write_json
from .models import RECIPES, build_autoencoder, build_sequence
from .models.original import HEIGHT as ORIGINAL_HEIGHT, WIDTH as ORIGINAL_WIDTH
from .store import FRAMES, FrameStore, frame_bytes

MODEL_FORMAT = "deepdance-model/1"
# What the sequence model hears of the music: rhythm and loudness. The spectral bands are left out, as they
# describe the timbre of the training song more than how to move, and would not carry over to other songs.
MUSIC_COLUMNS = ("onset", "beat_sin", "beat_cos", "bar_sin", "bar_cos", "tempo", "loudness")
STEPS_PER_BEAT = 8  # a music run's sequence model takes this many steps a beat (12 fps at 90 BPM)
# per recipe: batch size, learning rate, schedule (the original used plain Adam at Keras' default rate and
# batch size), and whether the autoencoder sees shifted and mirrored frames
RECIPE_DEFAULTS = {"default": {"batch_size": 64, "lr": 3e-3, "onecycle": True, "augment": True},
                   "original": {"batch_size": 32, "lr": 1e-3, "onecycle": False, "augment": False}}


@dataclasses.dataclass
class TrainConfig(Config):
    recipe: str = "default"             # "default" or "original" (the original project's networks)
    latent: int = 128                   # latent size
    window: int = 10                    # latents the sequence model reads
    ae_epochs: int = 24
    seq_epochs: int = 15
    codes: int = 512                    # pose codes of the default sequence model (fewer on small data)
    predict: int = 14                   # frames scored after the window in each training sequence (default)
    music: str = "auto"                 # condition the sequence model on the music: auto (when the data has
                                        # music), on, off
    batch_size: int | None = None       # None: the recipe's (64 default, 32 original)
    lr: float | None = None             # None: the recipe's
    seed: int = 0
    devices: int | str = 1              # Lightning devices: a count, "auto" or a list such as "0,1"
    num_nodes: int = 1
    precision: str | None = None        # None: bf16-mixed where it is measurably faster, else 32-true
    accelerator: str = "auto"
    val_fraction: float = 0.1           # held out from the end of every clip

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise UserError(f"unknown recipe {self.recipe!r}: choose one of {', '.join(RECIPES)}")
        if isinstance(self.devices, str) and self.devices.strip().isdigit():
            self.devices = int(self.devices)
        if min(self.latent, self.window, self.ae_epochs, self.seq_epochs, self.num_nodes) < 1:
            raise UserError("latent, window, epochs and num_nodes must be at least 1")
        if self.batch_size is not None and self.batch_size < 1 or self.lr is not None and self.lr <= 0:
            raise UserError("batch size and learning rate must be positive")
        if not 0 <= self.val_fraction < 0.5:
            raise UserError(f"val_fraction must be in [0, 0.5), got {self.val_fraction}")
        if self.music not in ("auto", "on", "off"):
            raise UserError(f"music must be auto, on or off, got {self.music!r}")
        if self.recipe == "original" and self.music == "on":
            raise UserError("the original recipe has no music input; use --music off or the default recipe")
        if self.codes < 2 or self.predict < 1:
            raise UserError("codes must be at least 2 and predict at least 1")

    def get(self, key: str) -> Any:
        """batch_size / lr / onecycle / augment: the config's value, or the recipe's default."""
        value = getattr(self, key, None)
        return RECIPE_DEFAULTS[self.recipe][key] if value is None else value


# --- hardware: accelerator, precision, strategy ----------------------------------------------------
def _on_cuda(cfg: TrainConfig) -> bool:
    return cfg.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()


@functools.lru_cache(maxsize=None)
def fast_bf16_cpu(kind: str) -> bool:
    """Does bf16 autocast speed up this kind of layer ("conv" or "lstm") on this CPU? Measured, not assumed:
    a CPU without native bf16 emulates it and runs slower than float32. The two are timed in turns and
    the best of five kept, so that other work on a shared machine does not decide it."""
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() or \
        getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    if not (torch.backends.mkldnn.is_available() and native):
        return False
    if kind == "conv":
        net = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 4, 2, 1), torch.nn.SiLU(), torch.nn.Conv2d(16, 32, 4, 2, 1),
                                  torch.nn.SiLU(), torch.nn.Conv2d(32, 64, 4, 2, 1))
        net = net.to(memory_format=torch.channels_last)
        x = torch.rand(32, 1, 96, 160).contiguous(memory_format=torch.channels_last)
    else:
        net, x = torch.nn.LSTM(128, 256, batch_first=True), torch.rand(64, 10, 128)

    def once(bf16: bool) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
            out = out[0] if isinstance(out, tuple) else out
        out.float().sum().backward()
        return time.perf_counter() - start

    once(False), once(True)  # warm-up: kernels are built on first use
    times = {False: [], True: []}
    for _ in range(5):
        for bf16 in (False, True):
            times[bf16].append(once(bf16))
    return min(times[True]) < 0.8 * min(times[False])


def resolve_precision(cfg: TrainConfig, kind: str) -> str:
    if cfg.precision is not None:
        return cfg.precision
    if _on_cuda(cfg):
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if fast_bf16_cpu(kind) else "32-true"


def _device_count(cfg: TrainConfig) -> int:
    d = cfg.devices
    if isinstance(d, int):
        return torch.cuda.device_count() if d == -1 and _on_cuda(cfg) else max(d, 1)
    if d == "auto":
        return torch.cuda.device_count() if _on_cuda(cfg) else 1
    return len([p for p in str(d).split(",") if p.strip()])


def _strategy(cfg: TrainConfig):
    # launched by torchrun / a cluster: every process runs this code already
    if cfg.num_nodes > 1 or "LOCAL_RANK" in os.environ:
        return "ddp"
    # several local processes: spawn them here, so the CLI, notebooks and tests all work
    if _device_count(cfg) > 1:
        return DDPStrategy(start_method="spawn")
    return "auto"


def _is_rank_zero() -> bool:
    return not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0


def _barrier() -> None:
    if torch.distributed.is_initialized():
        torch.distributed.barrier()


# --- data -----------------------------------------------------------------------------------------
def split_clips(clips, val_fraction: float) -> list[tuple[int, int, int]]:
    """(start, cut, stop) per clip: frames [start, cut) train, [cut, stop) are held out."""
    parts = []
    for a, b in clips:
        n_val = int(round((b - a) * val_fraction))
        if val_fraction > 0 and b - a > 1:
            n_val = max(n_val, 1)
        parts.append((a, b - n_val, b))
    return parts


class _Frames(Dataset):
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


class FrameData(L.LightningDataModule):
    def __init__(self, store: FrameStore, *, batch_size: int, val_fraction: float):
        super().__init__()
        self.store, self.batch_size = store, batch_size
        parts = split_clips(store.clips, val_fraction)
        self.train_idx = np.concatenate([np.arange(a, c) for a, c, _ in parts])
        self.val_idx = np.concatenate([np.arange(c, b) for _, c, b in parts])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Frames(self.store, self.train_idx), batch_size=self.batch_size, shuffle=True,
                          drop_last=len(self.train_idx) > self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(_Frames(self.store, self.val_idx), batch_size=self.batch_size)


class _Windows(Dataset):
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


class LatentData(L.LightningDataModule):
    def __init__(self, latents: np.ndarray, train_starts: np.ndarray, val_starts: np.ndarray, *,
                 span: int, batch_size: int, music: np.ndarray | None = None):
        super().__init__()
        self.latents, self.span, self.batch_size, self.music = latents, span, batch_size, music
        self.train_starts, self.val_starts = train_starts, val_starts

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Windows(self.latents, self.train_starts, self.span, self.music),
                          batch_size=self.batch_size, shuffle=True,
                          drop_last=len(self.train_starts) > self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(_Windows(self.latents, self.val_starts, self.span, self.music),
                          batch_size=4 * self.batch_size)


# --- Lightning modules ----------------------------------------------------------------------------
class _Stage(L.LightningModule):
    def __init__(self, model: torch.nn.Module, *, lr: float, onecycle: bool):
        super().__init__()
        self.model, self.lr, self.onecycle = model, lr, onecycle

    def setup(self, stage: str) -> None:
        # spawned CPU processes share the cores instead of each taking all of them
        if self.trainer.world_size > 1 and self.device.type == "cpu":
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.trainer.num_devices))

    def configure_optimizers(self):
        if not self.onecycle:
            return torch.optim.Adam(self.parameters(), lr=self.lr)
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=1e-4)
        # one warm-up and one long decay over the whole budget: the best result for a fixed, short budget
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, pct_start=0.15,
                                                    total_steps=max(1, self.trainer.estimated_stepping_batches))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def to_ink(batch: torch.Tensor) -> torch.Tensor:
    """uint8 pictures (B, H, W), 0 = dancer, to float ink maps (B, 1, H, W), 1 = dancer."""
    x = 1.0 - batch.unsqueeze(1).float() / 255.0
    return x.contiguous(memory_format=torch.channels_last)


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


def _seq_batch(batch) -> tuple:
    """A batch of latents, or of (latents, music): the arguments of the sequence model's loss."""
    return tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)


class SeqModule(_Stage):
    def training_step(self, batch, batch_idx):
        args = _seq_batch(batch)
        loss = self.model.loss(*args)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(args[0]),
                 sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        args = _seq_batch(batch)
        self.log("val_loss", self.model.loss(*args), on_epoch=True, prog_bar=True, batch_size=len(args[0]),
                 sync_dist=True)


# --- per-epoch records: CSV, loss curves, reconstructions -------------------------------------------
class History(L.Callback):
    """Keeps one row of figures per epoch (saved in Lightning's checkpoint, so resume keeps the curves)
    and rewrites logs/NAME.csv, plots/NAME_loss.png and, given frames, plots/NAME_recon.png."""

    def __init__(self, run_dir: Path, name: str, recon: np.ndarray | None = None):
        self.run_dir, self.name, self.recon = run_dir, name, recon
        self.rows: list[dict[str, float]] = []
        self._start = 0.0

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
            write_csv(self.run_dir / "logs" / f"{self.name}.csv", self.rows)
            plot_losses(self.rows, self.run_dir / "plots" / f"{self.name}_loss.png", title=self.name)
            if self.recon is not None:
                recon_grid(pl_module.model, self.recon, self.run_dir / "plots" / f"{self.name}_recon.png")


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
    recon = (255 * (1 - torch.sigmoid(logits.float()))).round().byte().cpu().numpy()[:, 0]
    h, w = frames.shape[1:]
    sheet = np.full((2 * h + 6, len(frames) * (w + 2) + 2), 128, np.uint8)
    for i, (real, rec) in enumerate(zip(frames, recon)):
        x = 2 + i * (w + 2)
        sheet[2:2 + h, x:x + w] = real
        sheet[4 + h:4 + 2 * h, x:x + w] = rec
    with atomic_path(path) as tmp:
        tmp.write_bytes(cv2.imencode(".png", sheet)[1].tobytes())


# --- saving and loading models ---------------------------------------------------------------------
def save_model(run_dir: Path, name: str, model: torch.nn.Module, meta: dict[str, Any]) -> None:
    """NAME.json (recipe, model config, and whatever `meta` adds) then NAME.safetensors, each atomically."""
    write_json(run_dir / f"{name}.json", {"format": MODEL_FORMAT, "kind": name, "recipe": model.recipe,
                                          "model": model.config(), **meta})
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(run_dir / f"{name}.safetensors") as tmp:
        save_file(state, str(tmp))


def _load_model(run_dir: str | os.PathLike, name: str, build) -> torch.nn.Module:
    run_dir = Path(run_dir)
    weights, meta_path = run_dir / f"{name}.safetensors", run_dir / f"{name}.json"
    what = {"ae": "autoencoder", "seq": "sequence model"}[name]
    if not weights.is_file() or not meta_path.is_file():
        raise UserError(f"{run_dir} has no trained {what} ({weights.name} + {meta_path.name}); "
                        f"train it first with 'deepdance train'")
    meta = read_json(meta_path)
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT or meta.get("kind") != name:
        raise UserError(f"{meta_path} is not a deepdance {what} config")
    try:
        model = build(meta["recipe"], **meta["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{meta_path}: cannot build the {what} ({e})") from None
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise UserError(f"{weights} is not a readable safetensors file ({e})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1].strip()
        raise UserError(f"{weights} does not match its config {meta_path.name}: {first}") from None
    return model.eval()


def load_autoencoder(run_dir: str | os.PathLike) -> torch.nn.Module:
    """The trained autoencoder of a run folder, in eval mode on the CPU."""
    return _load_model(run_dir, "ae", build_autoencoder)


def load_sequence(run_dir: str | os.PathLike) -> torch.nn.Module:
    """The trained sequence model of a run folder, in eval mode on the CPU."""
    return _load_model(run_dir, "seq", build_sequence)


# --- one Lightning fit, shared by both stages --------------------------------------------------------
def _fit(module: _Stage, data: L.LightningDataModule, run_dir: Path, name: str, cfg: TrainConfig, *,
         epochs: int, precision: str, resume: bool, progress: bool, history: History, has_val: bool) -> None:
    ckpt_dir = run_dir / "checkpoints"
    last = ckpt_dir / f"{name}.ckpt"
    signature = {"recipe": cfg.recipe, "model": module.model.config()}
    if resume and last.is_file():
        saved = read_json(ckpt_dir / f"{name}.json") if (ckpt_dir / f"{name}.json").is_file() else None
        if saved != signature:
            raise UserError(f"cannot resume: {last} was trained with {saved}, these settings build {signature}")
        ckpt_path = last
    else:
        last.unlink(missing_ok=True)
        ckpt_path = None
    if _is_rank_zero():
        write_json(ckpt_dir / f"{name}.json", signature)
    trainer = L.Trainer(
        accelerator=cfg.accelerator, devices=cfg.devices, num_nodes=cfg.num_nodes, strategy=_strategy(cfg),
        precision=precision, max_epochs=epochs, logger=False, enable_progress_bar=progress,
        enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=1.0 if has_val else 0,
        default_root_dir=run_dir,
        callbacks=[history, ModelCheckpoint(dirpath=ckpt_dir, filename=name, save_top_k=1,
                                            enable_version_counter=False)])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*is smaller than the logging interval.*")
        warnings.filterwarnings("ignore", ".*exists and is not empty.*")  # our own resume signature lives there
        warnings.filterwarnings("ignore", ".*treespec, LeafSpec.*")  # Lightning internals, not ours
        # weights_only: our checkpoints hold tensors and plain values, so nothing is unpickled
        trainer.fit(module, datamodule=data, ckpt_path=ckpt_path, weights_only=True)


def _quiet(progress: bool):
    """Lightning's start-up chatter (GPU available, TPU...) only when a progress bar is shown too."""
    if progress:
        return contextlib.nullcontext()
    import logging

    logger = logging.getLogger("lightning.pytorch")

    @contextlib.contextmanager
    def ctx():
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            logger.setLevel(level)

    return ctx()


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
    frames = _Frames(store, indices)
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
    data = FrameData(store, batch_size=cfg.get("batch_size"), val_fraction=cfg.val_fraction)
    if hasattr(model, "init_output_bias"):  # the original recipe (see models/original.py)
        pick = data.train_idx[np.linspace(0, len(data.train_idx) - 1, min(1000, len(data.train_idx))).astype(int)]
        model.init_output_bias(float(store.ink(pick).mean()))
    recon_idx = data.val_idx[np.linspace(0, len(data.val_idx) - 1, min(8, len(data.val_idx))).astype(int)]
    history = History(run_dir, "ae", recon=store.take(recon_idx) if len(recon_idx) else None)
    module = AEModule(model, lr=cfg.get("lr"), onecycle=cfg.get("onecycle"), augment=cfg.get("augment"))
    precision = resolve_precision(cfg, "conv")
    started = time.perf_counter()
    with _quiet(progress):
        _fit(module, data, run_dir, "ae", cfg, epochs=cfg.ae_epochs, precision=precision, resume=resume,
             progress=progress, history=history, has_val=len(data.val_idx) > 0)
    seconds = time.perf_counter() - started
    model = module.model.cpu().float()
    figures = evaluate_autoencoder(model, store, data.val_idx)
    out = {f"ae.{k}": round(v, 4) for k, v in figures.items()}
    out.update({"ae.seconds": round(seconds, 2), "ae.epochs": cfg.ae_epochs, "ae.precision": precision,
                "ae.frames_per_s": round(cfg.ae_epochs * len(data.train_idx) / seconds, 1)})
    if _is_rank_zero():
        save_model(run_dir, "ae", model, {"train": cfg.to_dict(), "epochs": cfg.ae_epochs, "figures": out})
    _barrier()
    return out


@torch.no_grad()
def encode_store(store: FrameStore, run_dir: str | os.PathLike, *, batch_size: int = 256) -> Path:
    """Encode every frame of the store with the run's autoencoder: latents.npy (N, latent) float32, plus
    latents.json with the clips, so the sequence stage needs only the run folder."""
    run_dir = Path(run_dir)
    model = load_autoencoder(run_dir).to(memory_format=torch.channels_last)
    if (store.width, store.height) != (model.width, model.height):
        raise UserError(f"the autoencoder of {run_dir} was trained on {model.width}x{model.height} frames, "
                        f"the store has {store.width}x{store.height}")
    out = np.empty((len(store), model.latent), np.float32)
    frames = _Frames(store, np.arange(len(store)))
    for i in range(0, len(store), batch_size):
        batch = torch.stack([frames[j] for j in range(i, min(i + batch_size, len(store)))])
        out[i:i + len(batch)] = model.encode(to_ink(batch)).numpy()
    path = run_dir / "latents.npy"
    if _is_rank_zero():
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, out)
        write_json(run_dir / "latents.json", {"frames": len(store), "latent": model.latent, "fps": store.fps,
                                              "clips": [list(c) for c in store.clips]})
    _barrier()
    return path


def _load_latents(run_dir: Path) -> tuple[np.ndarray, list]:
    path = run_dir / "latents.npy"
    if not path.is_file():
        raise UserError(f"{run_dir} has no latents.npy: train the autoencoder first ('deepdance train --stage ae')")
    latents = np.load(path, allow_pickle=False)
    info = read_json(run_dir / "latents.json")
    if latents.ndim != 2 or len(latents) != info.get("frames"):
        raise UserError(f"{path} does not match latents.json; encode the store again")
    return latents.astype(np.float32, copy=False), info["clips"]


@torch.no_grad()
def _seq_val_loss(model: torch.nn.Module, data: LatentData, seed: int) -> float | None:
    if not len(data.val_starts):
        return None
    model.eval()
    torch.manual_seed(seed)  # a model that samples in its loss gives the same figure for the same weights
    total = n = 0
    for batch in data.val_dataloader():
        args = _seq_batch(batch)
        total += float(model.loss(*args)) * len(args[0])
        n += len(args[0])
    return total / n


def train_sequence(run_dir: str | os.PathLike, cfg: TrainConfig, *,
                   music: tuple[np.ndarray, np.ndarray] | None = None, resume: bool = False,
                   progress: bool = True) -> dict[str, Any]:
    """Train the sequence model on latents.npy; with `music` = (the conditioning features of every frame,
    the beat times in seconds), see `store_music`, it learns in beat steps (`beat_steps`).
    Writes seq.safetensors + seq.json and plots/seq_loss.png.
    Returns seq.val_loss (None without held-out windows), seq.seconds, seq.windows_per_s, seq.epochs."""
    run_dir = Path(run_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    latents, clips = _load_latents(run_dir)
    poses = np.concatenate([latents[a:c] for a, c, _ in split_clips(clips, cfg.val_fraction)])
    if music is not None:
        rows, beats = music
        if len(rows) != len(latents):
            raise UserError(f"music features for {len(rows)} frames, latents for {len(latents)}")
        steps = beat_steps(latents, rows, clips, beats, read_json(run_dir / "latents.json")["fps"])
        latents, clips, music = steps.latents, steps.clips, steps.music
    parts = split_clips(clips, cfg.val_fraction)
    kwargs = {"latent": latents.shape[1], "window": cfg.window}
    if cfg.recipe == "default":
        # a code stands for ~5 training frames at least: on little data, fewer codes
        kwargs.update(codes=min(cfg.codes, max(2, len(poses) // 5)), predict=cfg.predict,
                      music=0 if music is None else music.shape[1])
    model = build_sequence(cfg.recipe, **kwargs)
    train_starts, val_starts = window_starts(parts, window=cfg.window, span=model.span)
    if not len(train_starts):
        raise UserError(f"too few frames to train the sequence model: it needs clips of at least {model.span} "
                        f"training frames (window {cfg.window})")
    if hasattr(model, "fit_codebook"):
        model.fit_codebook(torch.from_numpy(poses), seed=cfg.seed)  # the poses of the training frames
    data = LatentData(latents, train_starts, val_starts, span=model.span, batch_size=cfg.get("batch_size"),
                      music=music)
    module = SeqModule(model, lr=cfg.get("lr"), onecycle=cfg.get("onecycle"))
    precision = resolve_precision(cfg, "lstm")
    started = time.perf_counter()
    with _quiet(progress):
        _fit(module, data, run_dir, "seq", cfg, epochs=cfg.seq_epochs, precision=precision, resume=resume,
             progress=progress, history=History(run_dir, "seq"), has_val=len(val_starts) > 0)
    seconds = time.perf_counter() - started
    model = module.model.cpu().float().eval()
    val = _seq_val_loss(model, data, cfg.seed)
    out = {"seq.val_loss": None if val is None else round(val, 4), "seq.seconds": round(seconds, 2),
           "seq.windows_per_s": round(cfg.seq_epochs * len(train_starts) / seconds, 1),
           "seq.epochs": cfg.seq_epochs, "seq.precision": precision, "seq.music": music is not None}
    if _is_rank_zero():
        save_model(run_dir, "seq", model, {"train": cfg.to_dict(), "epochs": cfg.seq_epochs, "figures": out,
                                           "music": {"columns": list(MUSIC_COLUMNS), "steps_per_beat": STEPS_PER_BEAT}
                                           if music is not None else None})
    _barrier()
    return out


def music_condition(store: FrameStore, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """`store_music` when the sequence model trains with music, None when it does not (cfg.music off, or
    auto on a store without music or with the original recipe)."""
    wanted = cfg.music
    if wanted == "auto":
        wanted = "on" if store.audio_path is not None and cfg.recipe == "default" else "off"
    if wanted == "off":
        return None
    if store.audio_path is None:
        raise UserError(f"{store.path} has no music to train with; use --music off")
    return store_music(store)


def store_music(store: FrameStore) -> tuple[np.ndarray, np.ndarray]:
    """What the sequence model hears of a store's music: (features (N, len(MUSIC_COLUMNS)), beat times in s)."""
    from .audio import features_for_store

    music = features_for_store(store)
    return select_music(music.features), music.beats.times


@dataclasses.dataclass
class BeatSteps:
    """Latents and music resampled to `steps_per_beat` steps a beat, clip by clip, and the (fractional)
    frame every step was taken at."""
    latents: np.ndarray
    music: np.ndarray
    clips: list[list[int]]
    frames: np.ndarray


def beat_steps(latents: np.ndarray, music: np.ndarray, clips, beats: np.ndarray, fps: float, *,
               steps_per_beat: int = STEPS_PER_BEAT) -> BeatSteps:
    """A music run's sequence model learns and dances in beats, not frames: the same move takes as many
    steps at 90 BPM as at 135, and the dance keeps any song's tempo when its steps are laid on that song's
    beats. Latents are interpolated between frames; music rows come from the nearest frame."""
    from .audio import beat_position, beat_seconds

    out_z, out_m, out_f, out_clips, n = [], [], [], [], 0
    for a, b in clips:
        p0, p1 = beat_position(beats, [a / fps, (b - 1) / fps])
        pos = p0 + np.arange(int(np.floor((p1 - p0) * steps_per_beat)) + 1) / steps_per_beat
        f = np.clip(beat_seconds(beats, pos) * fps, a, b - 1)
        near = np.rint(f).astype(int)
        out_z.append(np.asarray(latents[near], np.float32))
        out_m.append(music[near])
        out_f.append(f)
        out_clips.append([n, n + len(f)])
        n += len(f)
    return BeatSteps(np.concatenate(out_z), np.concatenate(out_m), out_clips, np.concatenate(out_f))


def select_music(features: np.ndarray) -> np.ndarray:
    """The MUSIC_COLUMNS of per-frame music features (N, len(FEATURE_NAMES))."""
    from .audio import FEATURE_NAMES

    return np.ascontiguousarray(features[:, [FEATURE_NAMES.index(c) for c in MUSIC_COLUMNS]], np.float32)


def _done(run_dir: Path, name: str, epochs: int) -> dict | None:
    """The figures of a stage that already finished `epochs` epochs in this run folder, else None."""
    meta = run_dir / f"{name}.json"
    if not (meta.is_file() and (run_dir / f"{name}.safetensors").is_file()):
        return None
    data = read_json(meta)
    return data.get("figures") if data.get("epochs") == epochs else None


def train(store: FrameStore, run_dir: str | os.PathLike, cfg: TrainConfig, *, stage: str = "all",
          resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train a run: stage "ae" (autoencoder, then encode every frame), "seq" (sequence model on the latents;
    encodes first if latents.npy is missing) or "all". resume=True continues interrupted stages from their
    last checkpoint and skips the ones already finished. Returns the figures of the stages it ran."""
    if stage not in ("ae", "seq", "all"):
        raise UserError(f"unknown stage {stage!r}: choose ae, seq or all")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}
    if stage in ("ae", "all"):
        done = _done(run_dir, "ae", cfg.ae_epochs) if resume else None
        if done is not None and (run_dir / "latents.npy").is_file():
            figures.update(done)
        else:
            figures.update(train_autoencoder(store, run_dir, cfg, resume=resume, progress=progress))
            started = time.perf_counter()
            encode_store(store, run_dir)
            figures["encode.seconds"] = round(time.perf_counter() - started, 2)
    if stage in ("seq", "all"):
        if not (run_dir / "latents.npy").is_file():
            encode_store(store, run_dir)
        done = _done(run_dir, "seq", cfg.seq_epochs) if resume else None
        if done is None:
            done = train_sequence(run_dir, cfg, music=music_condition(store, cfg), resume=resume,
                                  progress=progress)
        figures.update(done)
    return figures
