"""The skeleton format (known answers per source), BlazePose on the built-in dancer in colour, `deepdance pose`."""

from __future__ import annotations

import numpy as np
import pytest

from deepdance import video
from deepdance.cli import main
from deepdance.dancer.body import Body, Camera, J
from deepdance.dancer.kinematics import rest_pose
from deepdance.dancer.colour import BACKDROPS, backdrop, colour_dance
from deepdance.dancer.motion import load_motion
from deepdance.errors import UserError
from deepdance.pose import (COCO17_INDEX, DANCER_HEIGHT_M, JOINTS, BlazePose, PoseTrack, from_blazepose,
                            from_coco17, from_dancer, from_motion, pck, preview_path, track_video)
from deepdance.pose.skeleton import INDEX, torso_length

from conftest import shared_file
from test_motion import _bvh, _dance


# --- the joint set and its converters: known answers ------------------------------------------------------
def test_the_joint_set_starts_with_coco17():
    # COCO's keypoint order, as AIST++ documents it (../shared/data/SOURCES.md)
    coco = ("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
            "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
    assert JOINTS[:17] == coco and COCO17_INDEX == tuple(range(17))
    assert JOINTS[17:] == ("l_hand", "r_hand", "l_toe", "r_toe")


def test_coco17_in_and_out():
    kp = np.zeros((2, 17, 3))
    kp[..., 0] = np.arange(17) * 10.0
    kp[..., 1] = 100 + np.arange(2)[:, None]
    kp[..., 2] = 0.9
    kp[1, 3] = 0.0                       # COCO's unlabelled keypoint
    kp[0, 4, :2] = np.nan                # or a position nobody knows
    t = from_coco17(kp, 30.0, (640, 360))
    j = t.joints2d
    assert j.shape == (2, 21, 3) and j.dtype == np.float32
    assert np.allclose(j[0, 5], [50, 100, 0.9]) and np.allclose(j[1, 16], [160, 101, 0.9])
    assert np.isnan(j[1, 3, :2]).all() and j[1, 3, 2] == 0 and np.isnan(j[0, 4, :2]).all()
    assert np.isnan(j[:, 17:, :2]).all() and (j[:, 17:, 2] == 0).all()   # hands and toes: not in COCO-17
    back = t.coco17()
    assert (back[1, 3] == 0).all() and (back[0, 4] == 0).all()         # COCO's convention for unknown
    assert np.allclose(back[0, 5], kp[0, 5])
    assert np.allclose(t.micros(), [0, 33333])
    with pytest.raises(UserError, match="frames, 17"):
        from_coco17(np.zeros((2, 18, 3)), 30.0, (640, 360))


def test_blazepose_landmarks_map_to_the_joint_set():
    lm = np.zeros((33, 4))
    lm[:, 0] = np.arange(33) / 40.0       # x 0 .. 0.8 of the width
    lm[:, 1] = 0.5
    lm[:, 3] = np.linspace(0.5, 1.0, 33)
    lm[32, 0] = 1.2                       # the right toe placed beyond the picture's right edge
    world = np.zeros((33, 4))
    world[:, :3] = [0.1, -0.2, 0.3]       # BlazePose: y down, z away from the camera
    j2, j3 = from_blazepose(lm, world, 400, 200)
    assert np.allclose(j2[INDEX["nose"]], [0, 100, lm[0, 3]])
    assert np.allclose(j2[INDEX["l_eye"], 0], 2 / 40 * 400) and np.allclose(j2[INDEX["r_eye"], 0], 5 / 40 * 400)
    assert np.allclose(j2[INDEX["l_hip"], 0], 23 / 40 * 400) and np.allclose(j2[INDEX["r_ankle"], 0], 28 / 40 * 400)
    # the hand is the middle of the index and pinky knuckles, as sure as the less sure of them
    assert np.allclose(j2[INDEX["l_hand"]], [(17 + 19) / 80 * 400, 100, lm[17, 3]])
    assert np.allclose(j2[INDEX["r_hand"]], [(18 + 20) / 80 * 400, 100, lm[18, 3]])
    assert np.allclose(j2[INDEX["l_toe"], 0], 31 / 40 * 400)
    assert np.isnan(j2[INDEX["r_toe"], :2]).all() and j2[INDEX["r_toe"], 2] == 0   # not invented
    assert np.allclose(j3, [0.1, 0.2, -0.3])   # y up, z toward the camera
    nobody = from_blazepose(None, None, 400, 200)
    assert np.isnan(nobody[0][:, :2]).all() and (nobody[0][:, 2] == 0).all() and np.isnan(nobody[1]).all()


def test_the_built_in_dancer_through_its_camera():
    body = Body()
    cam = Camera(200, 100, 80.0, (100.0, 90.0))
    rest = rest_pose(body)
    t = from_dancer(np.stack([rest, rest]), body, cam, 12.0, yaw=[0.0, np.pi])
    j = t.joints2d
    x, y = rest[J["l_shoulder"], :2]
    assert np.allclose(j[0, INDEX["l_shoulder"]], [100 + 80 * x, 90 - 80 * y, 1.0], atol=1e-4)
    assert x > 0 and j[0, INDEX["l_shoulder"], 0] > j[0, INDEX["r_shoulder"], 0]   # her left at the picture's right
    assert (j[0, :, 2] == 1).all()                 # facing the camera: every joint in the picture and seen
    assert (j[1, :3, 2] == 0).all()                # turned away: nose and eyes hidden behind the head...
    assert (j[1, 5:, 2] == 1).all()                # ...the body still seen
    assert np.allclose(j[1, INDEX["l_shoulder"], 0], 100 - 80 * x, atol=1e-4)   # and mirrored
    hips = t.joints3d[0, INDEX["l_hip"]] - t.joints3d[0, INDEX["r_hip"]]
    assert np.allclose(hips, [body.hip_w * DANCER_HEIGHT_M, 0, 0], atol=1e-5)
    assert np.allclose((t.joints3d[0, INDEX["l_hip"]] + t.joints3d[0, INDEX["r_hip"]]) / 2, 0, atol=1e-6)
    hand = t.joints3d[0, INDEX["l_hand"]] - t.joints3d[0, INDEX["l_wrist"]]
    assert np.isclose(np.linalg.norm(hand), 0.6 * body.hand * DANCER_HEIGHT_M, rtol=1e-4)
    high = Camera(200, 100, 80.0, (100.0, 20.0))   # the floor near the top: all but the feet above the picture
    out = from_dancer(rest[None], body, high, 12.0).joints2d[0]
    assert out[INDEX["nose"], 2] == 0 and np.isfinite(out[INDEX["nose"], :2]).all()   # known, not seen
    assert out[INDEX["l_ankle"], 2] == 1


def test_bvh_gives_only_the_joints_it_has(tmp_path):
    sk, motion = _dance("mixamo", n=5)
    path = tmp_path / "d.bvh"
    path.write_text(_bvh(sk, motion))
    m = load_motion(path)
    cam = Camera.fit(400, 240)
    t = from_motion(m, cam)
    assert len(t) == 5 and t.source["kind"] == "bvh"
    j = t.joints2d
    assert np.isnan(j[:, :5, :2]).all() and np.isnan(j[:, 17:19, :2]).all()   # no face, no knuckles
    assert np.isfinite(j[:, 5:17, :2]).all() and np.isfinite(j[:, 19:, :2]).all()   # body and named toes
    ls = m.poses[:, J["l_shoulder"]]
    assert np.allclose(j[:, INDEX["l_shoulder"], :2], np.stack([cam.origin[0] + cam.scale * ls[:, 0],
                                                                cam.origin[1] - cam.scale * ls[:, 1]], -1), atol=1e-3)
    assert np.isnan(t.joints3d[:, :5]).all() and np.isfinite(t.joints3d[:, 5:17]).all()
    with pytest.raises(ValueError):
        from_motion(load_motion(_keypoint_file(tmp_path)), cam)


def _keypoint_file(tmp_path):
    kp = np.zeros((1, 4, 17, 3), np.float32)
    kp[..., 0] = 100 + np.arange(17) * 5
    kp[..., 1] = 200 + np.arange(17) * 20
    kp[..., 2] = 1.0
    path = tmp_path / "kp.npz"
    np.savez(path, keypoints2d=kp, timestamps=np.arange(4) * 16667)
    return path


def test_pck_known_answers():
    truth = np.zeros((1, 21, 3))
    truth[..., 2] = 1.0
    truth[0, INDEX["l_shoulder"], :2] = truth[0, INDEX["r_shoulder"], :2] = [0, 0]
    truth[0, INDEX["l_hip"], :2] = truth[0, INDEX["r_hip"], :2] = [0, 100]
    assert torso_length(truth)[0] == 100
    near, far = truth.copy(), truth.copy()
    near[..., 0] += 19.0
    far[..., 0] += 21.0
    assert pck(near, truth) == (1.0, 21) and pck(far, truth) == (0.0, 21)
    far[0, 0, 2] = 0.2     # an unsure joint is not scored
    assert pck(far, truth)[1] == 20


# --- the real estimator ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, seed", [("room", 0), ("gradient", 1)])
@pytest.mark.slow
def test_blazepose_finds_the_built_in_dancer_in_colour(kind, seed):
    frames, poses, body, cam = colour_dance(6.0, 12.0, 400, 240, seed=seed, kind=kind)
    truth = from_dancer(poses, body, cam, 12.0)
    with BlazePose() as est:
        got = est.track(frames, 12.0)
    assert got.found.mean() == 1.0 and got.size == (400, 240)
    score, count = pck(got.joints2d, truth.joints2d)
    assert count >= 0.8 * len(frames) * len(JOINTS)
    assert score >= 0.95, f"PCK@0.2 {score:.3f} on {kind}"


@pytest.mark.slow
def test_pose_command_on_a_drawn_clip(tmp_path, capsys):
    frames, poses, body, cam = colour_dance(2.0, 25.0, 320, 180, seed=1, kind="gradient")
    clip = tmp_path / "clip.mp4"
    video.write_video(clip, [frames], fps=25)
    out = tmp_path / "tracks" / "clip.npz"
    assert main(["pose", str(clip), "--out", str(out)]) == 0
    assert "a person in 100% of them" in capsys.readouterr().out
    with np.load(out) as data:
        assert data["keypoints2d"].shape == (1, 50, 17, 3) and data["keypoints2d"].dtype == np.float32
        assert data["det_scores"].shape == (1, 50) and data["timestamps"].dtype == np.int64
        assert np.allclose(np.diff(data["timestamps"]), 40000, atol=1)
        assert data["joints2d"].shape == data["joints3d"].shape == (50, 21, 3)
        assert tuple(data["joint_names"]) == JOINTS
    track = PoseTrack.load(out)
    truth = from_dancer(poses, body, cam, 25.0)
    assert pck(track.joints2d, truth.joints2d)[0] >= 0.9   # the accuracy bar is the test above; here: the file
    assert load_motion(out).poses.shape == (50, 19, 3)           # what `synth --motion` reads
    assert video.probe(preview_path(out))["frames"] == 50
    assert main(["pose", str(clip), "--out", str(out)]) == 2      # no silent overwrite
    assert main(["pose", str(clip), "--out", str(out), "--force", "--no-preview"]) == 0
    assert not preview_path(out).exists()                         # no stale preview beside a new track


def test_pose_refuses_bad_input(tmp_path):
    empty = backdrop("room", 160, 120)
    nobody = tmp_path / "nobody.mp4"
    video.write_video(nobody, [np.stack([empty] * 8)], fps=8)
    out = tmp_path / "p.npz"
    with pytest.raises(UserError, match="nobody found in any of its 8 frames"):
        track_video(nobody, out, progress=False)
    assert list(tmp_path.iterdir()) == [nobody]                  # nothing half-written left behind
    with pytest.raises(UserError, match="no such file"):
        track_video(tmp_path / "missing.mp4", out)
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(UserError, match="not a readable video"):
        track_video(tmp_path / "text.mp4", out)
    with pytest.raises(UserError, match=r"\.npz"):
        track_video(nobody, tmp_path / "p.json")
    tiny = tmp_path / "tiny.mp4"
    video.write_video(tiny, [np.zeros((2, 16, 16, 3), np.uint8)], fps=8)
    with pytest.raises(UserError, match="16x16 picture"):
        track_video(tiny, out)
    assert main(["pose", str(tmp_path / "missing.mp4"), "--out", str(out)]) == 2


@pytest.mark.slow
def test_real_portrait_clip(tmp_path):
    clip = shared_file("videos", "portrait_studio_12s_1080x1920.mp4")
    out = tmp_path / "portrait.npz"
    track = track_video(clip, out, preview=False, progress=False)
    assert len(track) == 288 and track.size == (1080, 1920) and track.fps == pytest.approx(24.0)
    assert track.found.mean() >= 0.95
    assert load_motion(out).poses.shape == (288, 19, 3)


def test_backdrops():
    for kind in BACKDROPS:
        img = backdrop(kind, 64, 48)
        assert img.shape == (48, 64, 3) and img.dtype == np.uint8 and img.std() > 5
    with pytest.raises(ValueError):
        backdrop("beach", 64, 48)


@pytest.mark.slow
def test_parallel_pose_keeps_the_order_and_the_accuracy_of_one_tracker():
    from deepdance.pose.estimator import ParallelPose
    from deepdance.pose.skeleton import pck

    frames, poses, body, camera = colour_dance(3.0, 12.0, 320, 240, seed=0, kind="room")
    truth = from_dancer(poses, body, camera, 12.0)
    est = ParallelPose(2)
    try:
        pairs = list(est.stream(enumerate(frames), frame=lambda item: item[1]))
    finally:
        est.close()
    assert [i for (i, _), _ in pairs] == list(range(len(frames)))   # in order, every frame once
    found = np.stack([p.joints2d for _, p in pairs])
    with BlazePose(video=True) as one:
        alone = np.stack([one.estimate(f).joints2d for f in frames])
    assert pck(found, truth.joints2d)[0] >= pck(alone, truth.joints2d)[0] - 0.02 >= 0.9
    assert est.procs == [] and est.frames == []


@pytest.mark.slow
def test_parallel_tracking_has_no_jerk_where_a_worker_takes_over():
    from deepdance.pose.estimator import ParallelPose

    # the built-in dancer in a room at 25 fps, dealt out in runs of CHUNK frames to two trackers, and to one
    frames, poses, body, camera = colour_dance(6.0, 25.0, 320, 240, seed=0, kind="room")
    truth = from_dancer(poses, body, camera, 25.0).joints2d[:, :17, :2]
    with ParallelPose(2) as est:
        two = np.stack([p.joints2d[:17, :2] for _, p in est.stream(frames)])
    with BlazePose(video=True) as est:
        one = np.stack([est.estimate(f).joints2d[:17, :2] for f in frames])

    def acceleration(x):   # at frames 1 .. n-2
        return np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1).mean(1)

    # where a worker takes over, the joints move as one tracker's do (without the overlap: 2.1 times as fast)
    place = np.arange(1, len(frames) - 1) % ParallelPose.CHUNK
    takeover = (place == 0) | (place == ParallelPose.CHUNK - 1)
    assert acceleration(two)[takeover].mean() < 1.2 * acceleration(one)[takeover].mean()
    assert np.linalg.norm(two - truth, axis=-1).mean() < 1.1 * np.linalg.norm(one - truth, axis=-1).mean()


@pytest.mark.slow
def test_a_short_video_is_tracked_in_this_process_a_long_one_by_workers():
    import os

    from deepdance.pose.estimator import PARALLEL_FROM, ParallelPose, pose_estimator

    with pose_estimator(frames=PARALLEL_FROM - 1) as short:
        assert isinstance(short, BlazePose)   # starting workers would cost more than they save
    with pose_estimator(frames=PARALLEL_FROM) as long, pose_estimator() as unknown:
        parallel = len(os.sched_getaffinity(0)) > 1
        assert isinstance(long, ParallelPose) == parallel and isinstance(unknown, ParallelPose) == parallel
