"""The built-in dancer's parts: body and drawing, choreography, music."""

import numpy as np
import pytest
import soundfile as sf

from deepdance.dancer import (JOINTS, MOVES, Body, Camera, Choreography, DrumTrack, draw_pose, draw_poses,
                              project, rest_pose, tempo_from_seed, write_music)
from deepdance.dancer.body import J
from deepdance.dancer.choreo import BEATS_PER_PHRASE, Segment
from deepdance.dancer.kinematics import forward_kinematics


def dark_width(img, row):
    return int((img[row] < 128).sum())


def test_skeleton_contract():
    for name in ("pelvis", "spine", "chest", "neck", "head", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
                 "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_toe", "r_toe"):
        assert name in JOINTS
    pose = rest_pose(Body())
    assert pose.shape == (len(JOINTS), 3)
    assert 0.45 < pose[J["pelvis"], 1] < 0.6                       # body-height units, y up
    assert 0.9 < pose[J["head"], 1] + Body().head_size[1] < 1.06   # top of the head near 1
    assert pose[J["l_shoulder"], 0] > 0 > pose[J["r_shoulder"], 0]  # facing the camera: left at +x
    assert pose[:, 1].min() >= 0


def test_body_varies_a_little_with_the_seed():
    a, b = Body.from_seed(0), Body.from_seed(1)
    assert a == Body.from_seed(0) and a != b
    for body in (Body.from_seed(s) for s in range(20)):
        assert abs(body.thigh / Body().thigh - 1) < 0.05
        assert abs(body.shoulder_w / Body().shoulder_w - 1) < 0.1


def test_draw_pose_from_an_outside_source_with_explicit_camera():
    """Any (J, 3) pose draws: here the rest pose moved and scaled as a motion file's would be."""
    body = Body()
    pose = rest_pose(body) * 1.1 + [0.3, 0, 0]
    cam = Camera(width=300, height=200, scale=150.0, origin=(100.0, 190.0))
    img = draw_pose(pose, body, cam)
    assert img.shape == (200, 300) and img.dtype == np.uint8
    ys, xs = np.nonzero(img < 128)
    # feet on the floor line, head top at 1.1 body units up, centred 0.3 units right of the origin
    assert abs(ys.max() - 190) <= 2
    assert abs((190 - ys.min()) / 150 - 1.1) < 0.06
    assert abs((xs.min() + xs.max()) / 2 - (100 + 0.3 * 150)) < 4


def test_turning_the_skeleton_narrows_the_outline():
    body = Body()
    cam = Camera.fit(200, 120)
    pose = rest_pose(body)
    chest_row = int(round(cam.origin[1] - pose[J["chest"], 1] * cam.scale))
    front = draw_pose(pose, body, cam)
    side = draw_pose(pose, body, cam, yaw=np.pi / 2)
    assert dark_width(side, chest_row) < 0.7 * dark_width(front, chest_row)
    # the projection itself: in profile the shoulders overlap
    assert abs(np.diff(project(pose, yaw=np.pi / 2)[[J["l_shoulder"], J["r_shoulder"]], 0])) < 0.02


def test_drawing_is_resolution_independent():
    body = Body.from_seed(3)
    choreo = Choreography(3, fps=12)
    poses = choreo.poses(40, 60)
    small = draw_poses(poses, body, Camera.fit(200, 120)) < 128
    big = draw_poses(poses, body, Camera.fit(800, 480))
    shrunk = big.reshape(20, 120, 4, 200, 4).mean(axis=(2, 4)) < 128
    inter, union = (small & shrunk).sum(), (small | shrunk).sum()
    assert inter / union > 0.85


def test_move_library_is_large_and_its_moves_distinct():
    assert len(MOVES) >= 8
    body = Body()
    cam = Camera.fit(100, 60)
    beats = np.linspace(0, 4, 16, endpoint=False)
    shapes = {}
    for name in MOVES:
        params = Choreography._evaluate(Segment(name, 0, 4), beats)
        shapes[name] = draw_poses(forward_kinematics(params, body), body, cam) < 128
    names = list(shapes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            iou = (shapes[a] & shapes[b]).sum() / (shapes[a] | shapes[b]).sum()
            assert iou < 0.85, (a, b, iou)


def test_poses_do_not_depend_on_the_chunk_size():
    choreo = Choreography(5, fps=12)
    whole = choreo.poses(0, 400)
    parts = np.concatenate([choreo.poses(a, min(400, a + 7)) for a in range(0, 400, 7)])
    assert np.array_equal(whole, parts)
    # a far-away range needs nothing before it and equals a fresh plan's
    assert np.array_equal(Choreography(5, fps=12).poses(100_000, 100_010), choreo.poses(100_000, 100_010))


def test_plan_tempo_and_beats():
    for seed in range(30):
        assert 90 <= tempo_from_seed(seed) <= 140
    assert len({tempo_from_seed(s) for s in range(30)}) > 5
    choreo = Choreography(2, fps=12)
    beats = choreo.beat_times(10)
    assert np.allclose(np.diff(beats), 60 / choreo.bpm) and beats[0] == 0 and beats[-1] < 10
    previous = None
    for p in range(6):
        segs = choreo.phrase(p)
        assert sum(s.beats for s in segs) == BEATS_PER_PHRASE and segs[0].beat == p * BEATS_PER_PHRASE
        assert any(s.move == "turn" for s in segs)
        for s in segs:
            assert s.move != previous, "the same move twice in a row"
            previous = s.move
    # the dancer travels across the stage, staying within the room it was given
    x = choreo.params(0, 12 * 120)[:, 0]
    assert x.max() - x.min() > 0.3 and np.abs(x).max() <= choreo.travel + 1e-9


def test_turn_changes_the_outline():
    """During a turn (arms held still) the chest seen from the side is much narrower than from the front."""
    choreo = Choreography(0, fps=48)
    body, cam = choreo.body, Camera.fit(200, 120)
    turn = next(s for s in choreo.segments(0, 64) if s.move == "turn")
    start = int(np.ceil((turn.beat + 1.3) * 60 / choreo.bpm * choreo.fps))
    stop = int((turn.beat + 2.5) * 60 / choreo.bpm * choreo.fps)
    poses = choreo.poses(start, stop)
    frames = draw_poses(poses, body, cam)
    widths = [dark_width(f, int(round(cam.origin[1] - p[J["chest"], 1] * cam.scale)))
              for f, p in zip(frames, poses)]
    assert max(widths) > 1.35 * min(widths), widths


def test_music_chunks_and_determinism(tmp_path):
    track = DrumTrack(123, seed=4)
    whole = track.render(0, 60_000)
    parts = np.concatenate([DrumTrack(123, seed=4).render(a, min(60_000, a + 777)) for a in range(0, 60_000, 777)])
    assert np.array_equal(whole, parts)
    a = write_music(tmp_path / "a.wav", 123, 50_000, seed=4, chunk=4096)
    b = write_music(tmp_path / "b.wav", 123, 50_000, seed=4, chunk=50_000)
    c = write_music(tmp_path / "c.wav", 123, 50_000, seed=5)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    info = sf.info(str(a))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (22050, 1, "PCM_16", 50_000)


@pytest.mark.parametrize("bpm", [97.5, 131])
def test_music_is_on_the_beat(tmp_path, bpm):
    librosa = pytest.importorskip("librosa")
    sr, seconds = 22050, 16
    y = DrumTrack(bpm, seed=1).render(0, sr * seconds)
    beat = 60 / bpm
    hop = 256
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=hop, units="time")
    frame = 1 / 12
    # every beat after the first has an onset within a frame of it
    for t in np.arange(1, int(seconds / beat) - 1) * beat:
        assert np.abs(onsets - t).min() < frame, t
    # and the onsets sit on the grid of 16th notes (hats between the beats)
    pos = onsets / (beat / 4)
    assert np.mean(np.abs(pos - np.round(pos)) * beat / 4 < 0.035) > 0.9
    # the strongest periodicity of the onset envelope is the beat
    e = env - env.mean()
    ac = np.correlate(e, e, "full")[len(e) - 1:]
    lags = np.arange(len(ac)) * hop / sr
    window = (lags > 0.35) & (lags < 0.75)
    assert abs(lags[window][np.argmax(ac[window])] - beat) < 1.5 * hop / sr
