"""The dancer's body: a skeleton of named 3-D joints and the step that turns a pose into a silhouette.

Pose convention (shared by the built-in choreography and any outside source such as BVH or COCO
keypoints lifted to 3-D): a float array (J, 3) in the order of `JOINTS`, in body-height units
(a standing figure is about 1.0 tall), in a right-handed world frame with
    x  to the viewer's right,   y  up (the floor is y = 0),   z  toward the camera.
A dancer facing the camera has its left side at +x. Standing, the pelvis is about 0.54 above the
floor, the head joint is the centre of the head (about 0.93) and the top of the head is near 1.0.

`draw_poses` is the only pose -> picture step: it reads nothing but the joints, the body's
proportions (thickness, hair, skirt) and an explicit `Camera`, so any pose source renders with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

JOINTS = (
    "pelvis", "spine", "chest", "neck", "head",
    "l_shoulder", "l_elbow", "l_wrist",
    "r_shoulder", "r_elbow", "r_wrist",
    "l_hip", "l_knee", "l_ankle", "l_toe",
    "r_hip", "r_knee", "r_ankle", "r_toe",
)
J = {name: i for i, name in enumerate(JOINTS)}
HAIR_STYLES = ("short", "bun", "ponytail", "bob")

# drawing happens in 1/16 pixel steps, so slow motion moves the outline smoothly instead of in 1 px jumps
_SHIFT = 4
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class Body:
    """Proportions in body-height units: bone lengths for the built-in skeleton, thickness for drawing."""

    # bone lengths (the drawing uses the pose's own bone lengths; these feed the built-in skeleton)
    ankle_h: float = 0.045        # ankle joint above the floor when standing
    shin: float = 0.24
    thigh: float = 0.235
    hip_w: float = 0.095          # between the hip joints
    pelvis_up: float = 0.02       # pelvis joint above the line of the hip joints
    spine: float = 0.09           # pelvis -> spine
    chest: float = 0.09           # spine -> chest
    neck_base: float = 0.11       # chest -> neck (the base of the neck, top of the torso)
    shoulder_w: float = 0.20      # between the shoulder joints
    shoulder_drop: float = 0.015  # shoulder joints below the neck joint
    neck: float = 0.10            # neck joint -> head centre
    upper_arm: float = 0.165
    forearm: float = 0.145
    hand: float = 0.075
    foot: float = 0.12            # ankle -> toe
    # thickness (radii) along the limbs: at the near joint, the far joint
    arm_r: tuple[float, float, float] = (0.033, 0.024, 0.018)   # shoulder, elbow, wrist
    hand_r: float = 0.019
    leg_r: tuple[float, float, float] = (0.058, 0.037, 0.022)   # hip, knee, ankle
    toe_r: float = 0.014
    neck_r: float = 0.027
    head_size: tuple[float, float, float] = (0.052, 0.066, 0.060)  # half width, half height, half depth
    # torso cross-sections (width, depth) at the hips, waist, chest, shoulders and neck
    torso: tuple[tuple[float, float], ...] = ((0.20, 0.15), (0.15, 0.115), (0.20, 0.135), (0.24, 0.11),
                                              (0.11, 0.09))
    hair: str = "bun"
    skirt: bool = False

    @classmethod
    def from_seed(cls, seed: int) -> "Body":
        """A body whose proportions vary a little (a few per cent) with the seed."""
        rng = np.random.default_rng([0xB0D1, seed % 2**63])
        d = cls()
        legs, torso, arms = rng.uniform(0.96, 1.04, 3)
        width = rng.uniform(0.92, 1.08)       # shoulders
        hips = rng.uniform(0.92, 1.1)
        thick = rng.uniform(0.88, 1.12)
        head = rng.uniform(0.95, 1.05)

        def t(v, k):
            return tuple(x * k for x in v)

        widen = (hips, hips, width, width, 1.0)   # hip and waist sections follow the hips, chest the shoulders
        sections = tuple((w * k, dep * thick) for (w, dep), k in zip(d.torso, widen))
        return cls(
            shin=d.shin * legs, thigh=d.thigh * legs, hip_w=d.hip_w * hips,
            spine=d.spine * torso, chest=d.chest * torso, neck_base=d.neck_base * torso,
            shoulder_w=d.shoulder_w * width, neck=d.neck * head,
            upper_arm=d.upper_arm * arms, forearm=d.forearm * arms, hand=d.hand * arms,
            arm_r=t(d.arm_r, thick), hand_r=d.hand_r * thick, leg_r=t(d.leg_r, thick),
            neck_r=d.neck_r * thick, head_size=t(d.head_size, head),
            torso=sections,
            hair=HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))],
            skirt=bool(rng.random() < 0.35),
        )

    @property
    def stance(self) -> float:
        """Half the distance between the ankles when standing at rest."""
        return self.hip_w / 2 + 0.01

    @property
    def hip_height(self) -> float:
        """Height of the hip joints when standing with the knees almost straight."""
        return self.ankle_h + 0.985 * (self.thigh + self.shin)


@dataclass(frozen=True)
class Camera:
    """Orthographic front camera: pixel = origin + scale * (x, -y). Explicit, so motion files can pick theirs."""

    width: int
    height: int
    scale: float                   # pixels per body-height unit
    origin: tuple[float, float]    # pixel position of the world origin (centre stage, on the floor)

    @classmethod
    def fit(cls, width: int, height: int) -> "Camera":
        """The stage camera: the figure scaled to the frame height, the floor near the bottom edge.

        0.70 of the frame height per body unit leaves room above the head for raised arms and jumps.
        """
        return cls(int(width), int(height), 0.70 * height, (width / 2.0, 0.955 * height))

    @property
    def travel(self) -> float:
        """How far (body units) the dancer may move from centre stage and stay fully in frame."""
        return max(0.0, (self.width / 2.0 - 0.52 * self.scale) / self.scale)


def rotate_y(points: np.ndarray, angle) -> np.ndarray:
    """Rotate points (..., 3) about the vertical axis; `angle` broadcasts over the leading axes.

    Positive angles turn +z (a dancer's front) toward +x. Written elementwise, not as a matrix
    product, so each pose's result never depends on how many poses are computed together.
    """
    p = np.asarray(points, np.float64)
    a = np.asarray(angle, np.float64)
    c, s = np.cos(a), np.sin(a)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return np.stack([c * x + s * z, y, c * z - s * x], axis=-1)


def project(pose3d: np.ndarray, *, yaw: float = 0.0) -> np.ndarray:
    """Orthographic view from the front: (..., J, 3) -> (..., J, 2) as (x right, y up) in body units.

    `yaw` first turns the figure about the vertical axis through the origin (a camera orbit).
    """
    p = np.asarray(pose3d, np.float64)
    return (rotate_y(p, yaw) if yaw else p)[..., :2]


def _unit(v: np.ndarray, fallback) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 1e-9, v / np.maximum(n, 1e-9), np.asarray(fallback, np.float64))


def _ellipse_extent(width, depth, lat, fwd, e) -> np.ndarray:
    """Half extent along screen direction e of a horizontal ellipse (width along lat, depth along fwd).

    This is what makes a turn real: facing the camera a torso shows its width, in profile its depth.
    """
    a = (lat * e).sum(-1) * (width / 2)
    b = (fwd * e).sum(-1) * (depth / 2)
    return np.sqrt(a * a + b * b)


FACE = ("nose", "l_eye", "r_eye", "l_ear", "r_ear")


def face_points(poses3d: np.ndarray, body: Body) -> np.ndarray:
    """Nose, eyes and ears (..., 5, 3) of poses (..., J, 3), placed on the head's ellipsoid.

    The figure has no face joints; these points are where a face drawn on its head goes (the colour
    rendering draws one there), so pose estimates of the figure can be scored against them. The face
    looks along the shoulders' forward direction, the head leaning along neck -> head, as the head is drawn.
    """
    p = np.asarray(poses3d, np.float64)
    up = _unit(p[..., J["head"], :] - p[..., J["neck"], :], [0, 1.0, 0])
    lat = p[..., J["l_shoulder"], :] - p[..., J["r_shoulder"], :]
    lat = _unit(lat - up * (lat * up).sum(-1, keepdims=True), [1.0, 0, 0])
    fwd = np.cross(lat, up)   # left x up: toward the camera for a dancer facing it
    hw, hh, hd = body.head_size
    head = p[..., J["head"], :]
    offsets = ((0.95 * hd, 0.0, -0.15 * hh),     # (forward, left, up) in head units
               (0.75 * hd, 0.40 * hw, 0.12 * hh), (0.75 * hd, -0.40 * hw, 0.12 * hh),
               (-0.10 * hd, 0.95 * hw, 0.0), (-0.10 * hd, -0.95 * hw, 0.0))
    return np.stack([head + fwd * f + lat * s + up * u for f, s, u in offsets], -2)


class _Layout:
    """Every shape of every pose in a batch, as fixed-point pixel arrays ready for cv2."""

    def __init__(self, poses: np.ndarray, body: Body, cam: Camera, origin: np.ndarray, yaw):
        p = rotate_y(poses, yaw) if np.any(yaw) else poses
        n = len(p)
        s = cam.scale
        up = np.array([0.0, 1.0, 0.0])

        def px(pt):  # body units (n, ..., 3) -> pixels (n, ..., 2), float
            o = origin.reshape((n,) + (1,) * (pt.ndim - 2) + (2,))
            return np.stack([o[..., 0] + pt[..., 0] * s, o[..., 1] - pt[..., 1] * s], -1)

        # body axes, from the joints alone
        sh_lat = _unit(p[:, J["l_shoulder"]] - p[:, J["r_shoulder"]], [1.0, 0, 0])
        hip_lat = _unit(p[:, J["l_hip"]] - p[:, J["r_hip"]], [1.0, 0, 0])
        trunk_up = _unit(p[:, J["neck"]] - p[:, J["pelvis"]], up)
        sh_fwd = _unit(np.cross(sh_lat, trunk_up), [0, 0, 1.0])
        hip_fwd = _unit(np.cross(hip_lat, trunk_up), [0, 0, 1.0])
        mid_lat = _unit(sh_lat + hip_lat, [1.0, 0, 0])
        mid_fwd = _unit(sh_fwd + hip_fwd, [0, 0, 1.0])

        # torso: five elliptic cross-sections joined into one outline
        hip_mid = (p[:, J["l_hip"]] + p[:, J["r_hip"]]) / 2
        sh_mid = (p[:, J["l_shoulder"]] + p[:, J["r_shoulder"]]) / 2
        centres = np.stack([hip_mid - 0.012 * trunk_up, p[:, J["spine"]], p[:, J["chest"]],
                            sh_mid - 0.01 * trunk_up, p[:, J["neck"]] + 0.008 * trunk_up], 1)
        lats = np.stack([hip_lat, mid_lat, sh_lat, sh_lat, sh_lat], 1)
        fwds = np.stack([hip_fwd, mid_fwd, sh_fwd, sh_fwd, sh_fwd], 1)
        c2 = px(centres)
        along = np.gradient(c2, axis=1)  # screen direction of the spine at each section
        along = _unit(along, [0, -1.0])
        perp2 = np.stack([-along[..., 1], along[..., 0]], -1)
        e3 = np.stack([perp2[..., 0], -perp2[..., 1], np.zeros_like(perp2[..., 0])], -1)
        wd = np.asarray(body.torso, np.float64)
        half = _ellipse_extent(wd[:, 0], wd[:, 1], lats, fwds, e3) * s
        right = c2 + perp2 * half[..., None]
        left = c2 - perp2 * half[..., None]
        self.torso = self._fix(np.concatenate([right, left[:, ::-1]], 1))

        # head: an ellipse whose width turns from the face's width to its depth
        hw, hh, hd = body.head_size
        head_up = _unit(p[:, J["head"]] - p[:, J["neck"]], up)
        e_side = np.stack([np.ones(n), np.zeros(n), np.zeros(n)], -1)
        self.head_c = self._fix(px(p[:, J["head"]]))
        head_half_w = _ellipse_extent(2 * hw, 2 * hd, sh_lat, sh_fwd, e_side) * s
        self.head_axes = self._fix(np.stack([head_half_w, np.full(n, hh * s)], -1))
        self.head_angle = np.degrees(np.arctan2(head_up[:, 0], head_up[:, 1]))

        # capsules (tapered limbs): point pairs and radii; extra points for hands, hair
        hand_l = p[:, J["l_wrist"]] + _unit(p[:, J["l_wrist"]] - p[:, J["l_elbow"]], -up) * body.hand
        hand_r = p[:, J["r_wrist"]] + _unit(p[:, J["r_wrist"]] - p[:, J["r_elbow"]], -up) * body.hand
        head = p[:, J["head"]]
        extra = [hand_l, hand_r]
        if body.hair == "ponytail":
            root = head + head_up * (0.55 * hh) - sh_fwd * (0.85 * hd)
            extra += [root, root - sh_fwd * 0.05 - up * 0.13]
        pts = np.concatenate([p, np.stack(extra, 1)], 1)
        nj = len(JOINTS)
        ar, lr = body.arm_r, body.leg_r
        caps = []
        for side, hand_i in (("l", nj), ("r", nj + 1)):
            caps += [(J[f"{side}_shoulder"], J[f"{side}_elbow"], ar[0], ar[1]),
                     (J[f"{side}_elbow"], J[f"{side}_wrist"], ar[1], ar[2]),
                     (J[f"{side}_wrist"], hand_i, body.hand_r, body.hand_r * 0.8),
                     (J[f"{side}_hip"], J[f"{side}_knee"], lr[0], lr[1]),
                     (J[f"{side}_knee"], J[f"{side}_ankle"], lr[1], lr[2]),
                     (J[f"{side}_ankle"], J[f"{side}_toe"], lr[2] * 0.95, body.toe_r)]
        caps.append((J["neck"], J["head"], body.neck_r * 1.15, body.neck_r))
        if body.hair == "ponytail":
            caps.append((nj + 2, nj + 3, 0.024, 0.012))
        a_i = np.array([c[0] for c in caps])
        b_i = np.array([c[1] for c in caps])
        # the joint each shape hangs from, for `hidden`: a hand (nj, nj + 1) goes with its wrist, hair with the head
        owner = np.array(list(range(nj)) + [J["l_wrist"], J["r_wrist"]] + [J["head"]] * (len(extra) - 2 + 1))
        self.cap_joints = (owner[a_i], owner[b_i])
        r0 = np.array([c[2] for c in caps]) * s
        r1 = np.array([c[3] for c in caps]) * s
        p2 = px(pts)
        a2, b2 = p2[:, a_i], p2[:, b_i]
        d = b2 - a2
        nrm = _unit(np.stack([-d[..., 1], d[..., 0]], -1), [1.0, 0])
        self.quads = self._fix(np.stack([a2 + nrm * r0[:, None], b2 + nrm * r1[:, None],
                                         b2 - nrm * r1[:, None], a2 - nrm * r0[:, None]], 2))
        # round ends: one disc per joint, as large as the thickest limb meeting there
        ends = {}
        for (ai, bi, ra, rb) in caps:
            ends[ai] = max(ends.get(ai, 0.0), ra)
            ends[bi] = max(ends.get(bi, 0.0), rb)
        if body.hair == "bun":
            pts = np.concatenate([pts, (head + head_up * (0.8 * hh) - sh_fwd * (0.5 * hd))[:, None]], 1)
            p2 = px(pts)
            ends[len(pts[0]) - 1] = 0.5 * hh
        idx = np.array(sorted(ends))
        self.disc_joints = owner[idx]
        self.discs = self._fix(p2[:, idx])
        self.disc_r = [max(1, int(round(ends[i] * s * _ONE))) for i in idx]

        # hair volume around the head (a bob), and a skirt hanging from the waist over the thighs
        self.bob = None
        if body.hair == "bob":
            self.bob = (self._fix(px(head + head_up * 0.004 - sh_fwd * (0.25 * hd))),
                        self._fix(np.stack([head_half_w * 1.18, np.full(n, hh * 1.06 * s)], -1)))
        self.skirt = None
        if body.skirt:
            waist = c2[:, 1]
            top_half = half[:, 1] * 1.05
            hem_t = 0.55  # the hem sits this far down the thighs
            thigh_pts = []
            for side in ("l", "r"):
                h3 = p[:, J[f"{side}_hip"]]
                thigh_pts.append(px(h3 + (p[:, J[f"{side}_knee"]] - h3) * hem_t))
            tl, tr = thigh_pts
            hem_c = (tl + tr) / 2
            spread = np.abs(tl[:, 0] - tr[:, 0]) / 2 + lr[0] * 0.9 * s
            # it widens over parted legs, but a kicked leg comes out from under it
            hem_half = np.clip(spread, half[:, 0] * 0.75, half[:, 0] * 1.4) * 1.1
            hem_y = np.maximum(tl[:, 1], tr[:, 1])
            perp_w = perp2[:, 1]
            self.skirt = self._fix(np.stack([
                waist + perp_w * top_half[:, None],
                np.stack([hem_c[:, 0] + hem_half, hem_y], -1),
                np.stack([hem_c[:, 0] - hem_half, hem_y], -1),
                waist - perp_w * top_half[:, None]], 1))

    @staticmethod
    def _fix(a: np.ndarray) -> np.ndarray:
        return np.round(a * _ONE).astype(np.int32)

    def draw(self, i: int, img: np.ndarray, hidden: np.ndarray | None = None) -> None:
        aa = cv2.LINE_AA
        cv2.fillPoly(img, [self.torso[i]], 0, aa, _SHIFT)
        if self.skirt is not None:
            cv2.fillConvexPoly(img, self.skirt[i], 0, aa, _SHIFT)
        quads, discs, radii = self.quads[i], self.discs[i].tolist(), self.disc_r
        if hidden is not None and hidden.any():   # limbs and joints of a hidden joint are not drawn
            quads = quads[~(hidden[self.cap_joints[0]] | hidden[self.cap_joints[1]])]
            keep = ~hidden[self.disc_joints]
            discs, radii = [d for d, k in zip(discs, keep) if k], [r for r, k in zip(radii, keep) if k]
        for q in quads:
            cv2.fillConvexPoly(img, q, 0, aa, _SHIFT)
        for c, r in zip(discs, radii):
            cv2.circle(img, c, r, 0, -1, aa, _SHIFT)
        axes = self.head_axes[i].tolist()
        cv2.ellipse(img, self.head_c[i].tolist(), axes, float(self.head_angle[i]), 0, 360, 0, -1, aa, _SHIFT)
        if self.bob is not None:
            c, ax = self.bob
            cv2.ellipse(img, c[i].tolist(), ax[i].tolist(), float(self.head_angle[i]), 0, 360, 0, -1, aa, _SHIFT)


def draw_poses(poses3d: np.ndarray, body: Body, camera: Camera, *, origin=None, yaw=0.0,
               out: np.ndarray | None = None, hidden: np.ndarray | None = None) -> np.ndarray:
    """Silhouettes of a batch of poses (N, J, 3): uint8 (N, H, W), dancer 0 (black) on 255 (white).

    `hidden` (N, J) bool: joints not drawn, nor the limbs that end at them (a dancer seen from the waist
    up has no legs to draw); the torso and the head are always drawn.
    `origin` (pixels, (2,) or (N, 2)) overrides the camera's, e.g. to follow a dancer; `yaw` ((,) or (N,))
    turns each figure about the vertical axis through the world origin before projecting.
    """
    poses = np.asarray(poses3d, np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (len(JOINTS), 3):
        raise ValueError(f"poses must have shape (N, {len(JOINTS)}, 3), got {poses.shape}")
    n = len(poses)
    org = np.broadcast_to(np.asarray(camera.origin if origin is None else origin, np.float64), (n, 2))
    yaw = np.broadcast_to(np.asarray(yaw, np.float64), (n,))[:, None]
    if out is None:
        out = np.empty((n, camera.height, camera.width), np.uint8)
    out[...] = 255
    if n:
        layout = _Layout(poses, body, camera, org, yaw)
        hide = None if hidden is None else np.broadcast_to(np.asarray(hidden, bool), (n, len(JOINTS)))
        for i in range(n):
            layout.draw(i, out[i], None if hide is None else hide[i])
    return out


def draw_pose(pose3d: np.ndarray, body: Body, camera: Camera, *, origin=None, yaw: float = 0.0) -> np.ndarray:
    """The silhouette of one pose (J, 3) as a uint8 (H, W) picture, dancer 0 on 255."""
    return draw_poses(np.asarray(pose3d)[None], body, camera, origin=origin, yaw=yaw)[0]
