"""How fast latents become a video: batched decoding plus H.264 writing, end to end, at the run's size.

    python bench/render.py [--run RUN] [--frames 720] [--batch 256]

With --run, the run's autoencoder decodes its own latents (latents.npy, repeated to --frames), so the
video holds real silhouettes; without it, an untrained 200x120 autoencoder decodes random latents (the
decoding cost is the same; the video content is not realistic). Figures: decode_fps (decoding only),
render_fps (decoding + writing the mp4, the figure the issue asks >= 300 of at 200x120).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import frames_for, parser, report  # noqa: E402

from deepdance.models import Autoencoder  # noqa: E402
from deepdance.representation import Pixels  # noqa: E402
from deepdance.video import write_video  # noqa: E402


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=None, help="a trained run folder (default: an untrained model)")
    p.add_argument("--frames", type=int, default=720)
    p.add_argument("--batch", type=int, default=256)
    args = p.parse_args(argv)
    n = frames_for(args.scale, args.frames)
    torch.manual_seed(0)
    if args.run is not None:
        pixels = Pixels.load(args.run)
        source = np.load(args.run / "latents.npy")
        latents = source[np.arange(n) % len(source)]
    else:
        pixels = Pixels(Autoencoder(width=200, height=120).eval())
        latents = torch.randn(n, pixels.latent).numpy()
    ae = pixels.ae
    list(pixels.decode(latents[:args.batch], batch_size=args.batch))  # warm-up

    figures = {"frames": n, "size": f"{ae.width}x{ae.height}", "threads": torch.get_num_threads()}
    started = time.perf_counter()
    for _ in pixels.decode(latents, batch_size=args.batch):
        pass
    figures["decode_fps"] = round(n / (time.perf_counter() - started), 1)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_video(Path(tmp) / "dance.mp4", pixels.decode(latents, batch_size=args.batch), fps=12)
        figures["render_fps"] = round(n / (time.perf_counter() - started), 1)
    report("render", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
