"""Benchmark of the evaluation figures: their cost, and what real data scores against itself.

Without --run: the data (a store given with --store, or the built-in dancer) is cut in two halves.
The first half plays the training data (its last 10% held out), the second half is cut into --seeds
"generated" dances. Every figure is then real against real: a generator as good as the data would
score this, so each bar should be met here.
With --run: `deepdance evaluate` end to end on a trained run (generation included).

    python bench/evaluate.py [--scale small|original] [--store PATH | --run RUN] [--seeds 3]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import frames_for, parser, report, timed  # noqa: E402

from deepdance import metrics as M  # noqa: E402
from deepdance.store import FrameStore  # noqa: E402


def builtin_store(frames: int, folder: Path) -> FrameStore:
    from deepdance.synth import SynthConfig, synthesize

    cfg = SynthConfig(seconds=frames / 12.0, fps=12.0, width=200, height=120, seed=0, preview=False)
    return synthesize(folder / "store", cfg=cfg, progress=False)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--store", default=None, help="a frame store to use as the real data")
    p.add_argument("--run", default=None, help="a trained run: time `evaluate` end to end")
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    figures: dict = {"scale": args.scale}

    if args.run:
        from deepdance.evaluate import EvaluateConfig
        from deepdance.pipeline import evaluate_run

        with tempfile.TemporaryDirectory() as tmp, timed(figures, "evaluate_s"):
            result = evaluate_run(args.run, Path(tmp) / "evaluation", cfg=EvaluateConfig(seeds=args.seeds))
        figures.update(result["figures"])
        figures["bars_met"] = sorted(k for k, v in result["bars"].items() if v)
        figures["bars_missed"] = sorted(k for k, v in result["bars"].items() if v is False)
        report("evaluate", figures, args.json)
        return

    with tempfile.TemporaryDirectory() as tmp:
        with timed(figures, "data_s"):
            store = FrameStore.open(args.store) if args.store else builtin_store(frames_for(args.scale, 2880), Path(tmp))
            frames = store.frames()
        fps = store.fps
        half = len(frames) // 2
        split = int(half * 0.9)
        train, heldout = frames[:split], frames[split:half]
        dances = np.array_split(frames[half:], args.seeds)
        figures.update(source=str(args.store or "built-in dancer"), size=f"{store.width}x{store.height}")
        with timed(figures, "shape_descriptors_s"):
            M.shape_descriptors(frames)
        figures["shape_descriptors_per_s"] = round(len(frames) / max(figures["shape_descriptors_s"], 1e-9))
        with timed(figures, "quality_report_s"):
            result = M.quality_report(dances, train, heldout, fps)
    figures.update({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()})
    checks = M.bar_checks(result)
    figures["bars_met"] = sorted(k for k, v in checks.items() if v)
    figures["bars_missed"] = sorted(k for k, v in checks.items() if v is False)
    report("evaluate", figures, args.json)


if __name__ == "__main__":
    main()
