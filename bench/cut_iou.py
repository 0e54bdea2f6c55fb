"""Cut quality: mean IoU of `ingest --cut MODE` against the true mask, on clips composited with a known mask.

    python bench/cut_iou.py            # the built-in dancer, 6, 10 and 60 s, seeds 0-2, 400x240 and 640x360
    python bench/cut_iou.py --seconds 10 --seeds 1 --modes background,auto --sizes 640x360

The clips are the tests' (tests/helpers.py): the built-in dancer at 400x240 and 640x360, 12 fps, over
a lit, textured room with a soft shadow at her feet, filmed by a slowly drifting camera (`dancer_clip`), and
the drawn figure that sways across the same room (`room_clip`). Each is written as an H.264 mp4 and ingested
into a 200x120 store; frames the cut drops count as IoU 0. The true masks are framed as the store frames the
picture (its centre at 5:3).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
from common import parser, report  # noqa: E402
from helpers import dancer_clip, iou, output_masks, room_clip  # noqa: E402

from deepdance.ingest import IngestConfig, ingest  # noqa: E402
from deepdance.video import write_video  # noqa: E402


def clip_iou(frames: np.ndarray, masks: np.ndarray, mode: str, folder: Path) -> dict:
    write_video(folder / "clip.mp4", frames, fps=12)
    store = ingest([folder / "clip.mp4"], folder / mode, cfg=IngestConfig(fps=12, cut=mode), progress=False,
                   force=True)
    true = output_masks(masks)
    got = list(store.frames() < 128)
    for gap in reversed(store.manifest.extra["gaps"]):
        got[gap["at_frame"]:gap["at_frame"]] = [np.zeros_like(true[0])] * gap["dropped"]
    return {"picked": store.manifest.cut["mode"], "iou": round(float(np.mean([iou(a, b) for a, b in zip(got, true)])), 3)}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", default="6,10,60", help="lengths of the dancer clips")
    p.add_argument("--seeds", default="0,1,2", help="seeds of the dancer (body, choreography) and the room")
    p.add_argument("--modes", default="background,auto")
    p.add_argument("--sizes", default="400x240,640x360", help="source sizes WxH of the dancer clips")
    args = p.parse_args()
    clips = {"room": lambda: room_clip()[:2]}
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        for s in args.seconds.split(","):
            for seed in args.seeds.split(","):
                clips[f"dancer_{size}_{s}s_seed{seed}"] = (
                    lambda s=float(s), seed=int(seed), h=h, w=w: dancer_clip(s, h=h, w=w, seed=seed)[:2])
    figures, ious = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in clips.items():
            frames, masks = make()
            for mode in args.modes.split(","):
                figures[f"{name}_{mode}"] = r = clip_iou(frames, masks, mode, Path(tmp))
                ious += [r["iou"]] if name != "room" else []
    figures["dancer_mean_iou"] = round(float(np.mean(ious)), 3) if ious else None
    figures["dancer_min_iou"] = min(ious) if ious else None
    report("cut_iou", figures, args.json)


if __name__ == "__main__":
    main()
