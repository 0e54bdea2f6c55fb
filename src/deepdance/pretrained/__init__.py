"""A small pose model of the built-in dancer, shipped inside the package: a first dance needs no training.

`dancer/` is a run folder cut to what generation reads (the sequence model, the pose statistics, the
latents of the real dance, its music), written by `scripts/train_pretrained.py`; the same script on the
same torch gives the same files. The weights are stored as float16 (half the bytes; loading widens them
to float32), the music as AAC: the folder stays under `MAX_BYTES`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

FOLDER = Path(__file__).resolve().parent / "dancer"
MAX_BYTES = 5 * 2**20
# what generation reads of a run folder; the rest of a trained run (store, checkpoints, dances) stays behind
FILES = ("config.json", "pose.json", "seq.json", "seq.safetensors", "latents.json", "latents.npy",
         "music.json", "music.npy")


def pretrained_run() -> Path:
    """The shipped run folder of the built-in dancer (read only: dance into another folder)."""
    if not (FOLDER / "seq.safetensors").is_file():
        raise UserError(f"this install has no pretrained model ({FOLDER} is empty); make it with "
                        f"'python scripts/train_pretrained.py'")
    return FOLDER


def is_pretrained(folder: Path) -> bool:
    return Path(folder).resolve() == FOLDER
