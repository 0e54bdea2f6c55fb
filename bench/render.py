"""How fast latents become a video: batched decoding plus H.264 writing, end to end, at the run's size.

    python bench/render.py [--run RUN] [--frames 720] [--batch 256] [--size 800x480] [--look learned|body]

With --run, the run's representation decodes its own latents (latents.npy, repeated to --frames), so the
video holds real silhouettes: a run of pixels through its autoencoder (its own size, or --size scaled), a run
of poses drawn by its default look (or --look) at --size (default: the run's output size); without it, an
untrained 200x120 autoencoder decodes random latents (the decoding cost is the same; the video content is
not realistic). Figures: decode_fps (decoding only), render_fps (decoding + writing the mp4: the issues
ask >= 300 at 200x120, and for drawn poses at 800x480).
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

from deepdance.config import parse_size  # noqa: E402
from deepdance.models import Autoencoder  # noqa: E402
from deepdance.representation import Pixels, load_representation  # noqa: E402
from deepdance.video import write_video  # noqa: E402


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=None, help="a trained run folder (default: an untrained model)")
    p.add_argument("--frames", type=int, default=720)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=parse_size, default=None, metavar="WxH", help="output size (default: the run's)")
    p.add_argument("--look", choices=("learned", "body"), default=None, help="a run of poses: the look that draws")
    args = p.parse_args(argv)
    n = frames_for(args.scale, args.frames)
    torch.manual_seed(0)
    if args.run is not None:
        rep = load_representation(args.run)
        source = np.load(args.run / "latents.npy")
        latents = torch.from_numpy(source[np.arange(n) % len(source)]).float()
    else:
        rep = Pixels(Autoencoder(width=200, height=120).eval())
        latents = torch.randn(n, rep.latent)
    if args.look is not None:
        if not hasattr(rep, "use_look"):
            raise SystemExit("--look needs a run of poses")
        rep.use_look(args.look)
    rep.size = args.size or rep.size
    list(rep.decode(latents[:args.batch], batch_size=args.batch))  # warm-up

    figures = {"frames": n, "representation": rep.name, "size": "x".join(map(str, rep.size)),
               "threads": torch.get_num_threads()}
    if hasattr(rep, "use_look"):
        figures["look"] = rep.look
    started = time.perf_counter()
    for _ in rep.decode(latents, batch_size=args.batch):
        pass
    figures["decode_fps"] = round(n / (time.perf_counter() - started), 1)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_video(Path(tmp) / "dance.mp4", rep.decode(latents, batch_size=args.batch), fps=12)
        figures["render_fps"] = round(n / (time.perf_counter() - started), 1)
    report("render", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
