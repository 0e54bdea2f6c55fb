"""Ingest with poses: a pose for every frame, the skeleton check, framing that keeps the dancer whole."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deepdance.dancer.colour import colour_dance
from deepdance.errors import UserError
from deepdance.footage.framing import STAGE_ZOOM, default_size
from deepdance.ingest import IngestConfig, ingest
from deepdance.pose import PoseTrack, from_dancer, pck
from deepdance.store import FrameStore
from deepdance.video import write_video

from conftest import shared_file


def _colour_clip(tmp_path, kind: str, w: int = 320, h: int = 240, seconds: float = 3.0, fps: float = 12.0):
    frames, poses, body, camera = colour_dance(seconds, fps, w, h, seed=0, kind=kind)
    path = tmp_path / f"{kind}.mp4"
    write_video(path, frames, fps=fps, crf=16)
    return path, from_dancer(poses, body, camera, fps)


@pytest.mark.parametrize("kind", ["room", "gradient"])
@pytest.mark.slow
def test_colour_dancer_poses_in_the_store_match_the_truth(tmp_path, kind):
    path, truth = _colour_clip(tmp_path, kind)
    store = ingest([path], tmp_path / "s", cfg=IngestConfig(fps=12), progress=False)
    m = store.manifest
    # the full-rate track: one pose per source frame, in the layout `deepdance pose` writes
    track = PoseTrack.load(store.path / m.source["inputs"][0]["track"])
    assert len(track) == len(truth) and track.found.mean() > 0.9
    assert pck(track.joints2d, truth.joints2d)[0] >= 0.9
    # the store's poses: the truth mapped as the frames were. The dancer fills the picture's height, so a crop
    # to 200x120 would cut off head or feet: the frame is padded (320x240 -> 160x120, 20 pixels each side)
    assert m.joints is not None and store.poses().shape == (len(store), 21, 3)
    assert len(store) == len(truth) and m.source["inputs"][0]["fit"] == "pad"
    mapped = truth.joints2d.copy()
    mapped[..., :2] = mapped[..., :2] * 0.5 + [20, 0]
    assert pck(store.poses(), mapped)[0] >= 0.95
    check = m.cut["check"]
    assert check["key_joints_inside"] >= 0.9 and check["near_skeleton"] >= 0.8
    assert (store.path / "preview.mp4").exists() and m.extra["preview_video"] == "preview.mp4"



def _far_clip(tmp_path, w: int, h: int, size: float, x: float, y: float, travel: float, seconds: float = 3.0):
    """The built-in dancer far from the camera: her body unit `size` of the picture's height, standing at
    (x, y) of the picture; (path, her true poses in source pixels)."""
    from deepdance.dancer.body import Body, Camera
    from deepdance.dancer.choreo import Choreography
    from deepdance.dancer.colour import backdrop, colour_frames

    fps = 12.0
    body, camera = Body.from_seed(0), Camera(w, h, size * h, (x * w, y * h))
    poses = Choreography(0, fps=fps, body=body, travel=travel).poses(0, round(seconds * fps))
    path = tmp_path / "far.mp4"
    write_video(path, colour_frames(poses, body, camera, backdrop("room", w, h, 0)), fps=fps, crf=16)
    return path, from_dancer(poses, body, camera, fps)


def _seen_through(store: FrameStore, truth: PoseTrack, box) -> np.ndarray:
    """The true joints in the store's pixels, the store being `box` (x, y, w, h) of the source."""
    x, y, _, sh = box
    mapped = truth.joints2d.copy()
    mapped[..., :2] = (mapped[..., :2] - [x, y]) * (store.height / sh)
    return mapped


@pytest.mark.slow
def test_a_far_dancer_is_framed_to_the_stage_she_uses(tmp_path):
    # the built-in dancer far from the camera, off-centre: her body is 0.4 of the picture's height
    w, h = 480, 270
    path, truth = _far_clip(tmp_path, w, h, 0.4, 0.62, 0.86, 0.5)
    store = ingest([path], tmp_path / "s", cfg=IngestConfig(fps=12), progress=False)
    stage = store.manifest.source["inputs"][0]["stage"]
    assert stage[3] <= h / STAGE_ZOOM and abs(stage[2] / stage[3] - 200 / 120) < 0.02
    # her poses in the store are the truth seen through the stage: she is drawn larger, and whole
    mapped = _seen_through(store, truth, stage)
    assert pck(store.poses(), mapped)[0] >= 0.9
    inside = (mapped[..., 0] > 2) & (mapped[..., 0] < 198) & (mapped[..., 1] > 2) & (mapped[..., 1] < 118)
    assert inside.all()
    frames = store.frames(0, len(store))
    assert (frames[:, :, [0, -1]] > 128).all() and (frames[:, [0, -1], :] > 128).all()   # nothing cut at the edges


@pytest.mark.slow
def test_a_dancer_too_small_for_the_pose_estimator_is_found_by_looking_closer(tmp_path):
    from deepdance.footage.inputs import Input
    from deepdance.footage.poses import CLOSER_BELOW, sample_poses

    # her body a sixth of the picture's height, at its lower left: the whole picture shows the estimator nobody
    path, truth = _far_clip(tmp_path, 640, 360, 0.17, 0.3, 0.9, 0.3)
    raw = Input(path, 12.0).samples(24)
    assert sum(p is not None for p in sample_poses(raw)) < CLOSER_BELOW * len(raw)
    store = ingest([path], tmp_path / "s", cfg=IngestConfig(fps=12), progress=False)
    facts = store.manifest.source["inputs"][0]
    x, y, ww, wh = facts["pose_window"]
    assert x + ww < 0.6 * 640 and y > 0.3 * 360 and "small in the picture" in facts["pose_window_reason"]
    assert facts["pose_found"] >= 0.9 and "people" not in facts
    assert pck(store.poses(), _seen_through(store, truth, facts["stage"]))[0] >= 0.9

def test_default_size_follows_the_source():
    assert default_size(640, 360, (200, 120)) == (200, 120)
    assert default_size(1080, 1920, (200, 120)) == (120, 200)


@pytest.mark.slow
def test_portrait_source_gives_a_portrait_store_with_head_and_feet(tmp_path):
    path, truth = _colour_clip(tmp_path, "gradient", w=180, h=320, seconds=2.0)
    store = ingest([path], tmp_path / "s", cfg=IngestConfig(fps=6), progress=False)
    assert (store.width, store.height) == (120, 200)
    p = store.poses()
    ends = p[:, [0, 15, 16]]
    seen = p[:, :17, 2].mean(1) > 0
    inside = (ends[..., 0] >= 0) & (ends[..., 0] < 120) & (ends[..., 1] >= 0) & (ends[..., 1] < 200)
    assert inside[seen].all(-1).mean() >= 0.99
    # --size and --fit still override
    wide = ingest([path], tmp_path / "w", cfg=IngestConfig(fps=6, width=200, height=120, fit="pad"), progress=False)
    assert (wide.width, wide.height) == (200, 120) and wide.manifest.source["inputs"][0]["fit"] == "pad"


@pytest.mark.slow
def test_a_phone_clip_filmed_upright_is_ingested_upright(tmp_path):
    from deepdance.video import read_frames

    from test_video import phone_clip

    # a phone's portrait clip: pictures coded sideways, a display matrix that turns them by -90 degrees
    path, truth = _colour_clip(tmp_path, "gradient", w=180, h=320, seconds=2.0)
    phone_clip(tmp_path / "phone.mp4", np.stack([f for _, f in read_frames(path)]), rotation=-90)
    upright = ingest([path], tmp_path / "u", cfg=IngestConfig(fps=6), progress=False)
    phone = ingest([tmp_path / "phone.mp4"], tmp_path / "p", cfg=IngestConfig(fps=6), progress=False)
    facts = phone.manifest.source["inputs"][0]
    assert (phone.width, phone.height) == (120, 200) and (facts["width"], facts["height"]) == (180, 320)
    assert facts["rotation"] == 270 and facts["pose_found"] >= 0.9
    assert pck(phone.poses(), upright.poses())[0] >= 0.95


def test_nobody_in_the_clip_is_one_line_and_nothing_written(tmp_path):
    rng = np.random.default_rng(0)
    room = np.clip(rng.normal(150, 4, (1, 120, 160, 3)), 0, 255).astype(np.uint8).repeat(24, 0)
    write_video(tmp_path / "empty.mp4", room, fps=12)
    with pytest.raises(UserError, match="nobody in"):
        ingest([tmp_path / "empty.mp4"], tmp_path / "s", cfg=IngestConfig(fps=12), progress=False)
    assert not (tmp_path / "s").exists()


def test_image_folder_gets_poses_too(tmp_path):
    import cv2
    frames, poses, body, camera = colour_dance(1.0, 6, 200, 160, seed=1, kind="room")
    (tmp_path / "imgs").mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / "imgs" / f"f{i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    store = ingest([tmp_path / "imgs"], tmp_path / "s", cfg=IngestConfig(fps=6), progress=False)
    track = PoseTrack.load(store.path / "track.npz")
    assert len(track) == len(frames) and track.source["kind"] == "images"
    assert json.loads((store.path / "manifest.json").read_text())["joints"][0] == "nose"


@pytest.mark.slow
def test_real_portrait_clip_keeps_her_whole(tmp_path):
    clip = shared_file("videos", "portrait_studio_12s_1080x1920.mp4")
    store = ingest([clip], tmp_path / "s", cfg=IngestConfig(fps=3), progress=False)
    m = store.manifest
    assert (store.width, store.height) == (120, 200) and m.cut["mode"] != "threshold"
    assert m.cut["check"]["frames_key_joints_inside"] >= 0.9
    p = store.poses()
    ends = p[:, [0, 15, 16]]
    inside = (ends[..., 0] >= 0) & (ends[..., 0] < 120) & (ends[..., 1] >= 0) & (ends[..., 1] < 200)
    assert inside.all(-1).mean() >= 0.99
    assert FrameStore.open(store.path).poses().shape[0] == len(store)


@pytest.mark.slow
def test_several_people_keep_the_largest_most_central_and_say_so(tmp_path):
    fps = 12.0
    big, poses, body, camera = colour_dance(4.0, fps, 480, 240, seed=0, kind="room")
    small, *_ = colour_dance(4.0, fps, 150, 150, seed=3, kind="gradient")
    frames = big.copy()
    frames[:, 85:235, 5:155] = small            # a smaller dancer at the left edge, in her own picture
    path = tmp_path / "two.mp4"
    write_video(path, frames, fps=fps, crf=16)
    truth = from_dancer(poses, body, camera, fps)
    store = ingest([path], tmp_path / "s", cfg=IngestConfig(fps=12), progress=False)
    m = store.manifest
    said = " ".join(m.extra.get("notes", []))
    assert "several people" in said and "largest, most central" in said
    facts = m.source["inputs"][0]
    x, y, w, h = facts["pose_window"]
    assert facts["people"] >= 2 and x > 80 and x <= np.nanmin(truth.joints2d[..., 0])   # the other one left out
    track = PoseTrack.load(store.path / facts["track"])
    assert pck(track.joints2d, truth.joints2d)[0] >= 0.95   # the big dancer's joints, in source pixels
    # one dancer alone: no window, no note
    alone = tmp_path / "one.mp4"
    write_video(alone, big, fps=fps, crf=16)
    one = ingest([alone], tmp_path / "s1", cfg=IngestConfig(fps=12), progress=False).manifest
    assert "pose_window" not in one.source["inputs"][0] and "several" not in " ".join(one.extra.get("notes", []))
