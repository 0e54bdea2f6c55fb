"""The pose representation: poses <-> latents, the fitted body drawn at any size, exports read back,
and a tiny pose run end to end (the pixel run is tested in test_pipeline / test_train)."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from deepdance.dancer.bvh import parse_bvh, skeleton_positions
from deepdance.dancer.motion import load_motion
from deepdance.pose.export import BVH_NAMES, BVH_POINT, bvh_motion, dance_ppu, export_dance
from deepdance.pose.figure import default_size
from deepdance.pose.skeleton import INDEX, PoseTrack, torso_length
from deepdance.pose.space import Poses
from deepdance.representation import load_representation
from deepdance.synth import SynthConfig, synthesize


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("pose") / "store", cfg=SynthConfig(seconds=12, fps=12, seed=1, bpm=120.0, preview=False), progress=False)


def test_poses_round_trip_and_sizes(store, tmp_path):
    rep = Poses.fit(store)
    rep.save(tmp_path)
    rep = Poses.load(tmp_path)   # the run folder alone decodes
    z = rep.encode(store)
    assert z.shape == (len(store), rep.latent) and np.isfinite(z).all()
    real = np.asarray(store.poses())
    back = rep.joints(z)
    known = np.isfinite(real[..., :2]).all(-1)
    assert np.abs(back[..., :2][known] - real[..., :2][known]).max() < 1e-3
    assert ((back[..., 2] > 0) == (known & (real[..., 2] > 0))).all()
    assert default_size((200, 120)) == (800, 480) and rep.size == (800, 480)
    frames = np.concatenate(list(rep.decode(z[:5])))
    assert frames.shape == (5, 480, 800) and frames.dtype == np.uint8
    assert 0 < (frames < 128).mean() < 0.3 and len(np.unique(frames)) > 2   # a body, anti-aliased
    snapped = rep.project(__import__("torch").from_numpy(z[:5] * 0.9))
    assert set(np.unique(snapped.numpy()[:, -21:])) <= {0.0, 1.0}


def test_planted_feet_stay_put(store):
    import torch

    from deepdance.pose.skeleton import FEET, planted

    rep = Poses.fit(store)
    z = rep.encode(store)
    ankles = lambda latents: rep.joints(latents)[:, list(FEET), 0]
    # one real pose held still for 2 s while the whole body slides sideways 0.02 torso lengths a frame
    still = np.repeat(z[:1], 24, axis=0)
    slid = still.copy()
    slid[:, 42] += 0.02 * np.arange(24)
    assert planted(rep.joints(slid), 12.0, rep.scale).all()
    fixed = rep.plant_feet(torch.from_numpy(slid), 12.0).numpy()
    assert np.abs(ankles(fixed) - ankles(fixed)[:1]).max() < 1e-3 * rep.scale   # the feet stay put
    assert np.abs(np.delete(fixed, 42, axis=1) - np.delete(slid, 42, axis=1)).max() == 0   # only the place moved
    # a dance whose feet are never planted is left as it was
    flying = slid.copy()
    flying[:, 43] -= 0.5 * np.arange(24)   # rising half a torso length a frame
    assert torch.equal(rep.plant_feet(torch.from_numpy(flying), 12.0), torch.from_numpy(flying))



def test_planted_feet_never_walk_the_body_out_of_its_places(store):
    from deepdance.pose.skeleton import FEET

    rep = Poses.fit(store)
    z = rep.encode(store)
    # a salsa-like dance: a foot planted while the body slides right, then both lifted while it steps back;
    # taking each planted slide off the place adds up cycle after cycle unless the place is bounded
    cycle = np.repeat(z[:1], 8, axis=0)
    cycle[:, 42] += [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.1, 0.0]
    for k in FEET:
        cycle[6:8, 2 * k + 1] -= 0.6   # both feet up
    dance = np.tile(cycle, (12, 1))
    fixed = rep.plant_feet(torch.from_numpy(dance), 12.0).numpy()
    assert dance[:, 42].min() - 1e-6 <= fixed[:, 42].min() and fixed[:, 42].max() <= dance[:, 42].max() + 1e-6
    assert np.abs(fixed - dance).max() > 0.05   # and the planted feet were still held

def test_waist_up_dancer_has_no_legs(store):
    rep = Poses.fit(store)
    j = np.asarray(store.poses()[:4]).copy()
    legs = [INDEX[n] for n in ("l_knee", "r_knee", "l_ankle", "r_ankle", "l_toe", "r_toe")]
    full = np.concatenate(list(rep.decode(rep.latents(j))))
    j[:, legs] = [np.nan, np.nan, 0.0]
    half = np.concatenate(list(rep.decode(rep.latents(j))))
    knee_y = int(np.asarray(store.poses()[:4])[:, legs[0], 1].min() * 4)   # below the knees
    assert (full[:, knee_y:] < 128).mean() > 0.005 and (half[:, knee_y:] < 128).mean() == 0


def test_waist_up_dancer_runs_off_the_bottom_edge(store):
    from deepdance.pose.figure import EDGE_NEAR, draw_figure

    rep = Poses.fit(store)
    j = np.asarray(store.poses()[:4]).copy()
    legs = [INDEX[n] for n in ("l_knee", "r_knee", "l_ankle", "r_ankle", "l_toe", "r_toe")]
    j[:, legs, 2] = 0.0   # not seen (draw_figure takes finite positions)
    hips = [INDEX["l_hip"], INDEX["r_hip"]]
    torso = torso_length(j)
    bottom = rep.figure.source[1]

    def bottom_row_inked(gap):   # the hips `gap` torso lengths above the picture's bottom edge
        moved = j.copy()
        moved[..., 1] += (bottom - gap * torso - moved[:, hips, 1].mean(1))[:, None]
        return (draw_figure(moved, rep.figure, rep.figure.source)[:, -1] < 128).any(1)

    # filmed from the waist up, her trunk runs off the edge as it did in the picture (not round hips above it)
    assert bottom_row_inked(0.5 * EDGE_NEAR).all()
    # hips well above the edge with no legs seen: a waist-up figure that ends at its hips, no invented legs
    assert not bottom_row_inked(2 * EDGE_NEAR).any()


def test_exports_read_back(store, tmp_path):
    bvh_lib = pytest.importorskip("bvh")
    rep = Poses.fit(store)
    joints = rep.joints(rep.encode(store)[:48])
    frames = np.concatenate(list(rep.decode(rep.encode(store)[:48])))
    out = export_dance(tmp_path, joints, 24.0, source=rep.source, frames=frames)
    assert {"bvh", "keypoints", "skeleton"} <= set(out) and out["skeleton"].stat().st_size > 0
    height_cm = 170.0
    _, _, _, expected = bvh_motion(joints, dance_ppu(joints), rep.source)
    # our reader
    skel, values, frame_time = parse_bvh(out["bvh"].read_text())
    assert abs(frame_time - 1 / 24) < 1e-6
    ours = skeleton_positions(skel, values, [skel.names.index(n) for n in BVH_NAMES])
    assert np.abs(ours - expected).max() < 0.01 * height_cm
    # an independent reader (the `bvh` package), with forward kinematics done here by scipy
    mocap = bvh_lib.Bvh(out["bvh"].read_text())
    assert mocap.nframes == 48
    names = mocap.get_joints_names()
    pos, rot = {}, {}
    for name in names:
        chans = mocap.joint_channels(name)
        vals = np.array([mocap.frame_joint_channels(f, name, chans) for f in range(48)], float)
        offset = np.array(mocap.joint_offset(name), float)
        angles = vals[:, [chans.index(c) for c in ("Zrotation", "Xrotation", "Yrotation")]]
        r = Rotation.from_euler("ZXY", angles, degrees=True).as_matrix()
        parent = mocap.joint_parent(name)
        if parent is None:
            pos[name], rot[name] = vals[:, :3], r
        else:
            pos[name] = pos[parent.name] + np.einsum("fij,j->fi", rot[parent.name], offset)
            rot[name] = rot[parent.name] @ r
    theirs = np.stack([pos[n] for n in BVH_NAMES], 1)
    assert np.abs(theirs - expected).max() < 0.01 * height_cm
    # seen from the front, the file's joints are the dance's joints
    src = joints[:, [INDEX[BVH_POINT["LeftForeArm"]]], :2]
    k = BVH_NAMES.index("LeftForeArm")
    ppu = dance_ppu(joints)
    xy = theirs[:, [k], :2] / height_cm * ppu * [1, -1] + [rep.source[0] / 2, rep.source[1]]
    assert np.abs(xy - src).max() < 0.01 * ppu
    # the keypoints: the AIST++ layout, read by synth --motion
    track = PoseTrack.load(out["keypoints"])
    assert track.joints2d.shape == (48, 21, 3) and track.size == (800, 480)
    with np.load(out["keypoints"]) as data:
        assert data["keypoints2d"].shape == (1, 48, 17, 3)
    assert load_motion(out["keypoints"]).poses.shape[0] == 48
    assert load_motion(out["bvh"]).poses.shape[0] == 48


@pytest.mark.slow
def test_tiny_pose_run_end_to_end(store, tmp_path):
    from deepdance.errors import UserError
    from deepdance.generate import GenerateConfig
    from deepdance.pipeline import generate_run, train_run
    from deepdance.train import TrainConfig

    run = tmp_path / "run"
    figures = train_run(store.path, run, cfg=TrainConfig(seq_epochs=1, look_steps=10, seed=0), progress=False)
    assert figures["represent"] == "pose" and (run / "pose.json").is_file()
    assert (run / "look.safetensors").is_file() and 0 < figures["look.val_iou"] <= 1
    assert figures["look.default"] in ("learned", "body")
    assert 0 <= figures["look.human"] <= 1 and figures["look.human_body"] > 0.5   # the built-in body reads as a person
    assert not (run / "ae.safetensors").exists()
    assert load_representation(run).name == "pose"
    import warnings
    with warnings.catch_warnings(record=True) as caught:   # nothing but its own lines reaches the user
        warnings.simplefilter("always")
        outputs = generate_run(run, cfg=GenerateConfig(frames=24, seed=0))
    assert not [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    for key in ("video", "gif", "bvh", "keypoints", "skeleton"):
        assert outputs[key].is_file()
    from deepdance.video import probe
    info = probe(outputs["video"])
    assert (info["width"], info["height"]) == (800, 480) and abs(info["fps"] - 24) < 0.1
    assert load_motion(outputs["keypoints"]).poses.shape[0] == 47   # 24 steps at 12 fps, shown at 24 fps
    # motion transfer: a dance file danced in this run's look, sized and placed as this dancer
    for look in ("learned", "body"):
        moved = generate_run(run, tmp_path / f"moved-{look}", cfg=GenerateConfig(motion=str(outputs["keypoints"]),
                                                                                look=look))
        joints = np.load(moved["keypoints"])["keypoints2d"][0]
        assert len(joints) == 47 and probe(moved["video"])["width"] == 800
        source = np.load(outputs["keypoints"])["keypoints2d"][0]
        torso = lambda k: np.median(np.linalg.norm(k[:, 5:7, :2].mean(1) - k[:, 11:13, :2].mean(1), axis=-1))
        assert abs(torso(joints) / torso(source) - 1) < 0.1
    with pytest.raises(UserError, match="no song"):
        GenerateConfig(motion="x.bvh", bpm=100)
    # a dance of real steps (the default for poses) is not the dance of the codes' centres
    from deepdance.generate import generate
    real, centres = (generate(run, GenerateConfig(frames=24, seed=0, walk=w, smooth=0)) for w in ("real", "centres"))
    assert real.latents.shape == centres.latents.shape and not np.allclose(real.latents, centres.latents)
    with pytest.raises(UserError, match="walk"):
        GenerateConfig(walk="both")


def test_retime_interpolates_between_steps():
    import torch

    from deepdance.generate import GenerateConfig, retime

    z = torch.arange(5, dtype=torch.float32)[:, None].repeat(1, 3)   # 5 steps at 12 fps
    out = retime(z, 12.0, 30.0)
    assert len(out) == 11 and torch.allclose(out[:, 0], torch.arange(11) * 0.4)   # no repeated frames
    assert retime(z, 12.0, 12.0) is z
    with pytest.raises(Exception, match="size"):
        GenerateConfig(size="800by480")


def test_freeze_frames_sees_short_pauses():
    from deepdance import metrics as M
    from helpers import dancer

    real = dancer(240)
    paused = real.copy()
    for i in range(0, 240, 6):   # every sixth frame held for one frame: too short for the smoothed figure
        paused[i + 1] = paused[i]
    report = M.quality_report([paused], real[:200], real[200:], 12.0)
    assert report["freeze_frames"] >= report["freeze_frames_real"] + 0.1
    assert report["freeze"] <= report["freeze_real"] + 0.05


def test_pose_figures_against_the_real_dancer(store):
    from deepdance import pose_metrics as P

    real = np.asarray(store.poses(), np.float64)
    same = P.pose_figures(real, real, store.fps)
    assert same["kinetic_fd"] < 3 * same["kinetic_fd_real"] + 1e-9
    still = np.repeat(real[:1], len(real), 0)   # a statue: no kinetic energy, nothing slides
    frozen = P.pose_figures(still, real, store.fps)
    assert frozen["kinetic_fd"] > 3 * same["kinetic_fd"] and frozen["foot_sliding"] == 0
    skate = still.copy()
    skate[:, :, 0] += np.arange(len(real))[:, None] * 2.0   # gliding sideways, feet on the floor
    assert P.pose_figures(skate, real, store.fps)["foot_sliding"] > same["foot_sliding_real"]
    beats = np.arange(0, 12, 0.5)
    assert P.pose_figures(real, real, store.fps, beats=beats, real_beats=beats)["bas_joints"] > 0.5


@pytest.mark.slow
def test_a_person_is_found_where_there_is_one_in_one_process_or_two(store, monkeypatch):
    from deepdance import pose_metrics as P
    from deepdance.pose import estimator

    dancer = store.frames(0, 16)
    blank = np.full_like(dancer, 255)
    alone = P.humans_found([dancer, blank, np.concatenate([dancer[:8], blank[:8]])], sample=16)
    assert alone == [1.0, 0.0, 0.5]
    # past PARALLEL_FROM frames in all the frames go to two BlazePose processes: the same answers
    monkeypatch.setattr(estimator, "PARALLEL_FROM", 20)
    assert P.humans_found([dancer, blank, np.concatenate([dancer[:8], blank[:8]])], sample=16) == alone
    assert P.humans_found([dancer[:0]]) == [0.0]


def test_smooth_keeps_a_still_pose_and_softens_a_jump():
    from deepdance.generate import GenerateConfig, smooth
    from deepdance.errors import UserError

    still = torch.full((30, 4), 2.5)
    assert torch.allclose(smooth(still, 3.0), still)                 # nothing moves: nothing changes
    step = torch.cat([torch.zeros(20, 1), torch.ones(20, 1)])
    assert torch.equal(smooth(step, 0.0), step)                      # sigma 0: as it was
    soft = smooth(step, 2.0)[:, 0]
    assert soft[0] == 0 and soft[-1] == 1                            # the ends are held
    assert 0.4 < soft[19] < 0.5 < soft[20] < 0.6                     # the jump is spread around its middle
    assert (soft[1:] >= soft[:-1]).all()                             # and stays one way
    assert torch.diff(soft).max() < 0.25                             # no longer in one step
    for bad in (-0.1, float("nan"), 11.0):
        with pytest.raises(UserError, match="smooth"):
            GenerateConfig(smooth=bad)


def test_an_untrained_look_is_the_body_and_draws_at_any_size(store):
    from deepdance.errors import UserError
    from deepdance.generate import GenerateConfig
    from deepdance.models import LookNet
    from deepdance.pose.look import bodies, draw_look, ink
    from deepdance.pose.figure import draw_figure

    rep = Poses.fit(store)
    joints = rep.joints(rep.encode(store)[:6])
    net = LookNet().eval()
    body = ink(bodies(joints, rep.figure))
    with torch.no_grad():
        assert torch.equal(net(body) > 0, body > 0.5)        # the last layer starts at zero: the body itself
    assert LookNet(**net.config()).config() == net.config()
    for size in ((800, 480), (400, 400)):
        drawn = draw_look(net, joints, rep.figure, size)
        plain = draw_figure(joints, rep.figure, size)
        assert drawn.shape == (6, size[1], size[0]) and drawn.dtype == np.uint8
        a, b = drawn < 128, plain < 128
        assert (a & b).sum() / (a | b).sum() > 0.85            # the same body, scaled the same way
        assert len(np.unique(drawn)) > 2                       # anti-aliased edges
    nobody = joints.copy()
    nobody[..., 2] = 0
    assert (draw_look(net, nobody, rep.figure, (80, 48)) == 255).all()
    with pytest.raises(UserError, match="no learned look"):
        rep.use_look("learned")
    with pytest.raises(UserError, match="look must be"):
        GenerateConfig(look="pretty")


def test_the_learned_look_is_the_default_only_where_it_draws_her_whole():
    from deepdance.train import learned_look_is_better

    good = dict(iou=0.80, iou_body=0.71, human=1.0, human_body=1.0, pieces=1.02, pieces_allowed=1.01)
    assert learned_look_is_better(**good)
    assert not learned_look_is_better(**{**good, "iou": 0.73})           # no better outline than the body's
    assert not learned_look_is_better(**{**good, "human": 0.90})         # a person found less often
    # her feet drawn apart from her legs: 1.10 regions a frame where her silhouettes have 1.02
    assert not learned_look_is_better(**{**good, "pieces": 1.10, "pieces_allowed": 1.02})
