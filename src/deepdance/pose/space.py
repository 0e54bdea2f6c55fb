"""The pose representation: a store's poses <-> one latent vector per frame, drawn by the fitted body.

Latent of a frame (D = 2 x 21 + 2 + 21 = 65), in units of the dancer's median torso length (`scale`):
    [0:42]   every joint's x, y about the root (the mid-hip); a joint whose position is unknown takes its
             mean place about the root, so codes of a waist-up dancer are not pulled about by missing legs
    [42:44]  the root's place in the source picture, about its centre: the dancer's travel
    [44:65]  whether each joint is seen (1) or not (0): a waist-up clip stays waist-up
The root is the mid-hip; where a hip is unknown, the mid-shoulder plus the dancer's median shoulder -> hip.

`pose.json` in the run folder holds the statistics (scale, source size, joint names, mean pose, root offset)
and the fitted figure (`figure.py`), so the run folder alone decodes and draws. `project` snaps the seen
flags to 0 or 1; decoding draws the fitted body at `size` (default: the source's aspect, >= 480 px tall).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..checkpoint import load_model, model_meta
from ..errors import UserError
from ..files import read_json, write_json
from ..store import FrameStore
from .figure import REST_TORSO, Figure, default_size, draw_figure
from .look import draw_look
from .skeleton import FEET, INDEX, JOINTS, planted, torso_length

POSE_FILE = "pose.json"
FORMAT = "deepdance-pose/1"
FPS = 24.0                 # default output frame rate: poses are interpolated between the data's steps
# Dances of codes' centres (`--walk centres`) are smoothed over this long (Gaussian sigma, s): a code's
# centre is an average pose, and stepping from centre to centre shakes every joint. Built-in dancer, 2 dances of 1,200 steps (real: kinetic
# FD between its halves 54, joint speed 1.09 torso/s, beat-align on joints 0.72):
#     smooth 0        kinetic FD 7,860   joint speed 1.65   beat-align 0.62
#     smooth 0.083 s  kinetic FD   267   joint speed 1.15   beat-align 0.69
#     smooth 0.125 s  kinetic FD    93   joint speed 0.93   beat-align 0.67 (the default)
#     smooth 0.167 s  kinetic FD    67   joint speed 0.76   beat-align 0.65 (slower than the dancer)
SMOOTH_S = 0.125
# Dances of real steps (`--walk real`, the default) already move as the dancer did, and ease out of every jump
# (`RealWalk`); they are smoothed only over this long, against the shake of steps laid on another beat.
# Portrait clip, 720 frames at 12 fps (real: mean joint change 0.0208 a frame, its change 0.0217):
#     walk centres, smooth 0.125   0.0085  0.0057   (the dance moves at 40% of the dancer's pace)
#     walk real,    smooth 0       0.0173  0.0166
#     walk real,    smooth 0.04    0.0161  0.0135   (the default)
#     walk real,    smooth 0.125   0.0122  0.0049
WALK_SMOOTH_S = 0.04
# Generated dances keep a planted foot where it is (`plant_feet`); once no foot is planted, the body's place eases
# back to the dance's own over this long (time constant). Built-in dancer, `make demo`'s model, 4 dances of 720
# steps / `evaluate --frames 1200` (real yardsticks after the slash):
#     feet as generated   foot sliding 0.30 / 0.17   kinetic FD 62 / 54   joint speed 0.89 / 1.09   15 of 15
#     feet planted        foot sliding 0.15          kinetic FD 51        joint speed 0.80           15 of 15,
#                         and fsd 5.4 -> 4.1 (halves 3.9), bas 0.69 -> 0.72 (0.70)
# The 12-s portrait clip: foot sliding 0.058 -> 0.046 (hers 0.069), the rest within 3%.
# The place stays within the span of places the dance took: real salsa (CMU 61_01 in colour in the room, a foot
# always down, 3 dances of 720 steps) otherwise added up its jumps' slides and left the picture, a joint outside
# it in 19-37% of frames (hers 0%), a person found in 0.81; bounded: 0.4-1.7% (the built-in dancer's unchanged),
# a person found in 0.99. (Easing back over 2 s while planted as well raised the built-in's foot sliding 0.19 -> 0.25.)
PLANT_EASE_S = 0.5
FIT_FRAMES = 200           # real frames the body's thickness is fitted on
_NJ = len(JOINTS)
_HIPS = [INDEX["l_hip"], INDEX["r_hip"]]
_SHOULDERS = [INDEX["l_shoulder"], INDEX["r_shoulder"]]


def _fill_time(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Rows of (N, 2) where not `ok` interpolated over time (held at the ends)."""
    if ok.all() or not ok.any():
        return x
    t = np.arange(len(x))
    return np.stack([np.interp(t, t[ok], x[ok, d]) for d in range(x.shape[1])], -1)


class Poses:
    """The pose representation of a run (pose.json): encode, decode (draw), project, joints."""
    name = "pose"
    recipe = "default"
    smooth = {"real": WALK_SMOOTH_S, "centres": SMOOTH_S}
    walk = "real"
    latent = 2 * _NJ + 2 + _NJ

    def __init__(self, stats: dict, *, size: tuple[int, int] | None = None, look: torch.nn.Module | None = None,
                 look_default: str = "body"):
        self.stats = stats
        self.look_net, self.look = look, look_default if look is not None else "body"
        self.scale = float(stats["scale"])
        self.source = (int(stats["size"][0]), int(stats["size"][1]))
        self.mean = np.asarray(stats["mean"], np.float64).reshape(_NJ, 2)
        self.root_offset = np.asarray(stats["root_offset"], np.float64)
        self.figure = Figure.from_dict(stats["figure"])
        self.size = size or default_size(self.source)
        self.fps = max(FPS, float(stats.get("fps", FPS)))

    # --- fitting ---------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, store: FrameStore) -> "Poses":
        """Statistics of the store's poses, and the body fitted to its silhouettes."""
        joints = store.poses()
        if joints is None:
            raise UserError(f"{store.path} has no poses: use --represent pixels, or make the store with poses")
        j = np.asarray(joints, np.float64)
        torso = torso_length(j)
        ok = np.isfinite(torso) & (torso > 0)
        if ok.sum() < 2:
            raise UserError(f"{store.path}: the poses never show both shoulders and hips; cannot size the dancer")
        scale = float(np.median(torso[ok]))
        hip, sh = j[:, _HIPS, :2].mean(1), j[:, _SHOULDERS, :2].mean(1)
        stats = {"format": FORMAT, "joints": list(JOINTS), "scale": scale, "size": [store.width, store.height],
                 "fps": store.fps, "root_offset": list(np.median((hip - sh)[ok], 0) / scale),
                 "mean": np.zeros((_NJ, 2)).tolist(),
                 "figure": Figure(scale / REST_TORSO, (store.width, store.height)).to_dict()}
        rep = cls(stats)
        rel = (j[..., :2] - rep._root(j)[:, None]) / scale
        known = np.isfinite(rel).all(-1)
        mean = np.zeros((_NJ, 2))
        for k in range(_NJ):
            if known[:, k].any():
                mean[k] = np.median(rel[known[:, k], k], 0)
            else:   # never seen anywhere: where the built-in figure has it, roughly
                mean[k] = [0.0, -1.0 if "shoulder" in JOINTS[k] or k < 5 else 1.0]
        stats["mean"] = mean.tolist()
        stats["root"] = np.median(rep._root(j), 0).tolist()   # where the dancer usually stands (source pixels)
        extra = store.manifest.extra.get("body", {}) if isinstance(store.manifest.extra, dict) else {}
        stats["figure"].update(hair=str(extra.get("hair", "short")), skirt=bool(extra.get("skirt", False)))
        rep = cls(stats)
        stats["figure"]["thick"] = rep._fit_thickness(store, j)
        return cls(stats)

    def _fit_thickness(self, store: FrameStore, j: np.ndarray) -> float:
        """Thickness at which the body drawn at the real poses covers what the real silhouettes cover."""
        seen = (j[..., 2] > 0).any(1)
        idx = np.flatnonzero(seen)
        if not len(idx):
            return 1.0
        idx = idx[np.linspace(0, len(idx) - 1, min(FIT_FRAMES, len(idx))).round().astype(int)]
        real_ink = float(store.ink(idx).mean())
        joints = self.joints(self.latents(j[idx]))
        thick = 1.0
        for _ in range(3):   # ink grows about linearly with thickness
            fig = Figure(**{**self.figure.to_dict(), "source": self.source, "thick": thick})
            drawn = 1.0 - draw_figure(joints, fig, self.source).astype(np.float32).mean() / 255.0
            if drawn <= 0:
                return 1.0
            thick = float(np.clip(thick * real_ink / drawn, 0.5, 2.0))
        return round(thick, 4)

    def save(self, run_dir: str | os.PathLike) -> Path:
        return write_json(Path(run_dir) / POSE_FILE, self.stats)

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> "Poses":
        path = Path(run_dir) / POSE_FILE
        stats = read_json(path)
        if not isinstance(stats, dict) or stats.get("format") != FORMAT:
            raise UserError(f"{path} is not a deepdance pose representation")
        if stats.get("joints") != list(JOINTS):
            raise UserError(f"{path}: joints {stats.get('joints')} are not this version's")
        look, default = None, "body"
        if (Path(run_dir) / "look.safetensors").is_file():
            look, default = load_model(run_dir, "look"), model_meta(run_dir, "look").get("default", "body")
        try:
            return cls(stats, look=look, look_default="learned" if default == "learned" else "body")
        except (KeyError, TypeError, ValueError) as e:
            raise UserError(f"{path}: malformed ({e})") from None

    def use_look(self, look: str) -> None:
        """Draw "learned" (the dancer's look) or "body" (the fitted body) from now on."""
        if look == "learned" and self.look_net is None:
            raise UserError("this run has no learned look (it was trained with --look-steps 0); use --look body")
        self.look = look

    # --- poses <-> latents -----------------------------------------------------------------------------
    def _root(self, j: np.ndarray) -> np.ndarray:
        """The root (N, 2) in source pixels: mid-hip, else mid-shoulder + offset, else over time."""
        hip, sh = j[:, _HIPS, :2].mean(1), j[:, _SHOULDERS, :2].mean(1)
        root = np.where(np.isfinite(hip).all(-1, keepdims=True), hip, sh + self.root_offset * self.scale)
        ok = np.isfinite(root).all(-1)
        if not ok.any():
            return np.tile(np.array(self.source, np.float64) / 2, (len(j), 1))
        return _fill_time(root, ok)

    def latents(self, joints2d: np.ndarray) -> np.ndarray:
        """Joints (N, 21, 3) in source pixels (NaN = unknown) -> latents (N, 65) float32."""
        j = np.asarray(joints2d, np.float64)
        root = self._root(j)
        rel = (j[..., :2] - root[:, None]) / self.scale
        known = np.isfinite(rel).all(-1)
        rel = np.where(known[..., None], rel, self.mean)
        seen = known & (np.nan_to_num(j[..., 2]) > 0)
        place = (root - np.array(self.source) / 2) / self.scale
        return np.concatenate([rel.reshape(len(j), -1), place, seen], 1).astype(np.float32)

    def joints(self, latents) -> np.ndarray:
        """Latents (N, 65) -> joints (N, 21, 3) float32 in source pixels: every position finite, confidence
        1 where seen, 0 where not."""
        z = np.asarray(latents, np.float64)
        rel = z[:, :2 * _NJ].reshape(len(z), _NJ, 2)
        root = z[:, 2 * _NJ:2 * _NJ + 2] * self.scale + np.array(self.source) / 2
        xy = root[:, None] + rel * self.scale
        seen = z[:, 2 * _NJ + 2:] > 0.5
        return np.concatenate([xy, seen[..., None]], -1).astype(np.float32)

    def plant_feet(self, latents: torch.Tensor, fps: float) -> torch.Tensor:
        """Latents (N, 65) at `fps` whose planted feet stay put: while a foot is planted (`skeleton.planted`) its
        sideways slide is taken off the whole body's place; once none is, the place eases back to the dance's
        own (PLANT_EASE_S). Joints of a dance jump where its steps do, and a foot on the floor slid with them.
        The place never leaves the span of places the dance itself took: a dancer with a foot always down
        (salsa) would otherwise add up every jump's slide and walk out of the picture."""
        z = latents.numpy().astype(np.float64)
        j = self.joints(z)
        on = planted(j, fps, self.scale)
        if on is None or not on.any():
            return latents
        x = j[:, list(FEET), 0].astype(np.float64)
        vx = np.diff(x, axis=0, prepend=x[:1])
        slide = (vx * on).sum(1) / np.maximum(on.sum(1), 1)
        place = z[:, 2 * _NJ] * self.scale
        low, high = place.min() - place, place.max() - place
        keep, acc, offset = float(np.exp(-1.0 / (PLANT_EASE_S * fps))), 0.0, np.zeros(len(z))
        for t in range(len(z)):
            acc = acc - slide[t] if on[t].any() else acc * keep
            acc = offset[t] = min(max(acc, low[t]), high[t])
        z = z.copy()
        z[:, 2 * _NJ] += offset / self.scale
        return torch.from_numpy(z.astype(np.float32))

    def retarget(self, joints2d: np.ndarray) -> np.ndarray:
        """Another dancer's joints (N, 21, 3), in any picture, as this dancer's latents: scaled to this
        dancer's torso length and moved so that its median root stands where this dancer usually stood."""
        j = np.asarray(joints2d, np.float64).copy()
        torso = torso_length(j)
        ok = np.isfinite(torso) & (torso > 0)
        if not ok.any():
            raise UserError("the motion never shows both shoulders and hips; cannot size it to the dancer")
        root = self._root(j)
        home = np.asarray(self.stats.get("root", np.array(self.source, np.float64) / 2), np.float64)
        j[..., :2] = (j[..., :2] - np.median(root, 0)) * (self.scale / float(np.median(torso[ok]))) + home
        return self.latents(j)

    # --- the representation seam -----------------------------------------------------------------------
    def encode(self, store: FrameStore, *, batch_size: int = 256) -> np.ndarray:
        joints = store.poses()
        if joints is None:
            raise UserError(f"{store.path} has no poses to encode")
        return self.latents(np.asarray(joints))

    def decode(self, latents, *, batch_size: int = 256) -> Iterator[np.ndarray]:
        z = np.asarray(latents, np.float32)
        for i in range(0, len(z), batch_size):
            joints = self.joints(z[i:i + batch_size])
            if self.look == "learned":
                yield draw_look(self.look_net, joints, self.figure, self.size)
            else:
                yield draw_figure(joints, self.figure, self.size)

    def project(self, latents: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
        """The seen flags snapped to 0 or 1 (a code's centre averages them); positions as they are."""
        out = latents.clone()
        out[:, 2 * _NJ + 2:] = (out[:, 2 * _NJ + 2:] > 0.5).to(out.dtype)
        return out
