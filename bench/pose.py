"""Time `deepdance pose` as a user runs it: a new process, decoding, BlazePose on every frame, the .npz and preview.

    python bench/pose.py                  # 20 s of the built-in dancer in colour, 640x360 at 25 fps
    python bench/pose.py --cores 2        # pinned to 2 cores (the bar: >= 50 frames/s whole process)

Figures: `pose_fps` (frames / wall seconds of `deepdance pose CLIP --out X.npz`, imports and model loading
included), `pose_fps_per_cpu_second` (frames / CPU seconds of that process: steady on a shared machine),
`pose_fps_no_preview` (--no-preview), `estimate_fps` (BlazePose alone on decoded frames, in this
process), `decode_fps`, and `pck` (PCK@0.2 of the torso against the dancer's true joints). The real clips
in ../shared/data/videos are timed too when present.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, report  # noqa: E402

from deepdance import video  # noqa: E402
from deepdance.dancer.colour import colour_dance  # noqa: E402
from deepdance.pose import BlazePose, PoseTrack, from_dancer, pck  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
FPS = 25.0


def pose_process(clip: Path, out: Path, *extra: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of `deepdance pose` in a new process (pinned to this process's cores).

    CPU seconds do not grow when other processes share the cores: frames / CPU seconds is what one
    core alone would do, and a floor for what two idle cores do.
    """
    cmd = [sys.executable, "-m", "deepdance", "pose", str(clip), "--out", str(out), "--force", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def decode_fps(clip: Path) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    frames = np.stack([f for _, f in video.read_frames(clip)])
    return len(frames) / (time.perf_counter() - started), frames


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--size", default="640x360")
    p.add_argument("--cores", type=int, default=None, help="pin this process and its children to the first N cores")
    args = p.parse_args()
    if args.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.cores])
    w, h = (int(v) for v in args.size.split("x"))
    figures: dict = {"size": args.size, "cores": len(os.sched_getaffinity(0)), "target_pose_fps": 50}
    with tempfile.TemporaryDirectory(prefix="deepdance-bench-pose-") as tmp:
        tmp = Path(tmp)
        frames, poses, body, cam = colour_dance(args.seconds, FPS, w, h, seed=0, kind="room")
        clip = tmp / "dancer.mp4"
        video.write_video(clip, [frames], fps=FPS)
        n = len(frames)
        figures["frames"] = n
        figures["decode_fps"], decoded = decode_fps(clip)
        with BlazePose() as est:
            est.estimate(decoded[0])   # the first call builds the graph
            started = time.perf_counter()
            for f in decoded:
                est.estimate(f)
            figures["estimate_fps"] = n / (time.perf_counter() - started)
        wall, cpu = pose_process(clip, tmp / "a.npz")
        figures["pose_fps"], figures["pose_fps_per_cpu_second"] = n / wall, n / cpu
        wall, cpu = pose_process(clip, tmp / "b.npz", "--no-preview")
        figures["pose_fps_no_preview"], figures["pose_fps_no_preview_per_cpu_second"] = n / wall, n / cpu
        got = PoseTrack.load(tmp / "a.npz")
        figures["pck"], _ = pck(got.joints2d, from_dancer(poses, body, cam, FPS).joints2d)
        figures["found"] = float(got.found.mean())
        for name in ("greenscreen_solo_11s_640x360", "portrait_studio_12s_1080x1920"):
            real = REAL / f"{name}.mp4"
            if real.exists():
                count = video.probe(real)["frames"]
                wall, cpu = pose_process(real, tmp / f"{name}.npz")
                figures[f"{name}_pose_fps"], figures[f"{name}_pose_fps_per_cpu_second"] = count / wall, count / cpu
                figures[f"{name}_found"] = float(PoseTrack.load(tmp / f"{name}.npz").found.mean())
    report("pose", {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}, args.json)


if __name__ == "__main__":
    main()
