"""Time `deepdance generate RUN --music SONG` on a 3-minute song, as a user runs it: a fresh process,
a song it has never seen (music features computed, not cached), the dance rolled out, decoded and written
as H.264 with the song as AAC. The issue asks < 2 minutes on this CPU.

    python bench/dance_to_song.py --run runs/demo [--seconds 180] [--bpm 100]

`--cold` gives librosa an empty numba cache too, so it compiles again (the very first call on a machine).
Checks that the video holds seconds x fps frames and carries the song.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audio import song  # noqa: E402
from common import parser, report  # noqa: E402

from deepdance import audio  # noqa: E402
from deepdance.files import read_json  # noqa: E402
from deepdance.video import probe, read_audio  # noqa: E402


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="a run trained with music (e.g. runs/demo)")
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--bpm", type=float, default=100.0)
    p.add_argument("--cold", action="store_true", help="recompile librosa's numba code too")
    args = p.parse_args()
    fps = float(read_json(args.run / "latents.json")["fps"])
    figures: dict = {"run": str(args.run), "song_s": args.seconds, "bpm": args.bpm, "fps": fps}
    with tempfile.TemporaryDirectory(prefix="deepdance-bench-song-") as tmp:
        tmp = Path(tmp)
        wav = tmp / "song.wav"
        sf.write(wav, song(args.bpm, args.seconds, audio.SR), audio.SR)
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"))  # features computed afresh
        if not args.cold:  # keep numba's compiled code where the user's machine has it
            env["NUMBA_CACHE_DIR"] = os.environ.get("NUMBA_CACHE_DIR", str(audio.cache_root() / "numba"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "deepdance", "generate", str(args.run), "--music", str(wav),
                        "--out", str(tmp / "out")], check=True, env=env, stdout=subprocess.DEVNULL)
        figures["wall_s"] = round(time.perf_counter() - start, 2)
        info = probe(tmp / "out" / "dance.mp4")
        figures["video_frames"] = info["frames"]
        figures["expected_frames"] = round(args.seconds * fps)
        figures["has_audio"] = info["has_audio"]
        figures["audio_s"] = round(len(read_audio(tmp / "out" / "dance.mp4", sr=audio.SR)) / audio.SR, 2)
    figures["under_2_min"] = figures["wall_s"] < 120
    report("dance_to_song", figures, args.json)


if __name__ == "__main__":
    main()
