"""BVH motion capture read as poses of the built-in figure: parse, forward kinematics, joints by name.

Forward kinematics runs over all frames at once; joints are found by name (Mixamo "LeftArm", CMU
"lShldr", "upperarm_l", ...), Y-up or Z-up is detected from the rest pose, and the dancer is turned
to face the camera on average and then by the chosen `view`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from .body import JOINTS, J
from .staging import FOOT_DROP, FOOT_REACH, HEAD_LEN, REST, REST_CHAIN, chain_length, frame_rate, stage, unit

_TORSO = [float(REST[J[b], 1] - REST[J[a], 1]) for a, b in (("pelvis", "spine"), ("spine", "chest"),
                                                             ("chest", "neck"))]
_SPINE_AT = _TORSO[0] / sum(_TORSO)                 # spine and chest as fractions of pelvis -> neck
_CHEST_AT = (_TORSO[0] + _TORSO[1]) / sum(_TORSO)
_VIEWS = {"front": 0.0, "left": 90.0, "side": 90.0, "back": 180.0, "right": -90.0}


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


def read_bvh(path: Path, fps: float | None, view) -> tuple[np.ndarray, float, dict]:
    """A .bvh file -> (poses (N, J, 3) staged, frames a second, where they came from); see `load_motion`."""
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
        fps = frame_rate(1.0 / frame_time)

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
    scale = REST_CHAIN / max(float(chain_length(pose_rest)), 1e-12)
    world = skeleton_positions(skel, frames, wanted) @ (axes.T * scale)

    poses = np.zeros((len(frames), len(JOINTS), 3))
    for n in direct:
        poses[:, J[n]] = world[:, at[m[n]]]
    spine = world[:, [at[k] for k in chain]]
    poses[:, J["spine"]] = _along(spine, _SPINE_AT)
    poses[:, J["chest"]] = _along(spine, _CHEST_AT)
    neck = poses[:, J["neck"]]
    # the file's head joint sits at the skull's base; ours is the head's centre, a neck's length on
    poses[:, J["head"]] = neck + unit(world[:, at[m["head"]]] - neck, neck - poses[:, J["pelvis"]]) * HEAD_LEN
    mapping = {n: skel.names[m[n]] for n in direct}
    torso = " > ".join(skel.names[k] for k in chain)
    mapping.update(spine=torso, chest=torso, head=f"{skel.names[m['neck']]} -> {skel.names[m['head']]}")
    lat = poses[:, J["l_hip"]] - poses[:, J["r_hip"]]
    fwd = unit(np.stack([-lat[:, 2], np.zeros(len(lat)), lat[:, 0]], -1), [0.0, 0.0, 1.0])
    for s in "lr":
        if toes[s] is not None:
            poses[:, J[f"{s}_toe"]] = world[:, at[toes[s]]]
            mapping[f"{s}_toe"] = skel.names[toes[s]]
        else:   # no toe in the file: our foot, pointing where the hips face
            poses[:, J[f"{s}_toe"]] = poses[:, J[f"{s}_ankle"]] + fwd * FOOT_REACH + [0.0, FOOT_DROP, 0.0]
            mapping[f"{s}_toe"] = "extrapolated forward from the ankle"

    # turn the dancer to face the camera on average, then by the view
    lat = lat + poses[:, J["l_shoulder"]] - poses[:, J["r_shoulder"]]
    facing = np.arctan2(-lat[:, 2].sum(), lat[:, 0].sum())   # forward = (-lat_z, 0, lat_x), angle from +z
    poses = stage(poses, turn=-facing - np.radians(yaw), window=None)
    return poses, fps, {"kind": "bvh", "file": path.name, "fps": fps,
                         "file_fps": 1.0 / frame_time if frame_time > 0 else None,
                         "view": yaw, "joints": mapping}


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
