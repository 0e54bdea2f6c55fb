"""Real motion in: BVH forward kinematics, COCO-17 keypoints, resampling and rendering with the dancer's body."""

import json

import cv2
import numpy as np
import pytest

from deepdance.dancer.body import JOINTS, Body, Camera, J
from deepdance.dancer.bvh import parse_bvh, skeleton_positions
from deepdance.dancer.keypoints import COCO17
from deepdance.dancer.motion import Motion, load_motion, motion_frames
from deepdance.errors import UserError

from conftest import shared_file

CAM = Camera.fit(200, 120)


# --- a hand-written BVH: known rotations give known positions -------------------------------------------
TINY = """HIERARCHY
ROOT root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT a
  {
    OFFSET 0 1 0
    CHANNELS 3 Xrotation Zrotation Yrotation
    End Site
    {
      OFFSET 1 0 0
    }
  }
}
MOTION
Frames: 4
Frame Time: 0.1
0 0 0 0 0 0 0 0 0
1 2 3 90 0 0 90 0 0
0 0 0 0 0 0 90 90 0
0 0 0 0 0 0 0 0 90
"""


def test_forward_kinematics_of_a_tiny_chain():
    skel, frames, frame_time = parse_bvh(TINY)
    assert skel.names == ["root", "a", "a End Site"] and skel.parents == [-1, 0, 1]
    assert frames.shape == (4, 9) and frame_time == 0.1
    pos = skeleton_positions(skel, frames, [0, 1, 2])
    expected = np.array([
        [[0, 0, 0], [0, 1, 0], [1, 1, 0]],     # rest
        [[1, 2, 3], [0, 2, 3], [0, 3, 3]],     # root moved and turned 90 about z; a turned 90 about x
        [[0, 0, 0], [0, 1, 0], [0, 1, 1]],     # a: X then Z as listed, R = Rx @ Rz (Rz @ Rx would give (0, 2, 0))
        [[0, 0, 0], [0, 1, 0], [0, 1, -1]],    # a: 90 about y takes +x to -z
    ], np.float64)
    np.testing.assert_allclose(pos, expected, atol=1e-12)


# --- a full synthetic skeleton, written in any axes, units, names and channel order ----------------------
def _skeleton(style: str):
    """(name, parent, offset in cm) of a figure standing in a T-pose, y up, facing +z, its left at +x."""
    names = {
        "mixamo": dict(hips="mixamorig:Hips", spine="mixamorig:Spine", chest="mixamorig:Spine1",
                       neck="mixamorig:Neck", head="mixamorig:Head", collar="mixamorig:{S}Shoulder",
                       arm="mixamorig:{S}Arm", fore="mixamorig:{S}ForeArm", hand="mixamorig:{S}Hand",
                       thigh="mixamorig:{S}UpLeg", shin="mixamorig:{S}Leg", foot="mixamorig:{S}Foot",
                       toe="mixamorig:{S}ToeBase"),
        "cmu": dict(hips="hip", spine="abdomen", chest="chest", neck="neck", head="head", collar="{s}Collar",
                    arm="{s}Shldr", fore="{s}ForeArm", hand="{s}Hand", thigh="{s}Thigh", shin="{s}Shin",
                    foot="{s}Foot", toe=None),
    }[style]

    def n(key, side=""):
        return names[key].replace("{S}", {"l": "Left", "r": "Right"}.get(side, "")).replace("{s}", side)

    out = [(n("hips"), None, (0, 95, 0)), (n("spine"), n("hips"), (0, 10, 0)),
           (n("chest"), n("spine"), (0, 12, 0)), (n("neck"), n("chest"), (0, 25, 0)),
           (n("head"), n("neck"), (0, 10, 2))]
    for s, sx in (("l", 1), ("r", -1)):
        out += [(n("collar", s), n("chest"), (3 * sx, 20, 0)), (n("arm", s), n("collar", s), (13 * sx, 0, 0)),
                (n("fore", s), n("arm", s), (28 * sx, 0, 0)), (n("hand", s), n("fore", s), (25 * sx, 0, 0)),
                (n("thigh", s), n("hips"), (9 * sx, -5, 0)), (n("shin", s), n("thigh", s), (0, -42, 0)),
                (n("foot", s), n("shin", s), (0, -41, 0))]
        if names["toe"]:
            out.append((n("toe", s), n("foot", s), (0, -6, 13)))
    return out


# axis swaps that turn a y-up file into a z-up one: (x, y, z) -> (x, -z, y), for positions and rotations
_Z_UP = {"X": ("X", 1.0), "Y": ("Z", 1.0), "Z": ("Y", -1.0)}


def _bvh(skeleton, motion, *, up="y", order="ZXY", frame_time=1 / 30):
    """BVH text of `skeleton` (see _skeleton) and `motion`: {joint: (F, 3) degrees about x, y, z} plus
    "root" (F, 3) cm. Every joint rotates in `order`; with up="z" the same motion in z-up axes."""
    n = len(motion["root"])
    children = {}
    for name, parent, _ in skeleton:
        children.setdefault(parent, []).append(name)
    offsets = {name: np.array(off, np.float64) for name, _, off in skeleton}
    swap = _Z_UP if up == "z" else {a: (a, 1.0) for a in "XYZ"}

    def channel(axis, kind):  # the channel name in the file's axes, and the sign its value takes
        a, sign = swap[axis]
        return f"{a}{kind}", sign

    def vec(v):
        out = np.zeros(3)
        for i, a in enumerate("XYZ"):
            b, sign = swap[a]
            out["XYZ".index(b)] = sign * v[i]
        return out

    lines, columns = ["HIERARCHY"], []

    def joint(name, depth):
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}")
        lines.append(pad + "{")
        lines.append(pad + "  OFFSET " + " ".join(f"{v:.6f}" for v in vec(offsets[name])))
        chans = []
        if depth == 0:
            for i, a in enumerate("XYZ"):
                c, sign = channel(a, "position")
                chans.append((c, sign * motion["root"][:, i]))
            chans.sort(key=lambda cv: cv[0])
        rot = motion.get(name, np.zeros((n, 3)))
        for a in order:
            c, sign = channel(a, "rotation")
            chans.append((c, sign * rot[:, "XYZ".index(a)]))
        lines.append(pad + f"  CHANNELS {len(chans)} " + " ".join(c for c, _ in chans))
        columns.extend(v for _, v in chans)
        for child in children.get(name, []):
            joint(child, depth + 1)
        if name not in children:
            end = vec(np.array([0.0, -3.0, 8.0]) if "Foot" in name else np.zeros(3))
            lines.extend([pad + "  End Site", pad + "  {", pad + "    OFFSET " + " ".join(f"{v:.6f}" for v in end),
                          pad + "  }"])
        lines.append(pad + "}")

    joint(children[None][0], 0)
    data = np.stack(columns, 1)
    lines += ["MOTION", f"Frames: {n}", f"Frame Time: {frame_time:.6f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in data]
    return "\n".join(lines) + "\n"


def _dance(style="mixamo", n=40, turn=0.0):
    """Travel 1 m to the dancer's left with a little bounce, arms swinging down and up, the hips turned."""
    sk = _skeleton(style)
    names = [name for name, _, _ in sk]
    arm_l, arm_r = (next(x for x in names if x.endswith(k)) for k in ("LeftArm", "RightArm")) if style == "mixamo" \
        else ("lShldr", "rShldr")
    t = np.linspace(0, 1, n)
    swing = -70 + 100 * np.sin(np.pi * t) ** 2         # arms from down at the sides up above shoulder height
    motion = {"root": np.stack([100 * t, 95 + 3 * np.sin(6 * np.pi * t), np.zeros(n)], 1),
              names[0]: np.stack([np.zeros(n), np.full(n, turn), np.zeros(n)], 1),
              arm_l: np.stack([np.zeros(n), np.zeros(n), swing], 1),
              arm_r: np.stack([np.zeros(n), np.zeros(n), -swing], 1)}
    return sk, motion


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bvh_pose_convention_scale_and_floor(tmp_path):
    sk, motion = _dance()
    m = load_motion(_write(tmp_path, "d.bvh", _bvh(sk, motion)))
    p = m.poses
    assert p.shape == (40, len(JOINTS), 3) and p.dtype == np.float64 and m.fps == pytest.approx(30, rel=1e-4)
    assert m.source["kind"] == "bvh" and m.source["file"] == "d.bvh" and m.source["view"] == 0
    assert m.source["joints"]["l_shoulder"] == "mixamorig:LeftArm"     # the upper arm, not the collar
    assert m.source["joints"]["l_toe"] == "mixamorig:LeftToeBase"
    json.dumps(m.source)       # ready for a store's manifest
    # upright, about one body-height tall, feet on the floor, left side at +x facing the camera
    y = p[..., 1]
    assert (y[:, J["head"]] > y[:, J["neck"]]).all() and (y[:, J["neck"]] > y[:, J["pelvis"]]).all()
    assert (y[:, J["pelvis"]] > y[:, J["l_knee"]]).all() and (y[:, J["l_knee"]] > y[:, J["l_ankle"]]).all()
    assert 0.85 < y[:, J["head"]].max() + 0.066 < 1.1
    assert 0.5 < y[:, J["pelvis"]].mean() < 0.62
    low = np.minimum(y[:, J["l_toe"]], y[:, J["r_toe"]])
    assert -0.01 < low.min() - 0.014 < 0.005 and low.max() < 0.08     # standing on the floor, bouncing a little
    assert (p[:, J["l_shoulder"], 0] > p[:, J["r_shoulder"], 0]).all()
    assert (p[:, J["l_toe"], 2] > p[:, J["l_ankle"], 2]).all()       # toes point at the camera
    # travel: centred on its mean, in the direction the dancer moved (to its left, +x)
    x = p[:, J["pelvis"], 0]
    assert abs(x.mean()) < 1e-9 and x[-1] - x[0] > 0.5
    # arms swing: wrists low at the ends, above the shoulders in the middle
    wrist_up = p[:, J["l_wrist"], 1] - p[:, J["l_shoulder"], 1]
    assert wrist_up[0] < -0.2 and wrist_up[20] > 0.1
    np.testing.assert_allclose(p[:, J["l_wrist"], 1], p[:, J["r_wrist"], 1], atol=1e-9)


def test_bvh_z_up_channel_orders_names_and_turns_give_the_same_dancer(tmp_path):
    sk, motion = _dance()
    base = load_motion(_write(tmp_path, "y.bvh", _bvh(sk, motion))).poses
    z_up = load_motion(_write(tmp_path, "z.bvh", _bvh(sk, motion, up="z", order="YXZ"))).poses
    np.testing.assert_allclose(z_up, base, atol=1e-6)
    # the CMU style of names ("hip", "lShldr", "lThigh"...) with no toe joints: the foot's End Site serves
    sk_cmu, motion_cmu = _dance("cmu")
    cmu = load_motion(_write(tmp_path, "c.bvh", _bvh(sk_cmu, motion_cmu, order="XYZ")))
    assert cmu.source["joints"]["l_shoulder"] == "lShldr" and cmu.source["joints"]["l_toe"] == "lFoot End Site"
    np.testing.assert_allclose(cmu.poses[:, J["l_wrist"]], base[:, J["l_wrist"]], atol=0.02)
    # a dancer turned away from the file's axes still faces the camera on average
    sk, turned = _dance(turn=40.0)
    p = load_motion(_write(tmp_path, "t.bvh", _bvh(sk, turned))).poses
    lat = p[:, J["l_shoulder"]] - p[:, J["r_shoulder"]]
    assert (lat[:, 0] > 0.15).all() and np.abs(lat[:, 2]).max() < 1e-6


def test_bvh_view_turns_the_camera(tmp_path):
    sk, motion = _dance()
    path = _write(tmp_path, "d.bvh", _bvh(sk, motion))
    front = load_motion(path, view="front").poses
    back = load_motion(path, view="back").poses
    left = load_motion(path, view="left").poses
    np.testing.assert_allclose(load_motion(path, view=90).poses, left)
    np.testing.assert_allclose(load_motion(path, view="-90").poses, load_motion(path, view="right").poses)
    np.testing.assert_allclose(back[..., 0], -front[..., 0], atol=1e-9)   # mirrored: seen from behind
    np.testing.assert_allclose(back[..., 1], front[..., 1])
    # from the dancer's left: the left shoulder is nearer the camera and the toes point to the picture's left
    assert (left[:, J["l_shoulder"], 2] > left[:, J["r_shoulder"], 2] + 0.15).all()
    assert (left[:, J["l_toe"], 0] < left[:, J["l_ankle"], 0] - 0.05).all()
    assert load_motion(path, view="left").source["view"] == 90
    with pytest.raises(UserError, match="view"):
        load_motion(path, view="above")


def test_bvh_without_toes_extrapolates_a_foot(tmp_path):
    lines = _bvh(_skeleton("cmu"), {"root": np.tile([0.0, 95.0, 0.0], (3, 1))}).splitlines()
    # drop the feet's End Sites: the ankle is then a leaf with nothing to say where the toes are
    feet = [i for i, line in enumerate(lines) if "OFFSET 0.000000 -3.000000 8.000000" in line]
    assert len(feet) == 2
    text = "\n".join(line for i, line in enumerate(lines) if not any(-2 <= i - f <= 1 for f in feet)) + "\n"
    m = load_motion(_write(tmp_path, "n.bvh", text))
    assert m.source["joints"]["l_toe"] == "extrapolated forward from the ankle"
    p = m.poses
    assert (p[:, J["l_toe"], 2] > p[:, J["l_ankle"], 2] + 0.08).all()
    assert (p[:, J["l_toe"], 1] < p[:, J["l_ankle"], 1]).all()


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("mixamorig:LeftForeArm", "mixamorig:LeftBlah"), "lacks required joints: l_elbow"),
    (lambda t: t.replace("mixamorig:Head", "mixamorig:Skull"), "head"),
    (lambda t: t.replace("HIERARCHY", "HIERARCH"), "not a BVH file"),
    (lambda t: t.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation Xrotation", 1),
     "malformed BVH header: bad CHANNELS"),
    (lambda t: t.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation Xrotation Wrotation", 1),
     "bad CHANNELS"),
    (lambda t: t.replace("  }\n", "", 1), "malformed BVH header"),
    (lambda t: t.replace("OFFSET 0.000000 10.000000", "OFFSET 0.000000 ten", 1), "bad OFFSET"),
    (lambda t: t.replace("MOTION\n", ""), "malformed BVH header"),
    (lambda t: t.replace("Frames: 40", "Frames: 41"), "expected 41 frames x"),
    (lambda t: t.replace("Frame Time", "Frame Tim"), "malformed BVH MOTION section"),
    (lambda t: t.rstrip("\n") + " 1.0x\n", "malformed BVH MOTION section"),
])
def test_bad_bvh_files_say_what_is_wrong(tmp_path, change, message):
    sk, motion = _dance()
    path = _write(tmp_path, "bad.bvh", change(_bvh(sk, motion)))
    with pytest.raises(UserError, match=message) as err:
        load_motion(path)
    assert "\n" not in str(err.value) and "bad.bvh" in str(err.value)


def test_missing_joints_are_all_named(tmp_path):
    sk, motion = _dance()
    text = _bvh(sk, motion).replace("mixamorig:LeftLeg", "mixamorig:LeftL").replace("mixamorig:RightHand", "RH")
    with pytest.raises(UserError) as err:
        load_motion(_write(tmp_path, "m.bvh", text))
    assert "l_knee" in str(err.value) and "r_wrist" in str(err.value) and "l_elbow" not in str(err.value)


def test_other_bad_inputs(tmp_path):
    with pytest.raises(UserError, match="not a motion file"):
        load_motion(_write(tmp_path, "x.txt", "hello"))
    with pytest.raises(UserError, match="no such"):
        load_motion(tmp_path / "absent.bvh")
    (tmp_path / "junk.npz").write_bytes(b"\x00\x01 not numpy")
    with pytest.raises(UserError, match="not a readable numpy file"):
        load_motion(tmp_path / "junk.npz")
    with pytest.raises(UserError, match="not a BVH file"):
        load_motion(_write(tmp_path, "junk.bvh", "just words"))
    sk, motion = _dance()
    with pytest.raises(UserError, match="fps"):
        load_motion(_write(tmp_path, "d.bvh", _bvh(sk, motion)), fps=0)


# --- COCO-17 keypoints ------------------------------------------------------------------------------------
def _keypoints(n=60, travel=300.0, score=0.9):
    """COCO-17 pixels (n, 17, 3), y down, of a figure facing the camera with its wrists moving up and down."""
    from deepdance.dancer.kinematics import rest_pose

    rest = rest_pose(Body())
    src = {c: rest[J[c]] if c in J else None for c in COCO17}
    head = rest[J["head"]]
    src.update(nose=head + [0, -0.01, 0], l_eye=head + [0.02, 0.01, 0], r_eye=head + [-0.02, 0.01, 0],
               l_ear=head + [0.05, 0, 0], r_ear=head + [-0.05, 0, 0])
    pts = np.array([src[c][:2] for c in COCO17])
    t = np.arange(n)
    kp = np.zeros((n, 17, 3))
    kp[..., 0] = 900 + 400 * pts[:, 0] + travel * t[:, None] / n
    kp[..., 1] = 1000 - 400 * pts[:, 1]
    for w in ("l_wrist", "r_wrist"):
        kp[:, COCO17.index(w), 1] -= 120 * np.sin(np.pi * t / n) ** 2
    kp[..., 2] = score
    return kp


def test_keypoints_map_to_the_skeleton(tmp_path):
    kp = _keypoints()
    np.save(tmp_path / "k.npy", kp.astype(np.float32))
    m = load_motion(tmp_path / "k.npy", fps=30)
    p = m.poses
    assert p.shape == (60, len(JOINTS), 3) and m.fps == 30 and m.source["kind"] == "coco17"
    assert (p[..., 2] == 0).all()
    from deepdance.dancer.kinematics import rest_pose

    rest = rest_pose(Body())
    # the legs and shoulders come back in body units, as drawn, relative to the pelvis
    for name in ("l_shoulder", "r_shoulder", "l_knee", "r_ankle", "l_hip"):
        rel = p[0, J[name], :2] - p[0, J["pelvis"], :2]
        np.testing.assert_allclose(rel, rest[J[name], :2] - rest[J["pelvis"], :2], atol=0.02)
    assert abs(p[0, J["head"], 1] - rest[J["head"], 1]) < 0.03
    assert abs(p[:, J["l_ankle"], 1].min() - rest[J["l_ankle"], 1]) < 0.03       # on the floor
    assert (p[:, J["l_shoulder"], 0] > p[:, J["r_shoulder"], 0]).all()          # facing: left at +x
    x = p[:, J["pelvis"], 0]
    assert abs(x.mean()) < 1e-9 and x[-1] - x[0] > 0.5                          # travel kept, centred
    assert p[30, J["l_wrist"], 1] > p[0, J["l_wrist"], 1] + 0.2                  # the wrists rise


def test_keypoints_fill_unsure_joints_over_time(tmp_path):
    kp = _keypoints()
    whole = load_motion(_save(tmp_path, "a.npy", kp), fps=30).poses
    holes = kp.copy()
    holes[20:30, COCO17.index("l_wrist"), 2] = 0.05        # unsure
    holes[40:45, COCO17.index("r_knee"), :2] = np.nan       # lost
    filled = load_motion(_save(tmp_path, "b.npy", holes), fps=30).poses
    assert np.isfinite(filled).all()
    w = J["l_wrist"]
    between = filled[19, w] + (filled[30, w] - filled[19, w]) * (np.arange(1, 11) / 11)[:, None]
    np.testing.assert_allclose(filled[20:30, w], between, atol=1e-9)       # linear across the gap
    np.testing.assert_allclose(filled[:20], whole[:20], atol=1e-9)
    knee = J["r_knee"]
    np.testing.assert_allclose(filled[40:45, knee], whole[40:45, knee], atol=1e-6)  # a straight path comes back


def _save(tmp_path, name, array, **more):
    path = tmp_path / name
    if name.endswith(".npz"):
        np.savez(path, **({"kp": array} if not more else more))
    else:
        np.save(path, array)
    return path


def test_keypoint_files_and_their_errors(tmp_path):
    kp = _keypoints(n=30)
    # AIST++ layout: views x frames, timestamps in microseconds at 60 fps
    stamps = (np.arange(30) * 1e6 / 60).astype(np.int64)
    views = np.stack([kp, kp + [50, 0, 0]]).astype(np.float32)
    aist = _save(tmp_path, "a.npz", None, keypoints2d=views, det_scores=np.ones((2, 30), np.float32),
                 timestamps=stamps)
    m = load_motion(aist, view=1)
    assert m.fps == pytest.approx(60, rel=1e-3) and m.source["view"] == 1 and len(m) == 30
    assert load_motion(aist, view="1").source["view"] == 1
    assert load_motion(aist, fps=50).fps == 50
    with pytest.raises(UserError, match=r"view 2 out of range.*2 camera view"):
        load_motion(aist, view=2)
    with pytest.raises(UserError, match="view must be a camera index"):
        load_motion(aist, view="front")
    # one array under any single key; the frame rate must then be given
    one = _save(tmp_path, "one.npz", kp[..., :2])
    assert load_motion(one, fps=24).fps == 24
    with pytest.raises(UserError, match="give the frame rate"):
        load_motion(one)
    with pytest.raises(UserError, match=r"shape \(30, 15, 3\).*expected \(frames, 17, 2\|3\)"):
        load_motion(_save(tmp_path, "s.npy", kp[:, :15]), fps=30)
    with pytest.raises(UserError, match="expected a 'keypoints2d' array or a single array"):
        load_motion(_save(tmp_path, "two.npz", None, a=kp, b=kp), fps=30)
    gone = kp.copy()
    gone[:, COCO17.index("l_ankle"), 2] = 0.0
    with pytest.raises(UserError, match="never found with confidence for: l_ankle"):
        load_motion(_save(tmp_path, "g.npy", gone), fps=30)


# --- resampling and rendering -----------------------------------------------------------------------------
def test_resample_interpolates_linearly():
    n = 60
    poses = np.zeros((n, len(JOINTS), 3))
    poses[..., 0] = np.arange(n)[:, None]          # x counts source frames
    m = Motion(poses, 60.0, {"kind": "test"})
    r = m.resample(12)
    assert len(r) == 12 and r.fps == 12 and r.source == m.source
    np.testing.assert_allclose(r.poses[:, 0, 0], np.arange(0, 60, 5))
    r = m.resample(25)
    assert len(r) == 25
    np.testing.assert_allclose(r.poses[:, 0, 0], np.arange(25) * 60 / 25)
    up = m.resample(120)
    assert len(up) == 120 and up.poses[-1, 0, 0] == 59
    np.testing.assert_allclose(up.poses[:-1, 0, 0], np.arange(119) / 2)
    assert len(Motion(poses[:1], 60.0).resample(12)) == 1
    with pytest.raises(UserError):
        m.resample(-1)


def test_chunked_rendering_equals_whole(tmp_path):
    sk, motion = _dance()
    m = load_motion(_write(tmp_path, "d.bvh", _bvh(sk, motion))).resample(12)
    body = Body.from_seed(3)
    whole = motion_frames(m, body, CAM)
    assert whole.shape == (len(m), 120, 200) and whole.dtype == np.uint8
    parts = np.concatenate([motion_frames(m, body, CAM, s, min(len(m), s + 3)) for s in range(0, len(m), 3)])
    assert np.array_equal(parts, whole)


def test_travel_is_fitted_into_the_stage():
    poses = np.repeat(_standing()[None], 20, 0)
    poses[..., 0] += np.linspace(-3, 3, 20)[:, None]       # far wider than the stage
    frames = motion_frames(Motion(poses, 12.0), Body(), CAM)
    ink = frames < 128
    cols = np.where(ink.any(1))
    assert ink[:, :, 0].sum() == 0 and ink[:, :, -1].sum() == 0 and cols[1].min() < 45 and cols[1].max() > 155


def _standing():
    from deepdance.dancer.kinematics import rest_pose

    return rest_pose(Body())


# --- real data --------------------------------------------------------------------------------------------
def _check_render(m: Motion, body: Body):
    """The frames show one dancer of plausible size that moves like the poses."""
    frames = motion_frames(m, body, CAM)
    assert frames.shape == (len(m), 120, 200)
    h, w = frames.shape[1:]
    good, cx, width, height = 0, [], [], []
    for f in frames:
        n, _, stats, _ = cv2.connectedComponentsWithStats((f < 128).astype(np.uint8), connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        big = int(np.argmax(areas)) + 1
        one = n == 2 or np.sort(areas)[-2] < 0.01 * areas.max()
        good += bool(one and 0.015 < areas.max() / (h * w) < 0.25 and 0.3 * h < stats[big, cv2.CC_STAT_HEIGHT] <= h)
        ys, xs = np.nonzero(f < 128)
        cx.append(xs.mean())
        width.append(xs.max() - xs.min())
        height.append(ys.max() - ys.min())
    assert good >= 0.9 * len(frames)
    p = m.poses
    assert np.corrcoef(cx, p[..., 0].mean(1))[0, 1] > 0.8
    px = p[:, J["pelvis"], 0]
    if np.ptp(px) > 0.5:   # the dancer travels: the picture follows
        assert np.corrcoef(cx, px)[0, 1] > 0.8
    spread_x = p[..., 0].max(1) - p[..., 0].min(1)
    spread_y = p[..., 1].max(1) - p[..., 1].min(1)
    assert np.corrcoef(width, spread_x)[0, 1] > 0.8
    assert np.corrcoef(height, spread_y)[0, 1] > 0.8
    assert (np.diff(frames.astype(np.int16), axis=0) != 0).any(axis=(1, 2)).mean() > 0.9   # it moves
    return frames


@pytest.mark.parametrize("name", ["cmu60_01_salsa_lead_scaled.bvh", "cmu61_01_salsa_follow_scaled.bvh"])
def test_real_bvh_loads_and_renders(name):
    path = shared_file("motion", "cmu_salsa_bvh", name)
    m = load_motion(path, fps=60)
    assert m.poses.shape == (2242, len(JOINTS), 3) and m.fps == 60
    assert m.source["file_fps"] == pytest.approx(120, rel=1e-3)
    for ours, theirs in {"pelvis": "hip", "l_shoulder": "lShldr", "r_elbow": "rForeArm", "l_hip": "lThigh",
                         "r_knee": "rShin", "l_ankle": "lFoot"}.items():
        assert m.source["joints"][ours] == theirs
    p = m.poses
    assert np.isfinite(p).all()
    assert np.median(p[:, J["head"], 1]) > np.median(p[:, J["pelvis"], 1]) + 0.3      # upright
    assert 0.85 < np.percentile(p[:, J["head"], 1], 95) + 0.066 < 1.15               # one body-height tall
    feet = p[:, [J["l_ankle"], J["r_ankle"], J["l_toe"], J["r_toe"]], 1].min(1)
    assert np.median(feet) < 0.06
    r = m.resample(12)
    assert len(r) == round(2242 / 5)
    _check_render(r, Body.from_seed(1))


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_real_keypoints_load_and_render(k):
    path = shared_file("motion", "aistpp_keypoints2d", f"gBR_sBM_cAll_d04_mBR0_ch0{k}.npz")
    with np.load(path) as f:
        views, frames = f["keypoints2d"].shape[:2]
    m = load_motion(path, view=k % views)
    assert m.fps == pytest.approx(60, rel=1e-3) and len(m) == frames and np.isfinite(m.poses).all()
    assert m.source["view"] == k % views and m.source["views"] == views
    json.dumps(m.source)
    p = m.poses
    assert (p[:, J["head"], 1] > p[:, J["pelvis"], 1] + 0.2).mean() > 0.75     # upright but for crouches
    assert np.median(p[:, J["head"], 1]) == pytest.approx(0.93, abs=0.1)
    r = m.resample(12)
    assert len(r) == frames // 5
    _check_render(r, Body.from_seed(k))
    with pytest.raises(UserError, match="out of range"):
        load_motion(path, view=views)
