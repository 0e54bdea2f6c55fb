"""Train the pretrained pose model of the built-in dancer that ships in src/deepdance/pretrained/dancer.

    python scripts/train_pretrained.py            # ~2 min on 2 cores; prints the files and their sizes

It is `deepdance run` on the built-in dancer (the demo's data: 4 minutes at four tempos, seed 0) with the
pose representation and float32 training, so the same command on the same torch gives the same weights;
the run folder is then cut to what generation reads (`deepdance.pretrained.FILES`), its weights stored as
float16 and its music as AAC, and refused if it is larger than `deepdance.pretrained.MAX_BYTES`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from safetensors.numpy import load_file, save_file

from deepdance.files import atomic_path, read_json, write_json
from deepdance.pipeline import RunConfig, run
from deepdance.pretrained import FILES, FOLDER, MAX_BYTES
from deepdance.train import TrainConfig

MUSIC = "music.m4a"


def transcode(wav: Path, out: Path, *, bitrate: int = 32_000) -> None:
    """The run's music as mono AAC: a 4-minute drum track in ~1 MB instead of 10 MB of wav."""
    with av.open(str(wav)) as src, atomic_path(out) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as dst:
            stream = dst.add_stream("aac", rate=src.streams.audio[0].rate, layout="mono")
            stream.bit_rate = bitrate
            for frame in src.decode(audio=0):
                frame.pts = None
                for packet in stream.encode(frame):
                    dst.mux(packet)
            for packet in stream.encode(None):
                dst.mux(packet)


def cut_down(run_dir: Path, out: Path) -> None:
    """The files generation reads, weights as float16, music as AAC, into `out` (replaced whole)."""
    staging = out.with_name(f".{out.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(run_dir / name, staging / name)
    weights = load_file(str(staging / "seq.safetensors"))
    save_file({k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in weights.items()},
              str(staging / "seq.safetensors"))
    info = read_json(staging / "music.json")
    transcode(run_dir / info["audio"], staging / MUSIC)
    write_json(staging / "music.json", {**info, "audio": MUSIC})
    config = read_json(staging / "config.json")
    config.pop("data", None)  # the store it learnt from stays behind
    write_json(staging / "config.json", config)
    size = sum(f.stat().st_size for f in staging.iterdir())
    if size > MAX_BYTES:
        shutil.rmtree(staging)
        sys.exit(f"the pretrained folder would hold {size / 2**20:.1f} MiB, over {MAX_BYTES / 2**20:.0f} MiB")
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=FOLDER, help=f"where the model goes (default {FOLDER})")
    p.add_argument("--seq-epochs", type=int, default=TrainConfig.seq_epochs)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="deepdance-pretrained-") as tmp:
        trained = run(None, Path(tmp) / "run", cfg=RunConfig(evaluate_frames=0, frames=120),
                      train_cfg=TrainConfig(represent="pose", precision="32-true", seq_epochs=args.seq_epochs,
                                            look_steps=0),   # the built-in dancer is the body
                      progress=False)
        cut_down(trained, args.out)
    for f in sorted(args.out.iterdir()):
        print(f"{f.stat().st_size / 1024:9.1f} KiB  {f}")
    print(f"{sum(f.stat().st_size for f in args.out.iterdir()) / 2**20:9.2f} MiB  in all (at most "
          f"{MAX_BYTES / 2**20:.0f})")


if __name__ == "__main__":
    main()
