"""Time `deepdance run --video CLIP` as a user runs it: one new process, from the clip to the dance, its
evaluation and the verdict.

    python bench/run_video.py                    # 70 s of the built-in dancer in colour in a room, with its music
    python bench/run_video.py --seconds 12       # a short clip
    python bench/run_video.py --real             # also the real clips in ../shared/data/videos
    python bench/run_video.py --source 3840x2160 # also the made clip at a phone's 4K
    python bench/run_video.py --portrait         # also a portrait one (360x640, another dance, a gradient backdrop)
    python bench/run_video.py --reframed         # also the real portrait letterboxed, and its first 10 s

The made clip is 640x360 at 25 fps: the built-in dancer (`dancer.colour.colour_dance`) in the textured room,
her drum track muxed in as AAC. Figures per clip: `seconds` (wall time of the whole process, imports and
model loading included), `checks` (the verdict's checks passed, of all), the target (the "pose space" issue:
<= 5 min for a 70-s clip, <= 2 min for a 12-s one), the run's peak resident memory, and `issue_bars`: the
issue's own bars read literally off the evaluation (freeze <= real + 0.05 against her silhouettes alone,
repetition <= 0.8, fragments <= 1.1, beat-align >= 0.9x hers and >= 1.2x another tempo's; a person found in
>= 0.85 of the frames, or as often as in hers).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, report  # noqa: E402

from deepdance import video  # noqa: E402
from deepdance.config import parse_size  # noqa: E402
from deepdance.dancer.choreo import tempo_from_seed  # noqa: E402
from deepdance.dancer.colour import colour_dance  # noqa: E402
from deepdance.dancer.music import SAMPLE_RATE, write_music  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
FPS = 25.0


def target_s(clip_seconds: float) -> float:
    """The issue's bar: 5 min for 70 s of footage, 2 min for 12 s (linear between, and beyond)."""
    return 120.0 + (clip_seconds - 12.0) * (300.0 - 120.0) / (70.0 - 12.0)


def made_clip(path: Path, seconds: float, seed: int = 0, *, size: tuple[int, int] = (640, 360),
              kind: str = "room") -> None:
    """The built-in dancer in colour over backdrop `kind` at size (width, height), with the drum track of her
    tempo."""
    frames, _, _, _ = colour_dance(seconds, FPS, *size, seed=seed, kind=kind)
    song = path.with_suffix(".wav")
    write_music(song, tempo_from_seed(seed), round(len(frames) / FPS * SAMPLE_RATE), seed=seed)
    video.write_video(path, [frames], fps=FPS, audio=song)


def reencoded(clip: Path, path: Path, width: int, height: int, picture=None, seconds: float | None = None) -> None:
    """`clip` re-encoded at width x height frame by frame (`picture(rgb)`, default a resize), its sound kept;
    only its first `seconds` where given."""
    picture = picture or (lambda rgb: cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC))
    with av.open(str(clip)) as src, av.open(str(path), "w") as out:
        vin, ain = src.streams.video[0], src.streams.audio[0]
        vout = out.add_stream("libx264", rate=vin.average_rate, options={"preset": "veryfast", "crf": "20"})
        vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
        aout = out.add_stream("aac", rate=ain.rate)
        for packet in src.demux(vin, ain):
            for frame in packet.decode():
                if seconds is not None and frame.time is not None and frame.time >= seconds:
                    continue
                if packet.stream is vin:
                    out.mux(vout.encode(av.VideoFrame.from_ndarray(picture(frame.to_ndarray(format="rgb24")),
                                                                   format="rgb24")))
                else:
                    frame.pts = None
                    out.mux(aout.encode(frame))
        out.mux(vout.encode())
        out.mux(aout.encode())


def letterboxed(rgb):
    """A portrait picture in a 1280x720 landscape one, the sides filled with itself blurred (as phones share it)."""
    side = cv2.resize(cv2.GaussianBlur(cv2.resize(rgb, (64, 36), interpolation=cv2.INTER_AREA), (0, 0), 3), (1280, 720))
    w = round(720 * rgb.shape[1] / rgb.shape[0])
    side[:, (1280 - w) // 2:(1280 - w) // 2 + w] = cv2.resize(rgb, (w, 720), interpolation=cv2.INTER_AREA)
    return side


def issue_bars(f: dict) -> dict:
    """The pose-space issue's bars on a clip's evaluation figures, read literally (None: not measured)."""
    def known(*names):
        return all(f.get(n) is not None for n in names)
    return {
        "human": f["human_found"] >= min(0.85, f["human_found_real"])
        if known("human_found", "human_found_real") else None,
        "freeze": f["freeze"] <= f["freeze_real"] + 0.05 if known("freeze", "freeze_real") else None,
        "repetition": f["repetition"] <= 0.8 if known("repetition") else None,
        "fragments": f["fragments"] <= 1.1 if known("fragments") else None,
        "bas": f["bas"] >= 0.9 * f["bas_real"] and f["bas"] >= 1.2 * f["bas_control"]
        if known("bas", "bas_real", "bas_control") else None,
    }


def time_run(clip: Path, out: Path) -> dict:
    """Wall seconds, checks passed and peak resident memory of `deepdance run --video CLIP --out OUT` in a new
    process."""
    started = time.perf_counter()
    with open(out.with_suffix(".out"), "w+") as stdout, open(out.with_suffix(".err"), "w+") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "deepdance", "run", "--video", str(clip), "--out", str(out)],
                                stdout=stdout, stderr=stderr, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        stdout.seek(0), stderr.seek(0)
        said, errors = stdout.read(), stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"run --video {clip.name} failed ({os.waitstatus_to_exitcode(status)}): {errors.strip()[-500:]}")
    verdict = next((line for line in said.splitlines() if line.startswith("verdict:")), "")
    passed = re.search(r"passed (?:all )?(\d+) of (\d+)", verdict)
    figures = json.loads((out / "evaluation" / "evaluation.json").read_text())["figures"]
    return {"seconds": round(seconds, 1), "checks": f"{passed[1]} of {passed[2]}" if passed else verdict,
            "human_found": figures.get("human_found"), "issue_bars": issue_bars(figures),
            "peak_rss_mb": round(usage.ru_maxrss / 1024)}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=70.0, help="length of the made clip")
    p.add_argument("--real", action="store_true", help="also the real clips in ../shared/data/videos, when present")
    p.add_argument("--source", type=parse_size, default=None, metavar="WxH",
                   help="also the made clip re-encoded at this size (3840x2160: a phone's 4K)")
    p.add_argument("--portrait", action="store_true",
                   help="also a portrait one: 360x640, another seed's dance and tempo (127 BPM), a gradient backdrop")
    p.add_argument("--reframed", action="store_true",
                   help="also the real 12-s portrait (when present) letterboxed into 1280x720, "
                        "and its first 10 s at 720x1280")
    args = p.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="deepdance-bench-run-") as tmp:
        tmp = Path(tmp)
        clip = tmp / f"dancer_{args.seconds:g}s.mp4"
        made_clip(clip, args.seconds)
        clips = {clip.stem: (clip, args.seconds)}
        if args.source:
            big = tmp / f"{clip.stem}_{args.source[0]}x{args.source[1]}.mp4"
            reencoded(clip, big, *args.source)
            clips[big.stem] = (big, args.seconds)
        if args.portrait:
            upright = tmp / f"dancer_{args.seconds:g}s_portrait.mp4"
            made_clip(upright, args.seconds, seed=1, size=(360, 640), kind="gradient")
            clips[upright.stem] = (upright, args.seconds)
        portrait = REAL / "portrait_studio_12s_1080x1920.mp4"
        if args.reframed and portrait.is_file():
            boxed, short = tmp / "portrait_letterboxed_1280x720.mp4", tmp / "portrait_first_10s_720x1280.mp4"
            reencoded(portrait, boxed, 1280, 720, picture=letterboxed)
            reencoded(portrait, short, 720, 1280, seconds=10.0)
            clips.update({boxed.stem: (boxed, 12.0), short.stem: (short, 10.0)})
        if args.real and REAL.is_dir():
            for real in sorted(REAL.glob("*.mp4")):
                clips[real.stem] = (real, video.probe(real)["duration"])
        for name, (path, seconds) in clips.items():
            row = time_run(path, tmp / f"run_{name}")
            row.update(clip_seconds=round(seconds, 1), target_s=round(target_s(seconds)))
            row["meets_target"] = row["seconds"] <= row["target_s"]
            figures[name] = row
            print(f"{name}: {row}", file=sys.stderr, flush=True)
    report("run_video", figures, args.json)


if __name__ == "__main__":
    main()
