"""Poses drawn as a person: the built-in body at each pose of the one skeleton format, fitted to a dancer.

2-D joints become flat poses of the built-in figure through `dancer.keypoints.flat_poses` (the trunk along
hips -> shoulders, the head toward the face); limbs whose joints are not seen are not drawn, so a dancer
filmed from the waist up stays waist-up, and runs off the picture's bottom edge where she did. The drawing is
`dancer.body.draw_poses`: anti-aliased, at any size.

A `Figure` is what is fitted to a dancer: pixels per body-height unit of its source (from the median torso
length: limb lengths are the poses' own), the body's thickness (so its silhouette covers as much of the frame
as the dancer's did), hair and skirt.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..dancer.body import JOINTS as BODY_JOINTS, Body, Camera, J as BJ, draw_poses
from ..dancer.keypoints import flat_poses
from ..dancer.staging import REST
from .skeleton import INDEX, JOINTS, torso_length

MIN_HEIGHT = 480               # default output: the source's aspect ratio, at least this tall
REST_TORSO = float(np.linalg.norm((REST[BJ["l_shoulder"]] + REST[BJ["r_shoulder"]]) / 2
                                  - (REST[BJ["l_hip"]] + REST[BJ["r_hip"]]) / 2))
_LIMB_NAMES = JOINTS[5:17]     # COCO-17's shoulders .. ankles, the order `flat_poses` reads
_LIMB_IDX = [INDEX[n] for n in _LIMB_NAMES]
_FACE_IDX = [INDEX[n] for n in JOINTS[:5]]
_SEEN_AS = {n: n for n in _LIMB_NAMES}          # built-in joint -> the joint whose being seen draws it
_SEEN_AS.update(l_toe="l_ankle", r_toe="r_ankle")
_HIDE_FROM = np.array([INDEX[_SEEN_AS[n]] if n in _SEEN_AS else -1 for n in BODY_JOINTS])


@dataclasses.dataclass(frozen=True)
class Figure:
    """The body fitted to a dancer, and the picture size of the poses it draws."""
    ppu: float                   # source pixels per body-height unit
    source: tuple[int, int]      # source picture (width, height)
    thick: float = 1.0           # thickness of limbs and torso, times the built-in body's
    hair: str = "short"
    skirt: bool = False

    @property
    def body(self) -> Body:
        b, t = Body(hair=self.hair, skirt=self.skirt), self.thick
        return dataclasses.replace(
            b, arm_r=tuple(r * t for r in b.arm_r), leg_r=tuple(r * t for r in b.leg_r), hand_r=b.hand_r * t,
            toe_r=b.toe_r * t, neck_r=b.neck_r * t, torso=tuple((w * t, d * t) for w, d in b.torso))

    def to_dict(self) -> dict:
        return {"ppu": self.ppu, "source": list(self.source), "thick": self.thick, "hair": self.hair,
                "skirt": self.skirt}

    @classmethod
    def from_dict(cls, d: dict) -> "Figure":
        return cls(float(d["ppu"]), (int(d["source"][0]), int(d["source"][1])), float(d["thick"]),
                   str(d["hair"]), bool(d["skirt"]))


def default_size(source: tuple[int, int]) -> tuple[int, int]:
    """The source's aspect ratio, at least MIN_HEIGHT tall, sides even (200x120 -> 800x480)."""
    w, h = source
    height = max(MIN_HEIGHT, h + h % 2)
    return max(2, 2 * round(w * height / h / 2)), height


# hips this near the picture's bottom edge (in torso lengths) with their knees unseen are a dancer filmed from the
# waist up: her trunk ran off the picture's edge, and the drawn body ended in round hips above it. The green
# screen clip (`evaluate --frames 720`): shape distance 159 -> 38 (real halves 27), a person found 0.62 -> 0.87
# (her silhouettes 0.57)
EDGE_NEAR = 0.8
REST_THIGH = float(np.linalg.norm(REST[BJ["l_knee"]] - REST[BJ["l_hip"]]))


def _thighs_off_the_edge(j: np.ndarray, seen: np.ndarray, bottom: float) -> tuple[np.ndarray, np.ndarray]:
    """A seen hip whose knee is not seen, within EDGE_NEAR torso lengths of the picture's bottom edge, gets its
    thigh straight down to a knee past that edge: a dancer cut off by the frame runs off its edge."""
    j, seen = j.copy(), seen.copy()
    torso = torso_length(j)
    thigh = torso * REST_THIGH / REST_TORSO
    for s in "lr":
        hip, knee = INDEX[f"{s}_hip"], INDEX[f"{s}_knee"]
        cut = (seen[:, hip] & ~seen[:, knee] & (torso > 0) & (j[:, hip, 1] > bottom - EDGE_NEAR * torso)
               & (j[:, hip, 1] + thigh > bottom))
        j[cut, knee, :2] = j[cut, hip, :2] + np.stack([np.zeros(cut.sum()), thigh[cut]], 1)
        seen[cut, knee] = True
    return j, seen


def flat_figure(joints2d: np.ndarray, figure: Figure) -> tuple[np.ndarray, np.ndarray]:
    """Joints (N, 21, 3) in source pixels, every position finite -> (flat poses (N, 19, 3) in body units with
    y up, hidden (N, 19): built-in joints whose own joint is not seen)."""
    j = np.asarray(joints2d, np.float64)
    j, seen = _thighs_off_the_edge(j, j[..., 2] > 0, figure.source[1])
    xy = j[..., :2] * [1.0, -1.0]
    face_seen = seen[:, _FACE_IDX]
    with np.errstate(invalid="ignore", divide="ignore"):
        face = (xy[:, _FACE_IDX] * face_seen[..., None]).sum(1) / face_seen.sum(1)[:, None]
    flat = flat_poses(xy[:, _LIMB_IDX], face, 1.0 / figure.ppu)
    for s in "lr":   # the dancer's own toes where it has them
        toe = INDEX[f"{s}_toe"]
        ok = seen[:, toe]
        flat[ok, BJ[f"{s}_toe"], :2] = xy[ok, toe] / figure.ppu
    hidden = np.zeros(flat.shape[:2], bool)
    limbs = _HIDE_FROM >= 0
    hidden[:, limbs] = ~seen[:, _HIDE_FROM[limbs]]
    return flat, hidden


def draw_figure(joints2d: np.ndarray, figure: Figure, size: tuple[int, int]) -> np.ndarray:
    """The fitted body at each pose (N, 21, 3) (source pixels, positions finite, confidence > 0 = seen), as
    uint8 silhouettes (N, H, W) of `size` (W, H), 0 = dancer: the source's framing scaled to fit, centred."""
    w, h = size
    k = min(w / figure.source[0], h / figure.source[1])
    origin = ((w - k * figure.source[0]) / 2, (h - k * figure.source[1]) / 2)
    flat, hidden = flat_figure(joints2d, figure)
    frames = draw_poses(flat, figure.body, Camera(w, h, k * figure.ppu, origin), hidden=hidden)
    nobody = ~(np.asarray(joints2d)[..., 2] > 0).any(1)
    frames[nobody] = 255
    return frames
