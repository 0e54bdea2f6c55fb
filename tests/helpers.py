"""Data makers shared by the tests (and bench/cut_iou.py): small, seeded, known answers, no pytest needed.

conftest.py re-exports everything here, so a test writes `from conftest import dancer, make_store`.
Test modules never import each other.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import soundfile as sf

from deepdance.audio import SR, click_track
from deepdance.runfolder import link_store
from deepdance.store import FrameStore, StoreWriter
from deepdance.synth import SynthConfig, render_frames

FPS = 12.0  # the rate of the hand-made dances

# the smallest training that runs every step on the CPU in about a second
# the pixel path, as before poses (tests/test_posegen.py runs the pose path, the default on stores with poses)
TINY = dict(represent="pixels", latent=8, window=3, predict=3, ae_epochs=1, seq_epochs=1, batch_size=32, precision="32-true",
            accelerator="cpu", val_fraction=0.2)


# --- silhouettes with a known shape ------------------------------------------------------------------------
def blob_frames(n: int = 20, h: int = 48, w: int = 80, seed: int = 0) -> np.ndarray:
    """A dark ellipse wandering over white: simple silhouette frames with a known shape."""
    rng = np.random.default_rng(seed)
    out = np.full((n, h, w), 255, np.uint8)
    for i in range(n):
        cx = int(w / 2 + w / 4 * np.sin(i / 3)) + int(rng.integers(-1, 2))
        cv2.ellipse(out[i], (cx, h // 2), (w // 10, h // 3), 0, 0, 360, 0, -1, cv2.LINE_AA)
    return out


def dancer(n: int, *, seed: int = 0, fps: float = FPS, period: float | None = None,
           h: int = 48, w: int = 80) -> np.ndarray:
    """A body with a head and four limbs; limb angles and position follow random smooth curves
    (sums of sinusoids of 0.3-2 Hz). With `period` (seconds) the first period is repeated: a loop."""
    rng = np.random.default_rng(seed)
    m = n if period is None else int(round(period * fps))
    t = np.arange(m) / fps
    freq = rng.uniform(0.3, 2.0, (6, 5))
    if period is not None:
        freq = np.maximum(1, np.round(freq * period)) / period
    phase, amp = rng.uniform(0, 2 * np.pi, (6, 5)), rng.uniform(0.3, 1.0, (6, 5))
    curves = (amp[:, :, None] * np.sin(2 * np.pi * freq[:, :, None] * t + phase[:, :, None])).sum(1) / 3
    out = np.full((m, h, w), 255, np.uint8)
    for i in range(m):
        cx, cy = int(w / 2 + 0.15 * w * curves[4, i]), int(h / 2 + 0.05 * h * curves[5, i])
        cv2.ellipse(out[i], (cx, cy), (w // 25 + 1, h // 6), 0, 0, 360, 0, -1)
        cv2.circle(out[i], (cx, cy - h // 4), h // 14, 0, -1)
        for k, (dy, length, base) in enumerate([(-h // 8, h // 4, np.pi), (-h // 8, h // 4, 0.0),
                                                 (h // 8, h // 3, 2.0), (h // 8, h // 3, 1.1)]):
            a = base + 1.2 * curves[k, i]
            end = (int(cx + length * np.cos(a)), int(cy + dy + length * np.sin(a)))
            cv2.line(out[i], (cx, cy + dy), end, 0, 2)
    return np.resize(out, (n, h, w)) if period is not None else out


# --- drawn clips with a true mask (the cut and ingest tests) --------------------------------------
def figure_mask(i: int, h: int = 240, w: int = 400) -> np.ndarray:
    """A dancing figure with thick limbs at frame i: bool (h, w)."""
    m = np.zeros((h, w), np.uint8)
    s = h / 240
    cx = int(w / 2 + w * 0.18 * np.sin(i / 6))
    hip = (cx, int(h * 0.62))
    neck = (cx + int(6 * s * np.sin(i / 3)), int(h * 0.30))
    cv2.line(m, hip, neck, 255, int(30 * s))
    cv2.ellipse(m, (neck[0], int(neck[1] - 22 * s)), (int(15 * s), int(19 * s)), 0, 0, 360, 255, -1)
    for side, phase in ((-1, 0.0), (1, 1.7)):
        a = 0.9 * np.sin(i / 4 + phase)
        elbow = (int(neck[0] + side * 40 * s * np.cos(a)), int(neck[1] + 40 * s * np.sin(a) + 10 * s))
        hand = (int(elbow[0] + side * 36 * s * np.cos(2 * a)), int(elbow[1] - 30 * s * np.sin(a + 0.6)))
        cv2.line(m, (neck[0], neck[1] + int(8 * s)), elbow, 255, max(2, int(14 * s)))
        cv2.line(m, elbow, hand, 255, max(2, int(11 * s)))
        knee = (int(hip[0] + side * (18 + 12 * np.sin(i / 5 + phase)) * s), int(hip[1] + 45 * s))
        cv2.line(m, hip, knee, 255, int(18 * s))
        cv2.line(m, knee, (int(knee[0] + side * 8 * s), int(h * 0.95)), 255, int(15 * s))
    return m > 0


def bw_clip(n: int = 36, h: int = 240, w: int = 400, light: bool = True):
    """White figure on black (or black on white): RGB frames and true masks."""
    masks = np.stack([figure_mask(i, h, w) for i in range(n)])
    dancer, bg = (235, 15) if light else (20, 240)
    soft = np.stack([cv2.GaussianBlur(m.astype(np.float32), (3, 3), 0.8) for m in masks])
    grey = (soft * dancer + (1 - soft) * bg).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1), masks


def screen_clip(n: int = 36, h: int = 240, w: int = 400, key: str = "green", seed: int = 0):
    """A figure in front of an unevenly lit green or blue screen, with screen colour spilled on its edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.75 + 0.35 * np.exp(-(((xx - w * 0.4) / (w * 0.6)) ** 2 + ((yy - h * 0.3) / (h * 0.8)) ** 2))
    screen = np.array([60, 165, 70] if key == "green" else [40, 70, 170], np.float32)
    bg = light[..., None] * screen
    person = np.zeros((h, w, 3), np.float32)
    person[: int(h * 0.45)] = [200, 150, 120]
    person[int(h * 0.45):] = [40, 40, 60] if key == "green" else [90, 50, 40]
    frames, masks = [], []
    for i in range(n):
        m = figure_mask(i, h, w)
        soft = cv2.GaussianBlur(m.astype(np.float32), (5, 5), 1.2)[..., None]
        spill = np.clip(1 - np.abs(soft - 0.5) * 2, 0, 1) * 0.3
        fg = person * (1 - spill) + screen * spill
        f = soft * fg + (1 - soft) * bg + rng.normal(0, 3, (h, w, 3))
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
        masks.append(m)
    return np.stack(frames), np.stack(masks)


def room_clip(n: int = 40, h: int = 240, w: int = 400, seed: int = 0, drift: float = 2.0,
              masks: np.ndarray | None = None):
    """A figure in a lit, textured room with a soft shadow at its feet, filmed by a drifting camera.

    The figure is `masks` (bool (n, h, w)) when given, else the drawn `figure_mask`.
    Returns RGB frames, true masks and the shadow strength (0..1) of each frame."""
    if masks is None:
        masks = np.stack([figure_mask(i, h, w) for i in range(n)])
    n, h, w = masks.shape
    rng = np.random.default_rng(seed)
    H, W = h + 40, w + 40
    tex = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 3)
    tex /= tex.std()
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.where((yy > H * 0.72)[..., None], np.float32([120, 90, 70]), np.float32([190, 170, 140]))
    light = 0.55 + 0.55 * np.exp(-(((xx - W * 0.55) / (W * 0.5)) ** 2 + ((yy - H * 0.2) / (H * 0.9)) ** 2))
    room = base * (light * (1 + 0.08 * tex - 0.12 * (np.sin(xx / 7) > 0.6)))[..., None]
    rows = np.arange(h)[:, None, None]
    person = np.where(rows < h * 0.27, np.float32([205, 150, 120]),
                      np.where(rows < h * 0.62, np.float32([40, 70, 170]), np.float32([35, 35, 40])))
    frames, shadows = [], []
    for i, m in enumerate(masks):
        dx, dy = drift * np.sin(i / 7), drift * 0.5 * np.cos(i / 9)
        bg = cv2.warpAffine(room, np.float32([[1, 0, 20 + dx], [0, 1, 20 + dy]]), (w, h),
                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        shadow = np.zeros((h, w), np.float32)
        cv2.ellipse(shadow, (int(np.nonzero(m)[1].mean() + 25), int(h * 0.96)), (55, 10), 0, 0, 360, 1.0, -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), 6)
        bg = bg * (1 - 0.35 * shadow)[..., None]
        soft = cv2.GaussianBlur(m.astype(np.float32), (3, 3), 0.8)[..., None]
        f = soft * person + (1 - soft) * bg + rng.normal(0, 3, (h, w, 3))
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
        shadows.append(shadow)
    return np.stack(frames), masks, np.stack(shadows)


def dancer_clip(seconds: float = 10.0, h: int = 240, w: int = 400, seed: int = 0):
    """The built-in dancer (12 fps) in the room of `room_clip`: frames, true masks and shadows.

    She stays near one spot, so unlike the swaying figure she hides the same background most of the time."""
    frames = render_frames(SynthConfig(seconds=seconds, fps=12, width=w, height=h, seed=seed, preview=False))
    return room_clip(seed=seed, masks=frames < 128)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (0 when both are empty)."""
    return float((a & b).sum() / max((a | b).sum(), 1))


def output_masks(masks: np.ndarray, size=(200, 120)) -> np.ndarray:
    """The true masks framed as `fit="crop"` frames the stage: the centre at the output's aspect, resized."""
    _, h, w = masks.shape
    cw, ch = (w, round(w * size[1] / size[0])) if w * size[1] <= h * size[0] else (round(h * size[0] / size[1]), h)
    x, y = (w - cw) // 2, (h - ch) // 2
    return np.stack([cv2.resize(m[y:y + ch, x:x + cw].astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5
                     for m in masks])


# --- stores and runs ----------------------------------------------------------------------------------------
def make_store(path, *, clips=(40, 40), w=80, h=48):
    """A frame store of `blob_frames`, one clip per entry of `clips` (frame counts)."""
    with StoreWriter(path, width=w, height=h, fps=12) as sw:
        for k, n in enumerate(clips):
            sw.append(blob_frames(n, h=h, w=w, seed=k))
            sw.end_clip()
    return FrameStore.open(path)


def make_run(root: Path, name: str = "run", n: int = 480, seed: int = 0) -> Path:
    """An untrained run folder linked to a store of `n` frames of `dancer` (80x48 at FPS)."""
    run = root / name
    run.mkdir(parents=True)
    with StoreWriter(root / f"{name}-store", width=80, height=48, fps=FPS) as w:
        w.append(dancer(n, seed=seed))
    link_store(run, root / f"{name}-store")
    return run


# --- music ---------------------------------------------------------------------------------------------------
def song(path, seconds: float, bpm: float = 110.0):
    """A click track at `bpm` written to `path` (a WAV): a song with a beat anyone can hear."""
    sf.write(str(path), click_track(bpm, seconds), SR)
    return path


# --- the command line --------------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m deepdance ARGS` in a child process, as a user types it."""
    return subprocess.run([sys.executable, "-m", "deepdance", *args], capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, needle: str) -> None:
    """Exit code 2 and one line on stderr that contains `needle`, no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert needle in lines[0], lines[0]
