"""Building blocks with a known answer: augmentation, beat steps, the largest region, projection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdance.conditioning import ON_BEAT_STRETCH, beat_steps, looped, on_beat
from deepdance.modules import augment
from deepdance.representation import Pixels, largest_region


# --- modules.augment -----------------------------------------------------------------------------------
def dots(b: int, h: int = 40, w: int = 100, y: int = 20, x: int = 25) -> torch.Tensor:
    """b ink maps (B, 1, h, w), channels_last, each with one inked pixel at (y, x)."""
    x_ = torch.zeros(b, 1, h, w)
    x_[:, 0, y, x] = 1.0
    return x_.contiguous(memory_format=torch.channels_last)


def where_dots(out: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the one inked pixel of every map (asserting there is exactly one)."""
    flat = out[:, 0].reshape(len(out), -1)
    assert torch.equal((flat > 0).sum(1), torch.ones(len(out), dtype=torch.long))  # moved, never lost or smeared
    assert torch.equal(flat.max(1).values, torch.ones(len(out)))
    idx = flat.argmax(1).numpy()
    return idx // out.shape[-1], idx % out.shape[-1]


def test_augment_keeps_shape_dtype_and_memory_format():
    x = torch.rand(8, 3, 12, 20).contiguous(memory_format=torch.channels_last)  # 3 channels: the format shows
    out = augment(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_augment_shifts_within_bounds_and_mirrors_half():
    torch.manual_seed(0)
    h, w, y, x = 40, 100, 20, 25
    out = augment(dots(400, h, w, y, x), shift=(0.2, 0.05))  # up to 20 px across, 2 px down
    rows, cols = where_dots(out)
    mirrored = cols >= w // 2  # a mirrored dot lands at w-1-(x+dx): 54..94; an unmirrored one at 5..45
    straight_dx = cols[~mirrored] - x
    mirror_dx = (w - 1 - cols[mirrored]) - x
    for dx in (straight_dx, mirror_dx):
        assert np.abs(dx).max() <= 20 and np.ptp(dx) >= 30  # within bounds, and it does shift
    assert np.abs(rows - y).max() <= 2 and set(rows - y) == {-2, -1, 0, 1, 2}
    assert 160 <= mirrored.sum() <= 240  # half of them, give or take 4 standard deviations


def test_augment_is_seeded():
    x = dots(16)
    torch.manual_seed(3)
    a = augment(x)
    torch.manual_seed(3)
    b = augment(x)
    torch.manual_seed(4)
    c = augment(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


# --- conditioning.beat_steps -----------------------------------------------------------------------------
def test_beat_steps_at_90_bpm_and_12_fps_take_every_frame():
    # 90 BPM at 12 fps is 8 frames a beat: 8 steps a beat lands one step on every frame
    n, fps = 49, 12.0
    beats = np.arange(0, 10, 60 / 90)
    latents = np.arange(n, dtype=np.float32)[:, None] * [1, -1]
    music = np.arange(n, dtype=np.float32)[:, None] + 0.5
    steps = beat_steps(latents, music, [[0, n]], beats, fps, steps_per_beat=8)
    assert steps.clips == [[0, n]]
    np.testing.assert_allclose(steps.frames, np.arange(n), atol=1e-9)
    np.testing.assert_array_equal(steps.latents, latents)
    np.testing.assert_array_equal(steps.music, music)


def test_beat_steps_at_120_bpm_clip_by_clip():
    # 120 BPM at 12 fps: 6 frames a beat, so 8 steps a beat are 0.75 frame apart
    fps, beats = 12.0, np.arange(0, 10, 0.5)
    latents = np.arange(97, dtype=np.float32)[:, None]
    music = -np.arange(97, dtype=np.float32)[:, None]
    steps = beat_steps(latents, music, [[0, 49], [49, 97]], beats, fps, steps_per_beat=8)
    # clip 1: frames 0..48 = beats 0..8 -> 8*8+1 = 65 steps; clip 2: frames 49..96 = beats 8.17..16 -> 63 steps
    assert steps.clips == [[0, 65], [65, 128]]
    np.testing.assert_allclose(steps.frames[:65], 0.75 * np.arange(65))
    np.testing.assert_allclose(steps.frames[65:], 49 + 0.75 * np.arange(63))
    near = np.rint(steps.frames)
    np.testing.assert_array_equal(steps.latents[:, 0], near)  # latents and music at the nearest frame
    np.testing.assert_array_equal(steps.music[:, 0], -near)
    assert steps.latents.dtype == np.float32


def test_beat_steps_before_the_first_beat_keep_its_pace():
    # the beats start 1 s in: before them, steps run back at the pace of the first beats (0.5 s)
    fps, beats = 12.0, np.arange(1.0, 10, 0.5)
    latents = np.arange(30, dtype=np.float32)[:, None]
    steps = beat_steps(latents, latents, [[0, 12], [12, 30]], beats, fps, steps_per_beat=4)
    assert steps.clips == [[0, 8], [8, 20]]  # a step is 1/8 s = 1.5 frames: 0..10.5 and 12..28.5
    np.testing.assert_allclose(steps.frames, np.r_[1.5 * np.arange(8), 12 + 1.5 * np.arange(12)])


def test_on_beat_moves_the_dancers_pauses_onto_the_beats():
    # a dancer at 12 fps who pauses a frame after every beat (6 frames a beat): shown at the music's frames,
    # she pauses on them, and between pauses she goes at her own pace
    fps, beats = 12.0, np.arange(0.5, 10, 0.5)
    pause = np.rint(beats * fps).astype(int)[:-1] + 1          # frames 7, 13, 19, ...
    t = np.arange(120, dtype=np.float64)
    latents = np.cumsum(np.minimum(np.abs(t[:, None] - 0.5 - pause[None]).min(1), 2.0))[:, None]   # slowest at a pause
    at = np.arange(120, dtype=np.float64)
    shown = on_beat(latents, 0, 120, beats, fps, at)
    on = np.rint(beats * fps).astype(int)[1:-2]
    np.testing.assert_allclose(shown[on], on + 1)             # at each beat, her pause
    # to the second beat a little faster (13 frames in 12: 7 in 6 would be more than ON_BEAT_STRETCH), then at
    # her own pace, a frame a frame
    assert 7 / 6 > ON_BEAT_STRETCH >= 13 / 12
    np.testing.assert_allclose(np.diff(shown[:13]), 13 / 12)
    np.testing.assert_allclose(np.diff(shown[12:108]), 1)
    # after her last pause (109, on the beat at 108) to her last frame, 10 frames in 11: she ends where she did
    np.testing.assert_allclose(np.diff(shown[108:]), 10 / 11)
    # allowed 1.2x (the dance's own pauses, `generate`), the first beat takes her pause too: 7 frames in 6
    wider = on_beat(latents, 0, 120, beats, fps, at, stretch=1.2)
    np.testing.assert_allclose(np.diff(wider[:7]), 7 / 6)
    np.testing.assert_allclose(wider[on], on + 1)
    # without a song's beat, as she danced
    np.testing.assert_array_equal(on_beat(latents, 0, 120, beats[:1], fps, at), at)
    steps = beat_steps(latents, latents, [[0, 120]], beats, fps, steps_per_beat=6, between=True)
    np.testing.assert_allclose(steps.frames, np.arange(len(steps.frames)), atol=1e-9)   # the music's frames
    assert not np.allclose(steps.latents[:, 0], latents[:len(steps.latents), 0])         # her moved poses


def test_own_music_loops_on_its_beats_when_the_dance_is_longer(tmp_path, monkeypatch):
    import soundfile as sf

    from deepdance.audio import Beats, MusicFeatures

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fps, sr = 12.0, 8000
    beats = np.arange(1.0, 9.01, 0.5)                  # a 10-s song with beats from 1 s to 9 s
    wav = tmp_path / "music.wav"
    sf.write(wav, np.sin(np.arange(10 * sr) * 0.01).astype(np.float32) * 0.5, sr)
    music = MusicFeatures(np.arange(120, dtype=np.float32)[:, None], fps, Beats(beats, 120.0), 10.0)
    at, b, audio = looped(music, wav, 60, fps)          # shorter than the song: the song as it is
    np.testing.assert_array_equal(at, np.arange(60))
    assert audio == wav and np.array_equal(b, beats)
    at, b, audio = looped(music, wav, 300, fps)         # 25 s: after 9 s, the song from 1 s again
    np.testing.assert_allclose(np.diff(b), 0.5)         # the beat goes on across every join
    assert b[0] == 1.0 and b[-1] == 24.5
    np.testing.assert_array_equal(at[:108], np.arange(108))
    np.testing.assert_array_equal(at[108:204], at[12:108])   # 9 s .. 17 s sounds as 1 s .. 9 s did
    y, got_sr = sf.read(audio, dtype="float32")
    song_y = sf.read(wav, dtype="float32")[0]
    assert got_sr == sr and len(y) == 25 * sr
    np.testing.assert_allclose(y[9 * sr + 400:9 * sr + 800], song_y[sr + 400:sr + 800], atol=1e-4)
    assert looped(music, wav, 300, fps)[2] == audio     # made once


# --- representation.largest_region and Pixels.project ---------------------------------------------------
def test_largest_region_keeps_the_largest_8_connected_region():
    m = np.zeros((3, 10, 12), bool)
    m[0, 1:4, 1:4] = True        # 9 pixels
    m[0, 6:9, 6:10] = True       # 12 pixels: kept
    m[1, 2:4, 2:4] = True        # 4 pixels...
    m[1, 4, 4] = m[1, 5, 5] = m[1, 6, 6] = True  # ...joined corner to corner by 3: 7 in all
    m[1, 0:2, 8:11] = True       # 6 pixels
    got = largest_region(m)
    assert got.dtype == m.dtype and got.shape == m.shape
    want = np.zeros_like(m)
    want[0, 6:9, 6:10] = True
    want[1, 2:4, 2:4] = True
    want[1, 4, 4] = want[1, 5, 5] = want[1, 6, 6] = True
    np.testing.assert_array_equal(got, want)
    assert not got[2].any()  # an empty mask stays empty


class ShowLatents(torch.nn.Module):
    """A stand-in autoencoder whose latent is its picture: probs(z) shows z, encode(x) reads x back."""
    recipe, h, w = "default", 8, 10
    latent = h * w

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))  # a parameter, as a real model has

    def probs(self, z: torch.Tensor) -> torch.Tensor:
        return z.reshape(-1, 1, self.h, self.w)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(len(x), -1).float()


def test_project_thresholds_and_keeps_one_body():
    pics = torch.zeros(3, 8, 10)
    pics[0, 1:6, 1:5] = 0.9      # the body
    pics[0, 6, 5] = 0.7          # a foot touching it at a corner: part of it
    pics[0, 0:2, 8:10] = 0.95    # a stray limb beside it: gone, however sure
    pics[0, 6, 1:3] = 0.5        # exactly one half, under the body: not dancer
    pics[0, 3, 5:7] = 0.3        # a ghost of another pose beside it: not dancer
    pics[1, 2:5, 6:9] = 0.6      # one dim body alone: crisp
    want = torch.zeros(3, 8, 10)
    want[0, 1:6, 1:5] = 1
    want[0, 6, 5] = 1
    want[1, 2:5, 6:9] = 1        # (and the blank picture stays blank)
    got = Pixels(ShowLatents()).project(pics.reshape(3, -1), batch_size=2)  # two batches
    assert torch.equal(got.reshape(3, 8, 10), want)


@pytest.mark.parametrize("batch_size", [1, 256])
def test_project_of_a_crisp_body_is_itself(batch_size):
    pics = torch.zeros(2, 8, 10)
    pics[:, 2:7, 3:6] = 1.0
    z = pics.reshape(2, -1)
    assert torch.equal(Pixels(ShowLatents()).project(z, batch_size=batch_size), z)
