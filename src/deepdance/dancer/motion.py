"""Real motion in: BVH motion capture and COCO-17 2-D keypoints as poses for the built-in dancer's body.

`load_motion` turns a file into a `Motion`: poses (N, J, 3) in the convention of `body.py` at the
file's own frame rate. Both sources end up alike: the figure scaled to about 1.0 body-height tall,
its travel centred on its mean position and its lowest point on the floor. `Motion.resample` brings
it to the stage's frame rate and `motion_frames` renders any frame range with `draw_poses`.

BVH: forward kinematics over all frames at once, joints found by name (Mixamo "LeftArm", CMU "lShldr",
"upperarm_l", ...), Y-up or Z-up detected from the rest pose, the dancer turned to face the camera on
average and then by the chosen `view`. Keypoints (AIST++ style .npz, or a plain array): one camera
view, flat (z = 0), missing or unsure joints filled by interpolation over time.
"""

from __future__ import annotations

import operator
import re
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import percentile_filter, uniform_filter1d

from ..errors import UserError
from .body import JOINTS, Body, Camera, J, draw_poses, rotate_y
from .choreo import rest_pose

# the built-in figure at rest is the yardstick: proportions of the joints no source gives directly
_REST = rest_pose(Body())
_CHAIN = (("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle"))
_HEAD_LEN = float(np.linalg.norm(_REST[J["head"]] - _REST[J["neck"]]))
_TORSO = [float(_REST[J[b], 1] - _REST[J[a], 1]) for a, b in (("pelvis", "spine"), ("spine", "chest"),
                                                               ("chest", "neck"))]
_SPINE_AT = _TORSO[0] / sum(_TORSO)                 # spine and chest as fractions of pelvis -> neck
_CHEST_AT = (_TORSO[0] + _TORSO[1]) / sum(_TORSO)
# how far each joint sits above the floor at its lowest (feet from the rest pose, the rest ~ a limb's radius)
_CLEARANCE = np.full(len(JOINTS), 0.03)
for _j in ("l_ankle", "r_ankle", "l_toe", "r_toe"):
    _CLEARANCE[J[_j]] = _REST[J[_j], 1]
_FOOT = _REST[J["l_toe"]] - _REST[J["l_ankle"]]
_FOOT_REACH, _FOOT_DROP = float(np.hypot(_FOOT[0], _FOOT[2])), float(_FOOT[1])
_FLOOR_WINDOW_S = 2.0      # keypoint floors drift with perspective; a jump is much shorter than this
_FLOOR_PERCENTILE = 5
_MIN_SCORE = 0.2           # keypoints less sure than this are filled in from neighbouring frames
_MIN_DETECTION = 0.1       # a frame whose person detection is this weak is filled in as a whole
_VIEWS = {"front": 0.0, "left": 90.0, "side": 90.0, "back": 180.0, "right": -90.0}
_SUFFIXES = (".bvh", ".npz", ".npy")


def _chain_length(p: np.ndarray) -> np.ndarray:
    """Shoulder -> hip -> knee -> ankle, averaged over both sides: a bend-proof measure of size."""
    total = 0.0
    for side in "lr":
        for a, b in _CHAIN:
            total = total + np.linalg.norm(p[..., J[f"{side}_{b}"], :] - p[..., J[f"{side}_{a}"], :], axis=-1)
    return total / 2


_REST_CHAIN = float(_chain_length(_REST))


@dataclass
class Motion:
    """Poses (N, J, 3) float64 in the convention of `body.py`, `fps` frames a second, where they came from."""

    poses: np.ndarray
    fps: float
    source: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.poses)

    @property
    def seconds(self) -> float:
        return len(self.poses) / self.fps

    def resample(self, fps: float) -> "Motion":
        """The same motion at `fps`, each joint interpolated linearly between the source frames."""
        fps = _rate(fps)
        n = len(self.poses)
        count = max(1, int(round(n * fps / self.fps)))
        t = np.minimum(np.arange(count) * (self.fps / fps), n - 1)
        i = np.minimum(np.floor(t).astype(np.int64), max(n - 2, 0))
        u = (t - i)[:, None, None]
        nxt = np.minimum(i + 1, n - 1)
        poses = self.poses[i] * (1 - u) + self.poses[nxt] * u
        return replace(self, poses=poses, fps=fps)


def motion_frames(motion: Motion, body: Body, camera: Camera, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames [start, stop) of the motion as uint8 (N, H, W) silhouettes, dancer 0 on 255.

    The travel is shrunk (feet slide a little) so the pelvis stays within `camera.travel` of centre stage;
    the factor comes from the whole clip, so frames rendered in chunks equal frames rendered at once.
    """
    stop = len(motion.poses) if stop is None else stop
    x = motion.poses[:, J["pelvis"], 0]
    reach = float(np.abs(x).max()) if len(x) else 0.0
    k = min(1.0, camera.travel / reach) if reach > 0 else 1.0
    poses = motion.poses[start:stop].copy()
    poses[..., 0] += (k - 1.0) * poses[:, J["pelvis"], 0][:, None]
    return draw_poses(poses, body, camera)


def load_motion(path, *, fps: float | None = None, view: str | int | None = None) -> Motion:
    """Read a .bvh motion capture or COCO-17 keypoints (.npz / .npy) as a `Motion` at the file's frame rate.

    `fps` overrides the file's frame rate (some BVH files state it wrongly). `view`: for BVH the camera's
    angle around the dancer in degrees, positive toward the dancer's left, or one of front / left / side /
    back / right (0 faces the dancer's average facing); for keypoints the index of the camera view.
    """
    path = Path(path)
    if fps is not None:
        fps = _rate(fps)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise UserError(f"{path.name}: not a motion file (expected one of {', '.join(_SUFFIXES)})")
    if not path.is_file():
        raise UserError(f"{path}: no such motion file")
    if suffix == ".bvh":
        return _load_bvh(path, fps, view)
    return _load_keypoints(path, fps, view)


def _rate(fps) -> float:
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = float("nan")
    if not (np.isfinite(value) and 0 < value <= 1000):
        raise UserError(f"motion fps must be a number between 0 and 1000, got {fps!r}")
    return value


# --- BVH -----------------------------------------------------------------------------------------------
@dataclass
class Skeleton:
    """A BVH hierarchy: joints in file order (parents first); end sites are joints without channels."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray                 # (K, 3)
    channels: list[tuple[str, ...]]     # per joint, e.g. ("Xposition", ..., "Zrotation", ...)

    @property
    def columns(self) -> list[int]:
        """The first MOTION column of each joint's channels."""
        return np.concatenate([[0], np.cumsum([len(c) for c in self.channels])[:-1]]).astype(int).tolist()

    def children(self, k: int) -> list[int]:
        return [i for i, p in enumerate(self.parents) if p == k]


_CHANNELS = {f"{a}{kind}": f"{a.upper()}{kind}" for a in "xyz" for kind in ("position", "rotation")}


def parse_bvh(text: str) -> tuple[Skeleton, np.ndarray, float]:
    """BVH text -> (skeleton, channel values (frames, channels) in degrees / file units, frame time in s)."""
    split = re.search(r"^\s*MOTION\s*$", text, re.MULTILINE)
    lines = text[:split.start() if split else len(text)].splitlines()
    body = [(ln.strip(), ln.split()) for ln in lines if ln.strip()]
    if not body or body[0][1][0].upper() != "HIERARCHY":
        raise UserError("not a BVH file: it does not start with HIERARCHY")
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    pending = None

    def bad(msg):
        raise UserError(f"malformed BVH header: {msg}")

    for line, words in body[1:]:
        key = words[0].upper()
        opens = line.endswith("{") and key != "{"
        if opens:
            line, words = line[:-1].strip(), line[:-1].split()
        if key in ("ROOT", "JOINT", "END"):
            if pending is not None:
                bad(f"'{names[pending]}' has no '{{'")
            if key == "ROOT" and names:
                bad("more than one ROOT")
            if key != "ROOT" and (not stack or channels[stack[-1]] is None):
                bad(f"{words[0]} outside a joint")
            if key == "END":
                name = f"{names[stack[-1]]} End Site"
            else:
                name = line[len(words[0]):].strip()
                if not name:
                    bad(f"a {key} without a name")
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            offsets.append(None)
            channels.append(() if key != "END" else None)
            pending = len(names) - 1
            if opens:
                stack.append(pending)
                pending = None
        elif key == "{":
            if pending is None:
                bad("'{' without a joint")
            stack.append(pending)
            pending = None
        elif key == "}":
            if not stack:
                bad("unbalanced '}'")
            stack.pop()
        elif key == "OFFSET":
            if not stack or len(words) != 4:
                bad(f"bad OFFSET line '{line}'")
            try:
                offsets[stack[-1]] = [float(v) for v in words[1:]]
            except ValueError:
                bad(f"bad OFFSET line '{line}'")
        elif key == "CHANNELS":
            if not stack or channels[stack[-1]] is None:
                bad("CHANNELS outside a joint")
            chans = tuple(_CHANNELS.get(w.lower()) for w in words[2:])
            if len(words) < 2 or not words[1].isdigit() or int(words[1]) != len(chans) or None in chans:
                bad(f"bad CHANNELS line '{line}'")
            channels[stack[-1]] = chans
        else:
            bad(f"unexpected '{words[0]}'")
    if stack or pending is not None or not names:
        bad("unbalanced braces" if names else "no ROOT joint")
    if split is None:
        bad("no MOTION section")
    missing = [n for n, o in zip(names, offsets) if o is None]
    if missing:
        bad(f"no OFFSET for {missing[0]}")
    skel = Skeleton(names, parents, np.array(offsets, np.float64), [c or () for c in channels])

    motion = text[split.end():]
    frames_m = re.search(r"^\s*Frames:\s*(\d+)\s*$", motion, re.MULTILINE)
    time_m = re.search(r"^\s*Frame\s+Time:\s*(\S+)\s*$", motion, re.MULTILINE)
    if not frames_m or not time_m or time_m.start() < frames_m.start():
        raise UserError("malformed BVH MOTION section: expected 'Frames: N' and 'Frame Time: T' lines")
    try:
        frame_time = float(time_m.group(1))
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # numpy only warns when it stops at a word that is not a number
            values = np.fromstring(motion[time_m.end():], sep=" ")   # no list of strings: long files fit
    except (ValueError, DeprecationWarning):
        raise UserError("malformed BVH MOTION section: a value that is not a number") from None
    n, c = int(frames_m.group(1)), sum(len(ch) for ch in skel.channels)
    if n < 1 or values.size != n * c or not np.isfinite(values).all():
        raise UserError(f"malformed BVH MOTION section: {values.size} finite values, expected "
                        f"{n} frames x {c} channels = {n * c}")
    return skel, values.reshape(n, c), frame_time


def _axis_rotation(axis: int, degrees: np.ndarray) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    r = np.zeros(a.shape + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3     # cyclic, so the y rotation gets its signs right
    r[..., axis, axis] = 1.0
    r[..., i, i], r[..., i, j], r[..., j, i], r[..., j, j] = c, -s, s, c
    return r


def skeleton_positions(skel: Skeleton, frames: np.ndarray, joints) -> np.ndarray:
    """World positions (F, len(joints), 3) of the given joints, all frames at once.

    Rotation channels apply in their listed order (R = R1 @ R2 @ R3, the BVH rule); position channels set
    that axis of the joint's translation (replacing the OFFSET), as exporters write them.
    """
    need = set()
    for k in joints:
        while k >= 0 and k not in need:
            need.add(k)
            k = skel.parents[k]
    n = len(frames)
    pos, rot = {}, {}
    cols = skel.columns
    for k in sorted(need):       # file order: parents come first
        t = np.repeat(skel.offsets[k][None], n, 0)
        r = None
        for c, name in enumerate(skel.channels[k]):
            axis = "XYZ".index(name[0])
            v = frames[:, cols[k] + c]
            if name.endswith("position"):
                t[:, axis] = v
            else:
                m = _axis_rotation(axis, v)
                r = m if r is None else r @ m
        p = skel.parents[k]
        if p < 0:
            pos[k], rot[k] = t, r
        else:
            parent_r = rot[p]
            pos[k] = pos[p] + (t if parent_r is None else np.einsum("fij,fj->fi", parent_r, t))
            rot[k] = parent_r if r is None else (r if parent_r is None else parent_r @ r)
    return np.stack([pos[k] for k in joints], 1)


def _rest_positions(skel: Skeleton) -> np.ndarray:
    """Joint positions (K, 3) from the OFFSETs alone: the skeleton's rest pose."""
    out = np.zeros((len(skel.names), 3))
    for k, p in enumerate(skel.parents):
        out[k] = skel.offsets[k] + (out[p] if p >= 0 else 0.0)
    return out


# names (lower case, no separators, side removed) tried in order; the first present wins, so "LeftArm"
# (the upper arm) beats "LeftShoulder" (a collar bone in Mixamo / CMU skeletons)
_BVH_NAMES = {
    "pelvis": ("hips", "hip", "pelvis", "root"),
    "neck": ("neck", "neck1", "lowerneck", "neckbase"),
    "head": ("head",),
    "shoulder": ("arm", "uparm", "upperarm", "shldr", "shldrbend", "humerus", "shoulder"),
    "elbow": ("forearm", "lowerarm", "lowarm", "forearmbend", "elbow", "radius"),
    "wrist": ("hand", "wrist"),
    "hip": ("upleg", "thigh", "upperleg", "thighbend", "femur", "hip"),
    "knee": ("leg", "shin", "lowerleg", "lowleg", "calf", "knee", "tibia"),
    "ankle": ("foot", "ankle"),
    "toe": ("toebase", "toe", "toes", "toe0", "ball"),
}
_EXAMPLES = {"pelvis": "Hips/hip/pelvis", "neck": "Neck", "head": "Head",
             "shoulder": "LeftArm/lShldr", "elbow": "LeftForeArm/lForeArm", "wrist": "LeftHand/lHand",
             "hip": "LeftUpLeg/lThigh", "knee": "LeftLeg/lShin", "ankle": "LeftFoot/lFoot"}


def _name_keys(name: str) -> set[tuple[str | None, str]]:
    """(side, base) readings of a joint name: 'mixamorig:LeftUpLeg' -> {(None, 'leftupleg'), ('l', 'upleg')}."""
    n = re.sub(r"[^a-z0-9]", "", name.split(":")[-1].lower())
    n = re.sub(r"^bip0*1", "", n)        # 3ds Max biped: "Bip01 L Thigh"
    keys = {(None, n)}
    for side, word in (("l", "left"), ("r", "right")):
        for pre in (word, side):
            if n.startswith(pre):
                keys.add((side, n[len(pre):]))
            if n.endswith(pre):
                keys.add((side, n[:-len(pre)]))
    return keys


def _map_bvh(skel: Skeleton) -> dict[str, int]:
    """Our joint name -> skeleton index for the joints found by name (toes may be missing)."""
    keys = [_name_keys(n) for n in skel.names]
    found, missing = {}, []
    for part, bases in _BVH_NAMES.items():
        for side in ((None,) if part in ("pelvis", "neck", "head") else ("l", "r")):
            ours = part if side is None else f"{side}_{part}"
            hit = next((k for base in bases for k, ks in enumerate(keys) if (side, base) in ks), None)
            if hit is None and part == "pelvis":
                hit = 0
            if hit is not None:
                found[ours] = hit
            elif part != "toe":
                missing.append(f"{ours} (e.g. {_EXAMPLES[part]})")
    if missing:
        raise UserError(f"BVH skeleton lacks required joints: {', '.join(missing)}")
    return found


def _snap(v: np.ndarray) -> np.ndarray:
    """The signed coordinate axis closest to v."""
    out = np.zeros(3)
    a = int(np.argmax(np.abs(v)))
    out[a] = np.sign(v[a])
    return out


def _bvh_axes(rest: np.ndarray, m: dict[str, int]) -> np.ndarray:
    """Rotation (3, 3) from file axes to ours: the rest pose's up to +y and its left to +x (it faces us)."""
    up = _snap(rest[m["head"]] - rest[m["pelvis"]])
    left = sum(rest[m[f"l_{p}"]] - rest[m[f"r_{p}"]] for p in ("shoulder", "hip", "ankle"))
    left = left - up * (left @ up)
    if np.linalg.norm(left) < 1e-9:
        raise UserError("BVH rest pose has no left-right extent: cannot tell which way the figure faces")
    left = _snap(left)
    return np.stack([left, up, np.cross(left, up)])


def _load_bvh(path: Path, fps: float | None, view) -> Motion:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from None
    try:
        skel, frames, frame_time = parse_bvh(text)
        m = _map_bvh(skel)
    except UserError as e:
        raise UserError(f"{path.name}: {e}") from None
    yaw = _view_angle(view)
    if fps is None:
        if not frame_time > 0:
            raise UserError(f"{path.name}: Frame Time {frame_time} is not positive; give the frame rate")
        fps = _rate(1.0 / frame_time)

    rest = _rest_positions(skel)
    axes = _bvh_axes(rest, m)
    rest = rest @ axes.T
    # the torso between pelvis and neck follows the skeleton's own spine chain
    chain = [m["neck"]]
    while chain[-1] not in (m["pelvis"], -1):
        chain.append(skel.parents[chain[-1]])
    chain = chain[::-1] if chain[-1] == m["pelvis"] else [m["pelvis"], m["neck"]]
    # a toe joint by name, else whatever hangs off the ankle (often its End Site)
    toes = {s: m.get(f"{s}_toe", next(iter(skel.children(m[f"{s}_ankle"])), None)) for s in "lr"}
    direct = [n for n in JOINTS if n in m and n != "head" and not n.endswith("_toe")]
    wanted = sorted({*(m[n] for n in direct), *chain, m["head"], *(t for t in toes.values() if t is not None)})
    at = {k: i for i, k in enumerate(wanted)}

    pose_rest = np.zeros((len(JOINTS), 3))
    for n in direct:
        pose_rest[J[n]] = rest[m[n]]
    scale = _REST_CHAIN / max(float(_chain_length(pose_rest)), 1e-12)
    world = skeleton_positions(skel, frames, wanted) @ (axes.T * scale)

    poses = np.zeros((len(frames), len(JOINTS), 3))
    for n in direct:
        poses[:, J[n]] = world[:, at[m[n]]]
    spine = world[:, [at[k] for k in chain]]
    poses[:, J["spine"]] = _along(spine, _SPINE_AT)
    poses[:, J["chest"]] = _along(spine, _CHEST_AT)
    neck = poses[:, J["neck"]]
    # the file's head joint sits at the skull's base; ours is the head's centre, a neck's length on
    poses[:, J["head"]] = neck + _unit(world[:, at[m["head"]]] - neck, neck - poses[:, J["pelvis"]]) * _HEAD_LEN
    mapping = {n: skel.names[m[n]] for n in direct}
    torso = " > ".join(skel.names[k] for k in chain)
    mapping.update(spine=torso, chest=torso, head=f"{skel.names[m['neck']]} -> {skel.names[m['head']]}")
    lat = poses[:, J["l_hip"]] - poses[:, J["r_hip"]]
    fwd = _unit(np.stack([-lat[:, 2], np.zeros(len(lat)), lat[:, 0]], -1), [0.0, 0.0, 1.0])
    for s in "lr":
        if toes[s] is not None:
            poses[:, J[f"{s}_toe"]] = world[:, at[toes[s]]]
            mapping[f"{s}_toe"] = skel.names[toes[s]]
        else:   # no toe in the file: our foot, pointing where the hips face
            poses[:, J[f"{s}_toe"]] = poses[:, J[f"{s}_ankle"]] + fwd * _FOOT_REACH + [0.0, _FOOT_DROP, 0.0]
            mapping[f"{s}_toe"] = "extrapolated forward from the ankle"

    # turn the dancer to face the camera on average, then by the view
    lat = lat + poses[:, J["l_shoulder"]] - poses[:, J["r_shoulder"]]
    facing = np.arctan2(-lat[:, 2].sum(), lat[:, 0].sum())   # forward = (-lat_z, 0, lat_x), angle from +z
    poses = _stage(poses, turn=-facing - np.radians(yaw), window=None)
    return Motion(poses, fps, {"kind": "bvh", "file": path.name, "fps": fps,
                               "file_fps": 1.0 / frame_time if frame_time > 0 else None,
                               "view": yaw, "joints": mapping})


def _along(chain: np.ndarray, f: float) -> np.ndarray:
    """Points at fraction f of the arc length of polylines (F, k, 3), per frame."""
    seg = np.linalg.norm(np.diff(chain, axis=1), axis=-1)            # (F, k-1)
    cum = np.concatenate([np.zeros((len(chain), 1)), np.cumsum(seg, 1)], 1)
    target = f * cum[:, -1]
    out = chain[:, 0].copy()
    for s in range(seg.shape[1]):
        inside = (target >= cum[:, s]) & (target <= cum[:, s + 1])
        u = np.where(seg[:, s] > 0, (target - cum[:, s]) / np.maximum(seg[:, s], 1e-12), 0.0)[:, None]
        out = np.where(inside[:, None], chain[:, s] + u * (chain[:, s + 1] - chain[:, s]), out)
    return out


def _unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    fb = np.broadcast_to(np.asarray(fallback, np.float64), v.shape)
    fb = fb / np.maximum(np.linalg.norm(fb, axis=-1, keepdims=True), 1e-12)
    return np.where(n > 1e-9, v / np.maximum(n, 1e-12), fb)


def _view_angle(view) -> float:
    if view is None:
        return 0.0
    if isinstance(view, str) and view.strip().lower() in _VIEWS:
        return _VIEWS[view.strip().lower()]
    try:
        angle = float(view)
    except (TypeError, ValueError):
        angle = float("nan")
    if isinstance(view, bool) or not np.isfinite(angle):
        raise UserError(f"BVH view must be an angle in degrees or one of {', '.join(_VIEWS)}, got {view!r}")
    return angle


def _stage(poses: np.ndarray, *, turn: float, window: int | None) -> np.ndarray:
    """Centre the travel on its mean, turn about the vertical by `turn` (rad), stand the dance on the floor.

    The floor is a low percentile of each frame's lowest point, over the clip (window None) or a running
    window of `window` frames, smoothed: a few frames below it (a foot rolled on its side, a bad detection)
    sink a little instead of lifting the whole dance off the floor.
    """
    p = poses.copy()
    p[..., [0, 2]] -= p[:, J["pelvis"], [0, 2]].mean(0)
    if turn:
        p = rotate_y(p, turn)
    low = (p[..., 1] - _CLEARANCE).min(1)
    if window is None or window >= len(p):
        floor = np.full(len(p), np.percentile(low, _FLOOR_PERCENTILE))
    else:
        floor = uniform_filter1d(percentile_filter(low, _FLOOR_PERCENTILE, size=window, mode="nearest"), window,
                                 mode="nearest")
    p[..., 1] -= floor[:, None]
    return p


# --- COCO-17 keypoints -----------------------------------------------------------------------------------
COCO17 = ("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
          "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
_C = {n: i for i, n in enumerate(COCO17)}
_LIMBS = COCO17[5:]


def _load_keypoints(path: Path, fps: float | None, view) -> Motion:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path.name}: not a readable numpy file ({e})") from None
    det = stamps = None
    if isinstance(data, np.ndarray):
        kp = data
    else:
        with data:
            keys = list(data.files)
            if "keypoints2d" in keys:
                kp = data["keypoints2d"]
                det = data["det_scores"] if "det_scores" in keys else None
                stamps = data["timestamps"] if "timestamps" in keys else None
            elif len(keys) == 1:
                kp = data[keys[0]]
            else:
                raise UserError(f"{path.name}: expected a 'keypoints2d' array or a single array, found {keys}")
    expected = "(frames, 17, 2|3) or (views, frames, 17, 2|3)"
    if kp.ndim not in (3, 4) or kp.shape[-2] != 17 or kp.shape[-1] not in (2, 3) or kp.shape[-3] < 1 \
            or not np.issubdtype(kp.dtype, np.number):
        raise UserError(f"{path.name}: keypoints of shape {kp.shape} ({kp.dtype}), expected {expected}")
    views = kp.shape[0] if kp.ndim == 4 else 1
    try:
        if isinstance(view, bool):
            raise TypeError
        v = 0 if view is None else int(view) if isinstance(view, str) else operator.index(view)
    except (TypeError, ValueError):
        raise UserError(f"{path.name}: view must be a camera index, got {view!r}") from None
    if not 0 <= v < views:
        raise UserError(f"{path.name}: view {v} out of range: the file has {views} camera view(s), 0..{views - 1}")
    if kp.ndim == 4:
        kp = kp[v]
        det = det[v] if det is not None and det.ndim == 2 and det.shape[0] == views else None
    if fps is None:
        if stamps is None or len(stamps) < 2:
            raise UserError(f"{path.name}: no timestamps to read the frame rate from; give the frame rate")
        step = float(np.median(np.diff(np.asarray(stamps, np.float64))))
        if not step > 0:
            raise UserError(f"{path.name}: timestamps do not increase; give the frame rate")
        fps = _rate(1e6 / step)   # AIST++ timestamps are microseconds
    poses, mapping = _coco_poses(np.asarray(kp, np.float64), det, path.name)
    window = max(2, int(round(_FLOOR_WINDOW_S * fps)))
    poses = _stage(poses, turn=0.0, window=window)
    return Motion(poses, fps, {"kind": "coco17", "file": path.name, "fps": fps, "view": v, "views": views,
                               "joints": mapping})


def _fill(track: np.ndarray) -> np.ndarray:
    """Fill NaN frames of (F, 2) by linear interpolation over time (held at the ends)."""
    ok = np.isfinite(track).all(-1)
    if ok.all():
        return track
    t = np.arange(len(track))
    return np.stack([np.interp(t, t[ok], track[ok, d]) for d in range(track.shape[1])], -1)


def _coco_poses(kp: np.ndarray, det: np.ndarray | None, name: str) -> tuple[np.ndarray, dict]:
    """Keypoints (F, 17, 2|3) in picture pixels (y down) -> flat poses (F, J, 3) scaled to body units."""
    xy = kp[..., :2] * [1.0, -1.0]
    ok = np.isfinite(xy).all(-1)
    if kp.shape[-1] == 3:
        ok &= kp[..., 2] >= _MIN_SCORE
    if det is not None and len(det) == len(kp):
        ok &= (np.asarray(det) >= _MIN_DETECTION)[:, None]
    xy = np.where(ok[..., None], xy, np.nan)
    never = [COCO17[i] for i in range(5, 17) if not ok[:, i].any()]
    if never:
        raise UserError(f"{name}: keypoints never found with confidence for: {', '.join(never)}")
    pts = {n: _fill(xy[:, _C[n]]) for n in _LIMBS}
    face_ok = ok[:, :5]
    # the head points toward the middle of whatever face keypoints are visible
    with np.errstate(invalid="ignore"):
        face = np.nansum(xy[:, :5], 1) / face_ok.sum(1)[:, None]
    face = _fill(face) if face_ok.any() else None

    flat = np.zeros((len(kp), len(JOINTS), 3))
    for n in _LIMBS:
        flat[:, J[n], :2] = pts[n]
    scale = _REST_CHAIN / max(float(np.median(_chain_length(flat))), 1e-12)
    flat *= scale
    hip_mid = (flat[:, J["l_hip"]] + flat[:, J["r_hip"]]) / 2
    sh_mid = (flat[:, J["l_shoulder"]] + flat[:, J["r_shoulder"]]) / 2
    trunk = sh_mid - hip_mid
    # the pelvis, spine, chest and neck sit along the trunk as in the built-in figure
    top = _REST[J["l_shoulder"], 1] - _REST[J["l_hip"], 1]
    for n in ("pelvis", "spine", "chest", "neck"):
        flat[:, J[n]] = hip_mid + trunk * ((_REST[J[n], 1] - _REST[J["l_hip"], 1]) / top)
    neck = flat[:, J["neck"]]
    toward = trunk if face is None else np.concatenate([face * scale, np.zeros((len(kp), 1))], 1) - neck
    flat[:, J["head"]] = neck + _unit(toward, trunk) * _HEAD_LEN
    for s in "lr":   # a short foot continuing the shin (seen from the front, a foot points at the camera)
        shin = flat[:, J[f"{s}_ankle"]] - flat[:, J[f"{s}_knee"]]
        flat[:, J[f"{s}_toe"]] = flat[:, J[f"{s}_ankle"]] + _unit(shin, [0.0, -1.0, 0.0]) * -_FOOT_DROP
    mapping = {n: n for n in _LIMBS}
    mapping.update(pelvis="mid-hips", spine="mid-hips -> mid-shoulders", chest="mid-hips -> mid-shoulders",
                   neck="mid-shoulders, raised", head="neck -> face (nose, eyes, ears)",
                   l_toe="extrapolated knee -> ankle", r_toe="extrapolated knee -> ankle")
    return flat, mapping
