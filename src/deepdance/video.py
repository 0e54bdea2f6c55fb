"""Video and audio in and out through PyAV (libx264, AAC and GIF live in its wheel; no ffmpeg binary).

Frames go to the encoder straight from numpy in batches: no plotting library, no per-frame files.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import platform
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np

from .errors import UserError
from .files import atomic_path

VIDEO_EXTENSIONS = {".mp4", ".webm", ".mkv", ".avi", ".mov", ".gif", ".m4v", ".mpg", ".mpeg"}


# --- writing --------------------------------------------------------------------------------------
def _even(n: int) -> int:
    return n + (n % 2)


def _as_batches(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Batches (N, H, W) grey or (N, H, W, 3) rgb; single (H, W) or (H, W, 3) frames become batches of one."""
    for f in frames:
        f = np.asarray(f)
        rgb_frame = f.ndim == 3 and f.shape[-1] == 3
        yield f[None] if f.ndim == 2 or rgb_frame else f


def _ahead(batches: Iterator[np.ndarray], depth: int = 2) -> Iterator[np.ndarray]:
    """Make the next batches in a thread while the caller encodes this one: decoding latents (torch) and
    H.264 encoding both release the GIL, so rendering 2,000 frames at 200x120 went from 930 to 1,280
    frames/s on 2 cores. An error in the producer is raised here."""
    q: queue.Queue = queue.Queue(depth)
    done, stop = object(), threading.Event()

    def put(item) -> bool:
        while not stop.is_set():  # a consumer that gave up never leaves the producer blocked
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            for b in batches:
                if not put(b):
                    return
            put(done)
        except BaseException as e:  # handed over to the consumer
            put(e)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        # the producer ends with its consumer: no batch is still being made (OpenCV, torch) once the caller
        # has moved on or the interpreter exits
        producer.join()


PREVIEW_PRESET = "ultrafast"   # 300 frames of 640x360 here: veryfast 396 frames/s, ultrafast 587, 1.7x the bytes


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], *, fps: float,
                audio: str | os.PathLike | None = None, crf: int = 18, preset: str = "veryfast") -> int:
    """Write uint8 frames (batches of (N, H, W) grey or (N, H, W, 3) rgb, or single frames) to an mp4 or a GIF.

    mp4: H.264, yuv420p (plays everywhere), with `audio` muxed as AAC and cut to the video's length.
    gif: palette GIF at `fps`. Written to a temporary name and renamed. Returns the frame count. `preset`: x264's
    (previews use PREVIEW_PRESET: a third less encoding time for a bigger file nobody keeps).
    """
    path = Path(path)
    gif = path.suffix.lower() == ".gif"
    rate = Fraction(fps).limit_denominator(1000)
    batches = _ahead(_as_batches(frames))
    first = next(batches, None)
    if first is None:
        raise UserError(f"no frames to write to {path}")
    h, w = first.shape[1:3]
    rgb = first.ndim == 4
    count = 0
    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format="gif" if gif else "mp4") as out:
            # every stream is added before the first packet: the container header is written then
            vs = out.add_stream("gif" if gif else "libx264", rate=rate)
            vs.width, vs.height = (w, h) if gif else (_even(w), _even(h))
            vs.pix_fmt = ("rgb8" if rgb else "gray") if gif else "yuv420p"
            if not gif:
                # without the macroblock tree x264 gives the same file for the same frames; with it, 6 runs
                # of one 400x240 clip gave 6 different files here (same seed, same output matters more)
                vs.options = {"crf": str(crf), "preset": preset, "x264-params": "mbtree=0"}
            sound = _open_audio(out, Path(audio)) if audio is not None and not gif else None
            pad = (vs.height - h, vs.width - w)
            for batch in itertools.chain([first], batches):
                for f in batch:
                    if pad != (0, 0):
                        f = np.pad(f, ((0, pad[0]), (0, pad[1])) + ((0, 0),) * (f.ndim - 2), constant_values=255)
                    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24" if rgb else "gray")
                    frame.pts = count
                    frame.time_base = 1 / rate
                    for packet in vs.encode(frame):
                        out.mux(packet)
                    count += 1
            for packet in vs.encode():
                out.mux(packet)
            if sound is not None:
                _mux_audio(out, *sound, seconds=count / float(rate))
    return count


def _open_audio(out, audio: Path):
    """Open the sound file and add a matching AAC stream to `out` (before any packet is muxed)."""
    src = open_container(audio)
    if not src.streams.audio:
        src.close()
        raise UserError(f"{audio} has no audio stream")
    ins = src.streams.audio[0]
    astream = out.add_stream("aac", rate=ins.rate or 44100)
    astream.layout = "stereo" if (ins.channels or 1) > 1 else "mono"
    astream.options = {"aac_coder": "fast"}  # ~5x faster than the default coder, same bitrate
    return src, astream


def _mux_audio(out, src, astream, *, seconds: float) -> None:
    """Re-encode the sound as AAC, stopping at `seconds` so that sound and dance end together."""
    with src:
        rate = astream.rate
        layout = astream.layout.name
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        limit = int(round(seconds * rate))
        written = 0
        for frame in src.decode(src.streams.audio[0]):
            for rf in resampler.resample(frame):
                keep = min(rf.samples, limit - written)
                if keep <= 0:
                    break
                if keep < rf.samples:
                    rf = av.AudioFrame.from_ndarray(np.ascontiguousarray(rf.to_ndarray()[:, :keep]),
                                                    format="fltp", layout=layout)
                    rf.sample_rate = rate
                rf.pts = written
                rf.time_base = Fraction(1, rate)
                written += rf.samples
                for packet in astream.encode(rf):
                    out.mux(packet)
            if written >= limit:
                break
        for packet in astream.encode(None):
            out.mux(packet)


# --- reading --------------------------------------------------------------------------------------
@functools.cache
def _glibc():
    return ctypes.CDLL("libc.so.6") if platform.libc_ver()[0] == "glibc" else None


def give_back_freed_memory() -> None:
    """Hand the memory of freed pictures back to the system (glibc only). Once a block of a picture's size is
    freed, glibc serves the next ones from its heap, which fragments: `ingest` of a 70-s 4K clip grew to
    5.5 GB, and to 1.9 GB trimmed as `Input` decodes. Fixing glibc's mmap threshold instead made the whole
    `run --video` 27% slower (training's tensors were mapped and unmapped each step)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def open_container(path: str | os.PathLike):
    path = Path(path)
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a video")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty (0 bytes)")
    try:
        return av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not a readable video ({e.__class__.__name__})") from None


def quarter_turns(frame: av.VideoFrame) -> int:
    """How many quarter turns counter-clockwise show a decoded frame as it was filmed: a phone stores a
    portrait clip as landscape pictures with a display matrix that turns them (0 where there is none)."""
    return round((frame.rotation or 0) / 90) % 4


def upright(frame: av.VideoFrame, fmt: str = "rgb24") -> np.ndarray:
    """A decoded frame as HxWx3 uint8, turned as its display matrix says it is shown."""
    img = frame.to_ndarray(format=fmt)
    k = quarter_turns(frame)
    return np.ascontiguousarray(np.rot90(img, k)) if k else img


def probe(path: str | os.PathLike) -> dict:
    """Basic facts about a video file: size as shown (a phone's display rotation applied), frame rate,
    duration, frame count estimate, audio, and the rotation in degrees counter-clockwise."""
    with open_container(path) as c:
        if not c.streams.video:
            raise UserError(f"{path} has no video stream")
        vs = c.streams.video[0]
        fps = float(vs.average_rate or vs.guessed_rate or 25)
        duration = float(vs.duration * vs.time_base) if vs.duration else (
            c.duration / av.time_base if c.duration else None)
        # the display matrix travels on the decoded frames: look at the first one
        turns = 0
        try:
            turns = quarter_turns(next(c.decode(vs)))
        except (StopIteration, av.error.FFmpegError):
            pass    # no frame to read: the caller's decoding says so in its own words
        width, height = vs.codec_context.width, vs.codec_context.height
        return {
            "width": height if turns % 2 else width, "height": width if turns % 2 else height, "fps": fps,
            "duration": duration, "frames": vs.frames or (round(duration * fps) if duration else None),
            "codec": vs.codec_context.name, "has_audio": bool(c.streams.audio), "rotation": 90 * turns,
        }


def read_frames(path: str | os.PathLike, *, fps: float | None = None,
                fmt: str = "rgb24") -> Iterator[tuple[float, np.ndarray]]:
    """Decode frames as (time in s, HxWx3 uint8), sampled at `fps` (None = every frame).

    Sampling picks, for each tick of the output clock, the first decoded frame at or after it,
    which works for variable frame rate sources too.
    """
    with open_container(path) as c:
        if not c.streams.video:
            raise UserError(f"{path} has no video stream")
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        next_t = 0.0
        try:
            for frame in c.decode(vs):
                t = float(frame.pts * vs.time_base) if frame.pts is not None else next_t
                if fps is not None:
                    if t + 1e-6 < next_t:
                        continue
                    next_t += 1.0 / fps
                    while next_t <= t:  # a source gap: skip the ticks it covers
                        next_t += 1.0 / fps
                yield t, upright(frame, fmt)
        except av.error.FFmpegError as e:
            raise UserError(f"{path}: decoding failed ({e.__class__.__name__}: {e})") from None


def read_audio(path: str | os.PathLike, *, sr: int = 22050) -> np.ndarray:
    """Decode the first audio stream of any file PyAV reads, as mono float32 at `sr` Hz."""
    with open_container(path) as c:
        if not c.streams.audio:
            raise UserError(f"{path} has no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        chunks = []
        for frame in c.decode(c.streams.audio[0]):
            for rf in resampler.resample(frame):
                chunks.append(rf.to_ndarray().reshape(-1))
        for rf in resampler.resample(None):
            chunks.append(rf.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def has_audio(path: str | os.PathLike) -> bool:
    with open_container(path) as c:
        return bool(c.streams.audio)


def extract_audio(path: str | os.PathLike, out_wav: str | os.PathLike, *, sr: int = 22050) -> Path:
    """Save the audio track of a video as a mono WAV (atomically)."""
    import soundfile as sf

    samples = read_audio(path, sr=sr)
    with atomic_path(out_wav) as tmp:
        sf.write(str(tmp), samples, sr, format="WAV", subtype="PCM_16")
    return Path(out_wav)
