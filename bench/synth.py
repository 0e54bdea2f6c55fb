"""Time the built-in dancer on one core: choreography, drawing, music and the whole synth stage.

    python bench/synth.py                   # 2 minutes of dance at 200x120 and at 800x480
    python bench/synth.py --scale original  # the original project's 14,401 frames: 20 min at 12 fps

Per size: poses/s (choreography), draw_fps (pose -> picture), render_fps (both: the figure the issue
wants >= 500 of at 200x120), store_fps (the synth stage into a frame store, music included) and
store_preview_fps (the same with the preview mp4). Music: seconds of audio rendered per second.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"   # one core, set before numpy loads

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import frames_for, parser, report  # noqa: E402

from deepdance.config import parse_size  # noqa: E402
from deepdance.dancer.body import draw_poses  # noqa: E402
from deepdance.dancer.music import SAMPLE_RATE, DrumTrack  # noqa: E402
from deepdance.synth import SynthConfig, _Dancer, synthesize  # noqa: E402

CHUNK = 256


def rate(count: int, fn, repeat: int = 2) -> float:
    """Items per second, best of `repeat` runs (the first one also pays for page faults and caches)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return round(count / best, 1)


def bench_size(width: int, height: int, n: int, fps: float) -> dict:
    cfg = SynthConfig(seconds=n / fps, fps=fps, width=width, height=height, seed=0)
    dancer = _Dancer(cfg)
    dancer.frames(0, 8)   # warm-up: imports, caches
    choreo = dancer.choreos[0]  # the default config is one clip
    poses = choreo.poses(0, n)
    spans = [(a, min(n, a + CHUNK)) for a in range(0, n, CHUNK)]

    def chunked(fn):   # like the stage: one chunk in memory at a time
        def run():
            for a, b in spans:
                fn(a, b)
        return run

    out = {
        "poses_per_s": rate(n, chunked(choreo.poses)),
        "draw_fps": rate(n, chunked(lambda a, b: draw_poses(poses[a:b], dancer.body, dancer.camera))),
        "render_fps": rate(n, chunked(dancer.frames)),
    }
    with tempfile.TemporaryDirectory(prefix="deepdance-bench-synth-") as tmp:
        bare = cfg.replace(preview=False)
        out["store_fps"] = rate(n, lambda: synthesize(Path(tmp) / "a", cfg=bare, force=True, progress=False))
        out["store_preview_fps"] = rate(n, lambda: synthesize(Path(tmp) / "b", cfg=cfg, force=True, progress=False),
                                        repeat=1)
    return {f"{k}_{width}x{height}": v for k, v in out.items()}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--fps", type=float, default=12.0)
    p.add_argument("--sizes", default="200x120,800x480", help="comma-separated WIDTHxHEIGHT list")
    args = p.parse_args()
    cv2.setNumThreads(1)
    n = frames_for(args.scale, int(120 * args.fps))
    figures: dict = {"frames": n, "fps": args.fps, "target_render_fps_200x120": 500}
    for size in args.sizes.split(","):
        figures.update(bench_size(*parse_size(size), n, args.fps))
    samples = int(n / args.fps * SAMPLE_RATE)
    track = DrumTrack(120, seed=0)
    step = 1 << 18

    def music_chunks():
        for a in range(0, samples, step):
            track.render(a, min(samples, a + step))

    music = rate(samples, music_chunks)
    figures["music_x_realtime"] = round(music / SAMPLE_RATE, 1)
    report("synth", figures, args.json)


if __name__ == "__main__":
    main()
