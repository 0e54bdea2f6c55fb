"""The synth stage: a frame store of the built-in dancer with its music and a preview."""

import cv2
import numpy as np
import pytest
import soundfile as sf

from deepdance.dancer import Body, Camera, Choreography, DrumTrack, draw_poses
from deepdance.errors import UserError
from deepdance.store import FrameStore
from deepdance.synth import SynthConfig, render_frames, synthesize
from deepdance.video import probe, read_frames


def synth(tmp_path, name, **kw):
    kw.setdefault("seconds", 3.0)
    kw.setdefault("preview", False)
    chunk = kw.pop("chunk", None)
    return synthesize(tmp_path / name, cfg=SynthConfig(**kw), progress=False, chunk=chunk)


def test_same_seed_same_bytes_whatever_the_chunk_size(tmp_path):
    a = synth(tmp_path, "a", seed=3)
    b = synth(tmp_path, "b", seed=3, chunk=7)
    c = synth(tmp_path, "c", seed=4)
    for name in ("frames.bin", "music.wav"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes()
        assert (a.path / name).read_bytes() != (c.path / name).read_bytes()
    assert np.array_equal(render_frames(SynthConfig(seconds=3.0, seed=3), 10, 20), a.frames(10, 20))


def test_several_tempos_make_one_clip_each_with_its_own_music(tmp_path):
    from deepdance.audio import features_for_store

    tempos = (90, 120, 140)
    store = synth(tmp_path, "s", seconds=24, seed=1, tempos=tempos, width=64, height=48)
    m = store.manifest
    assert store.clips == [(0, 96), (96, 192), (192, 288)]
    assert m.source["bpm"] == m.extra["bpm"] == [90.0, 120.0, 140.0]
    assert [(b["bpm"], b["offset"], b["count"]) for b in m.extra["beats"]] == [(90, 0, 12), (120, 8, 16), (140, 16, 19)]
    assert m.extra["clip_starts"] == [{"start_s": 0.0}, {"start_s": 8.0}, {"start_s": 16.0}]
    assert sf.info(str(store.audio_path)).frames == 24 * 22050
    # the music's beats, tracked clip by clip, follow each clip's tempo
    music = features_for_store(store)
    for (a, b), bpm in zip(store.clips, tempos):
        t = music.beats.times[(music.beats.times >= a / 12) & (music.beats.times < b / 12)]
        assert len(t) >= 0.6 * 8 * bpm / 60
        # the mean interval: single ones are whole 23-ms hops, up to 3% off at 140 BPM
        assert np.diff(t).mean() == pytest.approx(60 / bpm, rel=0.03)
        assert np.diff(t).max() < 1.2 * 60 / bpm


def test_tempo_clips_are_the_same_whatever_the_chunk_size(tmp_path):
    kw = dict(seconds=3.0, seed=3, tempos=(90, 130))
    a = synth(tmp_path, "a", preview=True, **kw)
    b = synth(tmp_path, "b", chunk=7, **kw)   # 7 frames do not divide the 18-frame clips
    for name in ("frames.bin", "music.wav", "manifest.json"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes()
    assert a.clips == [(0, 18), (18, 36)]
    cfg = SynthConfig(**kw)
    assert np.array_equal(render_frames(cfg, 10, 25), a.frames(10, 25))
    # clip 1: the same body dancing the choreography of seed + 1 from its own frame 0, to its own music
    body, camera = Body.from_seed(3), Camera.fit(200, 120)
    choreo = Choreography(4, bpm=130, fps=12, body=body, travel=camera.travel)
    assert np.array_equal(draw_poses(choreo.poses(0, 18), body, camera), a.frames(18, 36))
    pcm, _ = sf.read(str(a.audio_path), dtype="int16")
    start = round(18 / 12 * 22050)
    assert len(pcm) == 3 * 22050
    own = np.round(DrumTrack(130, seed=3).render(0, len(pcm) - start) * 32767).astype(np.int16)
    np.testing.assert_array_equal(pcm[start:], own)
    # the preview plays both clips in one go, with all the music
    facts = probe(a.path / "preview.mp4")
    assert facts["frames"] == 36 and facts["has_audio"]


def test_frames_show_one_moving_dancer_of_plausible_size():
    cfg = SynthConfig(seconds=20, seed=1)
    frames = render_frames(cfg, 0, cfg.frames)
    assert frames.shape == (240, 120, 200) and frames.dtype == np.uint8
    h, w = frames.shape[1:]
    for f in frames:
        n, _, stats, _ = cv2.connectedComponentsWithStats((f < 128).astype(np.uint8), connectivity=8)
        areas = np.sort(stats[1:, cv2.CC_STAT_AREA])[::-1]
        assert n >= 2 and (n == 2 or areas[1] < 0.01 * areas[0])    # one dancer, no loose parts
        assert 0.02 < areas[0] / (h * w) < 0.2
        top = stats[1:, cv2.CC_STAT_TOP][np.argmax(stats[1:, cv2.CC_STAT_AREA])]
        tall = stats[1:, cv2.CC_STAT_HEIGHT].max()
        assert 0.45 * h < tall <= h and top >= 0
    change = (frames[1:] < 128) != (frames[:-1] < 128)
    assert (change.mean(axis=(1, 2)) > 0).all()
    # grey edges: the figure is anti-aliased
    assert ((frames > 0) & (frames < 255)).any()


def test_store_music_and_preview(tmp_path):
    store = synth(tmp_path, "s", seconds=4.0, seed=2, preview=True, bpm=120)
    again = FrameStore.open(store.path)
    m = again.manifest
    assert len(again) == 48 and m.fps == 12 and (m.width, m.height) == (200, 120)
    assert m.source == {"kind": "builtin-dancer", "seed": 2, "bpm": 120.0}
    assert m.cut == {"mode": "rendered"} and m.audio == "music.wav"
    assert m.extra["beats"]["bpm"] == 120.0 and m.extra["beats"]["count"] == 8
    info = sf.info(str(again.audio_path))
    assert info.samplerate == 22050 and info.channels == 1 and abs(info.duration - 4.0) < 1e-3
    preview = store.path / "preview.mp4"
    facts = probe(preview)
    assert facts["codec"] == "h264" and facts["has_audio"] and facts["frames"] == 48
    decoded = [f for _, f in read_frames(preview, fmt="gray")]
    assert len(decoded) == 48
    assert np.abs(decoded[20].astype(int) - again[20]).mean() < 6
    assert not list(tmp_path.glob(".*"))   # no temporary leftovers


def test_large_frames_draw_the_same_dance(tmp_path):
    big = synth(tmp_path, "big", seconds=1.0, seed=5, width=800, height=480)
    small = render_frames(SynthConfig(seconds=1.0, seed=5), 0, 12) < 128
    frames = big.frames()
    assert frames.shape == (12, 480, 800)
    shrunk = frames.reshape(12, 120, 4, 200, 4).mean(axis=(2, 4)) < 128
    assert (small & shrunk).sum() / (small | shrunk).sum() > 0.85
    odd = render_frames(SynthConfig(seconds=1.0, width=131, height=77), 0, 3)
    assert odd.shape == (3, 77, 131) and (odd < 128).any()


@pytest.mark.parametrize("kw, needle", [
    ({"seconds": 0}, "must be positive"),
    ({"seconds": -2.0}, "must be positive"),
    ({"seconds": float("nan")}, "number"),
    ({"fps": 0}, "must be positive"),
    ({"seconds": 0.01}, "less than one frame"),
    ({"width": 4}, "between 8 and 8192"),
    ({"height": 10_000}, "between 8 and 8192"),
    ({"width": 200.5}, "whole number"),
    ({"bpm": 5}, "bpm"),
    ({"tempos": (90, 500)}, "tempos must be between 30 and 300 BPM"),
    ({"tempos": (90, "fast")}, "tempos must be a number"),
    ({"tempos": 120}, "list of numbers"),
    ({"bpm": 100, "tempos": (90, 120)}, "not both"),
    ({"seconds": 0.25, "tempos": (90, 100, 110, 120)}, "4 tempos need"),
    ({"seconds": "long"}, "number"),
])
def test_bad_config_values(kw, needle):
    with pytest.raises(UserError, match=needle):
        SynthConfig(**kw)


def test_config_round_trip_and_bad_json(tmp_path):
    cfg = SynthConfig(seconds=2, bpm=100, width=320, height=240)
    cfg.save(tmp_path / "c.json")
    assert SynthConfig.load(tmp_path / "c.json") == cfg
    cfg = SynthConfig(seconds=2, tempos=(90, 120.5))
    cfg.save(tmp_path / "c.json")
    assert SynthConfig.load(tmp_path / "c.json") == cfg
    with pytest.raises(UserError):
        SynthConfig.from_dict({"seconds": -1})
    with pytest.raises(UserError):
        SynthConfig.from_dict({"tempo": 100})


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "s"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="--force"):
        synthesize(out, cfg=SynthConfig(seconds=1), progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    # --force replaces a store, never a folder of something else given by mistake
    with pytest.raises(UserError, match="without manifest.json"):
        synthesize(out, cfg=SynthConfig(seconds=1, preview=False), force=True, progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    synthesize(out, cfg=SynthConfig(seconds=2, preview=False), force=True, progress=False)
    store = synthesize(out, cfg=SynthConfig(seconds=1, preview=False), force=True, progress=False)
    assert len(store) == 12 and sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_synth_from_motion_files(tmp_path):
    """Real motion capture renders with the same body into a store (skips without ../shared)."""
    from conftest import shared_file
    from deepdance.cli import main

    bvh = shared_file("motion", "cmu_salsa_bvh", "cmu60_01_salsa_lead_scaled.bvh")
    kp = shared_file("motion", "aistpp_keypoints2d", "gBR_sBM_cAll_d04_mBR0_ch02.npz")
    assert main(["synth", "--motion", str(bvh), "--motion-fps", "60", "--out", str(tmp_path / "bvh")]) == 0
    assert main(["synth", "--motion", str(kp), "--view", "3", "--no-preview", "--out", str(tmp_path / "kp")]) == 0
    bvh_store, kp_store = FrameStore.open(tmp_path / "bvh"), FrameStore.open(tmp_path / "kp")
    assert len(bvh_store) == round(2242 / 60 * 12) and bvh_store.manifest.source["kind"] == "bvh"
    assert len(kp_store) == 144 and kp_store.manifest.source["view"] == 3
    assert bvh_store.audio_path is None
    assert main(["synth", "--motion", str(kp), "--view", "12", "--out", str(tmp_path / "bad")]) == 2


def test_the_store_keeps_the_exact_joints_it_drew(tmp_path):
    from deepdance.pose.skeleton import INDEX, JOINTS

    store = synthesize(tmp_path / "s", cfg=SynthConfig(seconds=2, width=80, height=48, preview=False), progress=False,
                       chunk=7)
    poses, poses3d = store.poses(), store.poses(three_d=True)
    assert store.manifest.joints == list(JOINTS) and poses.shape == (len(store), len(JOINTS), 3)
    ink = store.frames() < 128
    # every seen joint of the trunk and limbs lies on (or a pixel from) the dancer drawn in the same frame
    for name in ("l_shoulder", "r_hip", "l_knee", "r_ankle", "l_wrist"):
        xy, seen = poses[:, INDEX[name], :2], poses[:, INDEX[name], 2] > 0
        x, y = np.clip(np.rint(xy[:, 0]).astype(int), 0, 79), np.clip(np.rint(xy[:, 1]).astype(int), 0, 47)
        near = [ink[i, max(0, y[i] - 1):y[i] + 2, max(0, x[i] - 1):x[i] + 2].any() for i in range(len(store))]
        assert seen.mean() > 0.9 and np.mean(np.array(near)[seen]) > 0.95, name
    # metres about the mid-hip: the hips straddle 0, a dancer some 1.7 m tall
    hips = (poses3d[:, INDEX["l_hip"]] + poses3d[:, INDEX["r_hip"]]) / 2
    assert np.abs(hips).max() < 1e-5
    assert 1.2 < np.median(poses3d[:, INDEX["nose"], 1] - poses3d[:, INDEX["l_ankle"], 1]) + 0.1 < 2.0
