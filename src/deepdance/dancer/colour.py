"""The built-in dancer in colour over a backdrop: footage with known joints, for testing pose estimators.

A silhouette is not a person to a pose estimator: BlazePose's detector looks for a head with a face and a
body with limbs. So the figure from `draw_poses` is painted part by part (every pixel takes the colour of
the nearest limb capsule: skin, shirt, trousers, shoes, hair), shaded darker toward its outline so limbs
read as round, and given eyes and a mouth at `face_points` when the face is turned to the camera.
"""

from __future__ import annotations

import cv2
import numpy as np

from .body import JOINTS, Body, Camera, J, draw_poses, face_points, rotate_y
from .choreo import Choreography

PALETTE = {"skin": (224, 172, 140), "shirt": (196, 44, 52), "trousers": (38, 52, 96),
           "shoes": (28, 28, 30), "hair": (62, 40, 26), "eye": (25, 20, 20), "mouth": (150, 62, 60)}
BACKDROPS = ("room", "gradient")

# (from, to, part) capsules that paint the figure; the "hand" points (the drawn hand's end) are added to the joints
_PARTS = [("neck", "head", "skin"), ("chest", "neck", "shirt"), ("pelvis", "chest", "shirt"),
          ("l_shoulder", "r_shoulder", "shirt"), ("l_shoulder", "l_hip", "shirt"),
          ("r_shoulder", "r_hip", "shirt"), ("l_hip", "r_hip", "trousers")]
for _s in "lr":
    _PARTS += [(f"{_s}_shoulder", f"{_s}_elbow", "shirt"), (f"{_s}_elbow", f"{_s}_wrist", "skin"),
               (f"{_s}_wrist", f"{_s}_hand", "skin"), (f"{_s}_hip", f"{_s}_knee", "trousers"),
               (f"{_s}_knee", f"{_s}_ankle", "trousers"), (f"{_s}_ankle", f"{_s}_toe", "shoes")]
_NAMES = JOINTS + ("l_hand", "r_hand")
_A = np.array([_NAMES.index(a) for a, _, _ in _PARTS])
_B = np.array([_NAMES.index(b) for _, b, _ in _PARTS])
_KINDS = ("skin", "shirt", "trousers", "shoes", "hair")
_KIND = np.array([_KINDS.index(k) for _, _, k in _PARTS])
_HEAD = 0   # the neck -> head capsule: its far end is the head, where hair and face go
# each capsule's radius (body units), as thick as the figure is drawn there
_RADIUS = {("neck", "head"): lambda b: max(b.head_size[:2]), ("chest", "neck"): lambda b: b.torso[3][0] / 2,
           ("pelvis", "chest"): lambda b: b.torso[1][0] / 2, ("l_shoulder", "r_shoulder"): lambda b: b.arm_r[0],
           ("l_hip", "r_hip"): lambda b: b.leg_r[0]}
for _s in "lr":
    _RADIUS.update({(f"{_s}_shoulder", f"{_s}_hip"): lambda b: b.arm_r[0],
                    (f"{_s}_shoulder", f"{_s}_elbow"): lambda b: b.arm_r[0],
                    (f"{_s}_elbow", f"{_s}_wrist"): lambda b: b.arm_r[1],
                    (f"{_s}_wrist", f"{_s}_hand"): lambda b: b.hand_r,
                    (f"{_s}_hip", f"{_s}_knee"): lambda b: b.leg_r[0],
                    (f"{_s}_knee", f"{_s}_ankle"): lambda b: b.leg_r[1],
                    (f"{_s}_ankle", f"{_s}_toe"): lambda b: b.leg_r[2]})


def backdrop(kind: str, width: int, height: int, seed: int = 0) -> np.ndarray:
    """A (H, W, 3) uint8 backdrop: 'room' (a textured, unevenly lit wall and floor) or 'gradient' (bright studio)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "gradient":   # pale yellow at the top to pale blue at the bottom, as studio paper is lit
        t = (yy / max(height - 1, 1))[..., None]
        img = (1 - t) * np.float32([250, 236, 190]) + t * np.float32([170, 205, 245])
    elif kind == "room":
        rng = np.random.default_rng([0xBAC, seed])
        tex = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 2.5)
        tex /= max(float(tex.std()), 1e-6)
        floor = yy > 0.8 * height
        base = np.where(floor[..., None], np.float32([130, 100, 80]), np.float32([185, 175, 150]))
        light = 0.6 + 0.5 * np.exp(-(((xx - 0.35 * width) / (0.6 * width)) ** 2 + ((yy - 0.1 * height) / height) ** 2))
        stripes = np.where(floor, 0.0, 0.1 * (np.sin(xx / 9.0) > 0.7))   # wallpaper, so the wall is not flat
        img = base * (light * (1 + 0.07 * tex - stripes))[..., None]
    else:
        raise ValueError(f"unknown backdrop {kind!r}: one of {BACKDROPS}")
    return np.clip(img, 0, 255).astype(np.uint8)


def _nearest_part(px: np.ndarray, a: np.ndarray, b: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """The part (index into a, b) each point (P, 2) shows: of the capsules a -> b (S, 3: x, y pixels, depth
    toward the camera) that hold it, the nearest the camera, else the capsule whose surface is nearest."""
    d = b[:, :2] - a[:, :2]
    t = np.clip(((px[:, None] - a[:, :2]) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-9), 0, 1)
    gap = np.linalg.norm(px[:, None] - (a[:, :2] + t[..., None] * d), axis=-1) - radius
    depth = a[:, 2] + t * (b[:, 2] - a[:, 2])
    inside = gap <= 0
    return np.where(inside.any(1), np.argmax(np.where(inside, depth, -np.inf), 1), np.argmin(gap, 1))


def colour_frames(poses3d: np.ndarray, body: Body, camera: Camera, background: np.ndarray, *,
                  yaw=0.0, palette: dict | None = None) -> np.ndarray:
    """Poses (N, J, 3) painted over `background` (H, W, 3): uint8 (N, H, W, 3) RGB frames.

    The figure is exactly `draw_poses(poses3d, body, camera, yaw=yaw)`'s, so its joints project as
    `deepdance.pose.from_dancer` says.
    """
    pal = {**PALETTE, **(palette or {})}
    colours = np.float32([pal[k] for k in _KINDS])
    poses = np.asarray(poses3d, np.float64)
    n = len(poses)
    yaws = np.broadcast_to(np.asarray(yaw, np.float64), (n,))
    masks = draw_poses(poses, body, camera, yaw=yaws)
    p = rotate_y(poses, yaws[:, None])
    hands = [p[:, J[f"{s}_wrist"]] + _unit(p[:, J[f"{s}_wrist"]] - p[:, J[f"{s}_elbow"]]) * body.hand for s in "lr"]
    pts3 = np.concatenate([p, np.stack(hands, 1)], 1)
    face = face_points(p, body)
    s = camera.scale
    ox, oy = camera.origin
    to_px = np.float32([s, -s])
    pts = np.concatenate([pts3[..., :2] * to_px + [ox, oy], pts3[..., 2:] * s], -1)   # x, y pixels, depth
    face2 = face[..., :2] * to_px + [ox, oy]
    hw, hh, hd = body.head_size
    limb_r = np.array([_RADIUS[(a, b)](body) for a, b, _ in _PARTS]) * s
    out = np.empty(masks.shape + (3,), np.uint8)
    bg = background.astype(np.float32)
    for i in range(n):
        alpha = (255 - masks[i]).astype(np.float32) / 255.0
        ys, xs = np.nonzero(alpha > 0)
        img = bg.copy()
        if len(xs):
            pix = np.stack([xs, ys], -1).astype(np.float32)
            seg = _nearest_part(pix, pts[i, _A], pts[i, _B], limb_r)
            kind = _KIND[seg]
            # hair: the top and back of the head, or all of it seen from behind
            head, neck = pts[i, J["head"], :2], pts[i, J["neck"], :2]
            up2 = head - neck
            up2 = up2 / max(float(np.linalg.norm(up2)), 1e-6)
            rel = pix - head
            facing = face[i, 0, 2] - p[i, J["head"], 2]  # > 0: the nose is nearer the camera than the head
            is_head = (seg == _HEAD) & (np.linalg.norm(pix - neck, axis=-1) > 0.5 * hh * s
                                     ) & ((rel @ up2) > -0.6 * hh * s)
            hair = is_head & (((rel @ up2) > 0.35 * hh * s) | (np.linalg.norm(rel, axis=-1) > 1.02 * hw * s)
                              | (facing < 0.2 * hd))
            kind = np.where(hair, _KINDS.index("hair"), kind)
            figure = np.zeros_like(img)
            figure[ys, xs] = colours[kind]
            # a thin dark line where one part meets another: a sleeve in front of the shirt stays an arm
            label = np.full(alpha.shape, -1, np.int32)
            label[ys, xs] = np.where(hair, len(_PARTS), seg)
            edge = np.zeros(alpha.shape, bool)
            edge[:, 1:] |= (label[:, 1:] != label[:, :-1]) & (label[:, :-1] >= 0)
            edge[1:] |= (label[1:] != label[:-1]) & (label[:-1] >= 0)
            figure[edge & (label >= 0)] *= 0.55
            if facing > 0.2 * hd:
                _face(figure, face2[i], up2, hw * s, hh * s, pal)
            # darker toward the outline: round limbs instead of flat paper cut-outs
            inside = cv2.distanceTransform((alpha > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
            shade = 0.68 + 0.32 * np.minimum(inside / max(0.02 * s, 1.0), 1.0)
            figure *= shade[..., None]
            img = alpha[..., None] * figure + (1 - alpha[..., None]) * img
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def _face(img: np.ndarray, face2: np.ndarray, up2: np.ndarray, hw: float, hh: float, pal: dict) -> None:
    """Eyes and a mouth at the projected face points (pixels) on a picture being painted."""
    r = max(1, int(round(0.14 * hw)))
    for k in (1, 2):
        cv2.circle(img, tuple(int(round(v)) for v in face2[k]), r, pal["eye"], -1, cv2.LINE_AA)
    mouth = face2[0] - up2 * 0.4 * hh
    side = np.array([up2[1], -up2[0]]) * 0.3 * hw
    a, b = (tuple(int(round(v)) for v in q) for q in (mouth - side, mouth + side))
    cv2.line(img, a, b, pal["mouth"], max(1, int(round(0.08 * hh))), cv2.LINE_AA)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def colour_dance(seconds: float, fps: float, width: int, height: int, *, seed: int = 0,
                 kind: str = "room") -> tuple[np.ndarray, np.ndarray, Body, Camera]:
    """A seeded dance of the built-in dancer in colour: (frames (N, H, W, 3), poses (N, J, 3), body, camera)."""
    body = Body.from_seed(seed)
    camera = Camera.fit(width, height)
    choreo = Choreography(seed, fps=fps, body=body, travel=camera.travel)
    poses = choreo.poses(0, max(1, int(round(seconds * fps))))
    return colour_frames(poses, body, camera, backdrop(kind, width, height, seed)), poses, body, camera
