"""The whole learning job on the built-in dancer, timed and scored: synth -> train -> generate -> mp4.

    python bench/train.py [--seconds 240] [--recipe default] [--frames 720] [--out DIR]
    python bench/train.py --scale original --ae-epochs 1 --seq-epochs 1   # 14,401 frames: memory check
    python bench/train.py --scale original --size 800x480 --ae-epochs 1 --seq-epochs 1 --frames 120

Figures: ae.val_iou / ae.val_pixel_acc (held-out frames vs reconstructions thresholded at 0.5), training
frames/s and seconds per stage, seq.val_loss, then on the generated frames: motion of the last third
relative to the real data's motion, fragments per frame, share of frames whose dancer area lies inside
the real 1st-99th percentile, and the total wall time (the issue asks < 10 minutes for a whole run).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, report, timed  # noqa: E402

from deepdance import metrics as M  # noqa: E402
from deepdance.config import parse_size  # noqa: E402
from deepdance.generate import GenerateConfig, generate  # noqa: E402
from deepdance.store import FrameStore  # noqa: E402
from deepdance.synth import SynthConfig, synthesize  # noqa: E402
from deepdance.pipeline import real_sample, train_run  # noqa: E402
from deepdance.train import TrainConfig  # noqa: E402
from deepdance.video import write_video  # noqa: E402


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=240.0, help="length of the built-in dance (default 240)")
    p.add_argument("--store", type=Path, default=None, help="use this frame store instead of the built-in dancer")
    p.add_argument("--size", default="200x120", help="WIDTHxHEIGHT of the built-in dancer (default 200x120)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--recipe", default="default", choices=["default", "original"])
    p.add_argument("--ae-epochs", type=int, default=None)
    p.add_argument("--seq-epochs", type=int, default=None)
    p.add_argument("--frames", type=int, default=720, help="frames to generate (default 720)")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--gen-seeds", type=int, default=1, help="generate this many dances and average their figures")
    p.add_argument("--out", type=Path, default=None, help="keep the store and run folder here")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    seconds = 14401 / 12 if args.scale == "original" else args.seconds
    width, height = parse_size(args.size)

    figures: dict = {"recipe": args.recipe, "size": f"{width}x{height}"}
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        started = time.perf_counter()
        with timed(figures, "synth_seconds"):
            store = FrameStore.open(args.store) if args.store else synthesize(
                root / "store", cfg=SynthConfig(seconds=seconds, fps=12, width=width, height=height, seed=args.seed, preview=False), force=True, progress=False)
        figures["data_frames"] = len(store)
        cfg = TrainConfig(recipe=args.recipe, seed=args.seed, **{k: v for k, v in (
            ("ae_epochs", args.ae_epochs), ("seq_epochs", args.seq_epochs)) if v is not None})
        with timed(figures, "train_seconds"):
            figures.update(train_run(store.path, root / "run", cfg=cfg, force=True, progress=args.progress))

        real = real_sample(store)
        real_motion = M.motion(real)
        scores = []
        for k in range(args.gen_seeds):
            gen = GenerateConfig(frames=args.frames, seed=args.seed + k, temperature=args.temperature)
            with timed(figures, "generate_seconds"):
                frames = generate(root / "run", gen).frames
            with timed(figures, "mp4_seconds"):
                write_video(root / f"dance{k}.mp4", (frames[i:i + 256] for i in range(0, len(frames), 256)),
                            fps=store.fps)
            g = M.generation_report(frames, real)
            scores.append({"motion_last_third_ratio": g["motion_last_third"] / real_motion,
                           "motion_ratio": g["motion"] / real_motion, "fragments": g["fragments"],
                           "area_in_range": g["area_in_range"]})
        figures["real_motion"] = round(real_motion, 5)
        for key in scores[0]:
            figures[f"gen.{key}"] = round(float(np.mean([s[key] for s in scores])), 3)
            if args.gen_seeds > 1:
                figures[f"gen.{key}_worst"] = round(float(min(s[key] for s in scores) if key != "fragments"
                                                          else max(s[key] for s in scores)), 3)
        figures["total_seconds"] = round(time.perf_counter() - started, 1)
    report("train", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
