"""Time `ingest` per cut mode: source frames per second, decoding, the pose track and the check included.

    python bench/ingest.py                    # 500-frame clips (20 s at 25 fps)
    python bench/ingest.py --scale original   # 14,401-frame clips
    python bench/ingest.py --scale original --source 800x480 --modes threshold   # the original's video size

Clips are drawn and written as H.264 mp4 to a temporary folder: a white dancer on black (threshold), a
dancer on an unevenly lit green screen (chroma) and in a textured room (background). The real green-screen
clip in ../shared/data/videos is timed too when present. Every source frame is sampled (fps = the
source's), so frames/s counts all the work; `decode_fps` is PyAV decoding plus RGB conversion alone.
Every timing gives wall seconds and CPU seconds of this process (`fps_per_cpu_s`: what one core does);
`real_no_poses` is the real clip without the pose track and the check, for comparison.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import frames_for, parser, report  # noqa: E402

from deepdance import video  # noqa: E402
from deepdance.config import parse_size  # noqa: E402
from deepdance.ingest import IngestConfig, ingest  # noqa: E402

FPS = 25
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "greenscreen_solo_11s_640x360.mp4"


def dancer(i: int, w: int, h: int) -> np.ndarray:
    """A figure swaying across the frame, arms swinging: bool (h, w)."""
    m = np.zeros((h, w), np.uint8)
    cx = int(w / 2 + w * 0.2 * np.sin(i / 20))
    hip, neck = (cx, int(h * 0.6)), (cx, int(h * 0.3))
    cv2.line(m, hip, neck, 255, 40)
    cv2.circle(m, (cx, int(h * 0.2)), 24, 255, -1)
    for side in (-1, 1):
        a = 0.8 * np.sin(i / 6 + side)
        hand = (int(cx + side * 90 * np.cos(a)), int(neck[1] + 90 * np.sin(a)))
        cv2.line(m, neck, hand, 255, 16)
        cv2.line(m, hip, (cx + side * 40, int(h * 0.97)), 255, 22)
    return m > 0


def clips(n: int, w: int, h: int):
    """(name, frame batches) for each drawn clip, made lazily in batches of 50."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lit = 0.8 + 0.3 * np.exp(-(((xx - w * 0.4) / w) ** 2 + ((yy - h * 0.3) / h) ** 2))
    green = lit[..., None] * np.float32([60, 165, 70])
    rng = np.random.default_rng(0)
    room = cv2.GaussianBlur(rng.normal(170, 25, (h, w, 3)).astype(np.float32), (0, 0), 3) * lit[..., None]
    person = np.float32([200, 80, 60])

    def batches(paint):
        for start in range(0, n, 50):
            yield np.stack([paint(dancer(i, w, h)) for i in range(start, min(n, start + 50))])

    yield "threshold", batches(lambda m: np.where(m, 235, 15).astype(np.uint8))
    yield "chroma", batches(lambda m: np.where(m[..., None], person, green).astype(np.uint8))
    yield "background", batches(lambda m: np.where(m[..., None], person, room).astype(np.uint8))


def decode_fps(path: Path) -> float:
    start = time.perf_counter()
    n = sum(1 for _ in video.read_frames(path))
    return n / (time.perf_counter() - start)


def time_ingest(path: Path, out: Path, frames: int, **cfg) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    store = ingest([path], out, cfg=IngestConfig(**cfg), force=True, progress=False)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"mode": store.manifest.cut["mode"], "source_frames": frames, "stored": len(store),
            "seconds": round(seconds, 2), "fps": round(frames / seconds, 1), "cpu_s": round(cpu, 2),
            "fps_per_cpu_s": round(frames / cpu, 1)}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=None, help="frames per drawn clip (default 500)")
    p.add_argument("--source", default="640x360", help="WIDTHxHEIGHT of the drawn clips (default 640x360)")
    p.add_argument("--modes", default="threshold,chroma,background", help="drawn clips to time")
    args = p.parse_args()
    n = args.frames or frames_for(args.scale, 500)
    w, h = parse_size(args.source)
    figures: dict = {"source": f"{w}x{h} at {FPS} fps", "output": "200x120"}
    with tempfile.TemporaryDirectory(prefix="deepdance-bench-ingest-") as tmp:
        tmp = Path(tmp)
        for name, batches in clips(n, w, h):
            if name not in args.modes.split(","):
                continue
            path = tmp / f"{name}.mp4"
            video.write_video(path, batches, fps=FPS)
            figures[f"{name}_decode_fps"] = round(decode_fps(path), 1)
            figures[name] = time_ingest(path, tmp / f"{name}_store", n, fps=FPS, cut=name)
        if REAL.exists():
            frames = video.probe(REAL)["frames"]
            figures["real_decode_fps"] = round(decode_fps(REAL), 1)
            figures["real_auto"] = time_ingest(REAL, tmp / "real", frames, fps=FPS)
            figures["real_auto_3fps"] = time_ingest(REAL, tmp / "real3", frames, fps=3)
            figures["real_auto_track"] = time_ingest(REAL, tmp / "realt", frames, fps=FPS, track=True)
            figures["real_segment"] = time_ingest(REAL, tmp / "reals", frames, fps=FPS, cut="segment")
            figures["real_no_poses"] = time_ingest(REAL, tmp / "realn", frames, fps=FPS, poses=False)
    report("ingest", figures, args.json)


if __name__ == "__main__":
    main()
