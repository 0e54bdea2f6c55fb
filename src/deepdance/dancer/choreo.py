"""Moves and the seeded, beat-timed choreography built from them.

Time is counted in beats. The dance is cut into phrases of 32 beats (8 bars of 4); each phrase is a
shuffle of moves 4 or 8 beats long, drawn from its own seeded generator, so the plan of any phrase is
known without computing the ones before it. A pose is then a pure function of the frame index and
that plan: any frame range renders on its own, and chunks of any size give identical results.

Moves are written for one side (the right leads, travel goes to the dancer's right, -x) and mirrored.
They return pose parameters (see `kinematics.PARAMS`); `forward_kinematics` turns them into (J, 3)
poses in the convention of `body.py`.

The move library and the plan share this file (~450 lines): the plan draws on the moves' lengths and
travel, and a move is read beside the segment that times it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .body import Body
from .kinematics import NEUTRAL_VEC, PARAMS, P, forward_kinematics

BEATS_PER_BAR = 4
BEATS_PER_PHRASE = 32
BPM_RANGE = (90, 140)
BLEND_BEATS = 0.75   # eased cross-fade from one move into the next

_LATERAL = [P[k] for k in ("px", "yaw", "roll", "chest_roll", "chest_yaw", "head_roll")]
_SWAP = np.array([P[("r_" + k[2:]) if k.startswith("l_") else ("l_" + k[2:]) if k.startswith("r_") else k]
                  for k in PARAMS])
# hands resting on the hips: elbows out and a little back, forearms down and inward
HANDS_ON_HIPS = dict(el=0.85, az=-0.35, fel=0.8, faz=np.pi - 0.25)


def tempo_from_seed(seed: int) -> float:
    """The seed's tempo: a whole number of beats per minute in BPM_RANGE."""
    rng = np.random.default_rng([0x7E3F0, seed % 2**63])
    return float(rng.integers(BPM_RANGE[0], BPM_RANGE[1] + 1))


@dataclass(frozen=True)
class Segment:
    """One move in the plan: from beat `beat` for `beats` beats, travelling from stage x0 to x1."""

    move: str
    beat: int
    beats: int
    mirror: bool = False
    amp: float = 1.0
    style: int = 0
    x0: float = 0.0
    x1: float = 0.0

    @property
    def dx(self) -> float:
        return self.x1 - self.x0


# --- shaping helpers ---------------------------------------------------------------------------------
def _ease(u):
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _bump(x, centre, half_width):
    """1 at `centre`, easing to 0 at +-half_width."""
    u = np.clip(np.abs(x - centre) / half_width, 0.0, 1.0)
    return 0.5 + 0.5 * np.cos(np.pi * u)


def _bounce(b, depth):
    """Knees give on every beat: lowest on the beat."""
    return -depth * (0.5 + 0.5 * np.cos(2 * np.pi * b))


def keyframes(b, times, *, period: float | None = None, **tracks) -> dict[str, np.ndarray]:
    """Eased interpolation between keys at `times` (beats) for each named track.

    With a period the keys repeat (times run from 0 to period); a track whose last key differs from
    its first keeps the difference each period (feet that travel). Without one, b is clamped.
    """
    t = np.asarray(times, np.float64)
    b = np.asarray(b, np.float64)
    if period is None:
        cyc = np.zeros_like(b)
        x = np.clip(b, t[0], t[-1])
    else:
        cyc = np.floor(b / period)
        x = b - cyc * period
    i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, len(t) - 2)
    u = 0.5 - 0.5 * np.cos(np.pi * np.clip((x - t[i]) / (t[i + 1] - t[i]), 0.0, 1.0))
    out = {}
    for name, values in tracks.items():
        v = np.asarray(values, np.float64)
        out[name] = v[i] + (v[i + 1] - v[i]) * u + cyc * (v[-1] - v[0])
    return out


def _arm(side: str, el, az, fel=None, faz=None) -> dict:
    return {f"{side}_el": el, f"{side}_az": az,
            f"{side}_fel": el if fel is None else fel, f"{side}_faz": az if faz is None else faz}


def _hands_on_hips(side: str) -> dict:
    return {f"{side}_{k}": v for k, v in HANDS_ON_HIPS.items()}


# --- the moves: (local beats, segment) -> parameters ---------------------------------------------------
def step_touch(b, seg):
    a = seg.amp
    c = b % 4
    feet = keyframes(b, [0, 1, 2, 3, 4], period=4, l_fx=[0.045, -0.035, 0.045, 0.045, 0.045],
                     r_fx=[0.045, 0.045, 0.045, -0.035, 0.045])
    lift = 0.03 * a * np.abs(np.sin(np.pi * c))
    px = -0.055 * a * np.sin(np.pi * b / 2)
    out = dict(feet, px=px, py=_bounce(b, 0.03 * a), roll=1.4 * px, chest_roll=0.5 * px,
               head_roll=-0.8 * px, l_fy=np.where(c < 2, lift, 0.0), r_fy=np.where(c >= 2, lift, 0.0),
               l_fp=0.6 * _bump(c, 1, 0.5), r_fp=0.6 * _bump(c, 3, 0.5))
    o = 0.5 + 0.5 * np.cos(np.pi * b)  # 1 on the steps, 0 on the touches
    if seg.style % 2 == 0:   # arms open on the step, cross low in front on the touch
        el, az = 0.35 + 0.7 * o * a, 1.9 * (1 - o)
        arms = {**_arm("l", el, az, el + 0.35, az + 0.4), **_arm("r", el, az, el + 0.35, az + 0.4)}
    else:                    # clap above the head on the touch
        el, az = 0.9 + 1.75 * (1 - o) * a, 0.2 + 0.5 * (1 - o)
        fel, faz = 1.2 + 1.3 * (1 - o), 0.6 + 1.9 * (1 - o)
        arms = {**_arm("l", el, az, fel, faz), **_arm("r", el, az, fel, faz)}
    return {**out, **arms}


def arm_wave(b, seg):
    """A wave that rolls from the right fingertips over the shoulders to the left fingertips."""
    a = seg.amp
    w = np.pi * b
    base = np.pi / 2 if seg.style % 2 == 0 else 2.0   # level or raised in a V
    out = dict(py=_bounce(b, 0.025 * a), px=0.03 * np.sin(np.pi * b / 2),
               chest_roll=0.09 * a * np.sin(w - 1.8), head_roll=0.08 * a * np.sin(w - 2.0))
    out.update(_arm("r", base + 0.3 * a * np.sin(w - 0.9), 0.0, base + 0.6 * a * np.sin(w), 0.0))
    out.update(_arm("l", base + 0.3 * a * np.sin(w - 2.7), 0.0, base + 0.6 * a * np.sin(w - 3.6), 0.0))
    return out


def kick(b, seg):
    """Kicks right then left, toes pointed, body turned so that the kicks show beside the body."""
    a = seg.amp
    c = b % 4
    kr, kl = _bump(c, 1, 0.75), _bump(c, 3, 0.75)
    out = dict(yaw=0.95, py=-0.035 + 0.03 * (kr + kl), pitch=0.02 - 0.15 * (kr + kl),
               r_fz=0.5 * a * kr, r_fy=0.38 * a * kr, r_fp=-0.1 * kr, r_fx=-0.02 * kr,
               l_fz=0.5 * a * kl, l_fy=0.38 * a * kl, l_fp=-0.1 * kl, l_fx=-0.02 * kl)
    if seg.style % 2 == 0:   # arms out for balance, the arm opposite the kick swinging forward
        out.update(_arm("l", 1.3, 0.25 + 0.9 * kr, 1.5, 0.55 + 0.9 * kr))
        out.update(_arm("r", 1.3, 0.25 + 0.9 * kl, 1.5, 0.55 + 0.9 * kl))
    else:
        out.update({**_hands_on_hips("l"), **_hands_on_hips("r")})
    return out


def hip_sway(b, seg):
    a = seg.amp
    s = np.cos(np.pi * b)    # hips to the left on even beats, to the right on odd ones
    out = dict(px=0.07 * a * s, roll=0.2 * a * s, chest_roll=0.08 * a * s, head_roll=-0.06 * s,
               py=-0.02 - 0.015 * np.abs(s), l_fx=0.03, r_fx=0.03,
               r_fp=0.45 * np.maximum(s, 0), r_fy=0.012 * np.maximum(s, 0),
               l_fp=0.45 * np.maximum(-s, 0), l_fy=0.012 * np.maximum(-s, 0))
    if seg.style % 2 == 0:
        out.update({**_hands_on_hips("l"), **_hands_on_hips("r")})
    else:                    # arms overhead, swaying against the hips
        el = 2.65 - 0.15 * s
        out.update(_arm("l", el + 0.1 * s, 0.3, 2.9, np.pi - 0.6))
        out.update(_arm("r", el - 0.1 * s, 0.3, 2.9, np.pi - 0.6))
    return out


def arm_pump(b, seg):
    """Fists punched up from a goal-post position: alternating, both, or one arm."""
    a = seg.amp
    style = seg.style % 3
    if style == 0:
        pr, pl = (0.5 + 0.5 * np.cos(np.pi * b)) ** 2, (0.5 - 0.5 * np.cos(np.pi * b)) ** 2
    else:
        pr = pl = (0.5 + 0.5 * np.cos(2 * np.pi * b)) ** 2
    out = dict(py=_bounce(b, 0.04 * a), head_pitch=0.12 * (0.5 + 0.5 * np.cos(2 * np.pi * b)),
               l_fp=0.3 * pr, r_fp=0.3 * pl, chest_roll=0.05 * (pl - pr))
    for side, p in (("r", pr), ("l", pl)):
        if side == "l" and style == 2:
            out.update(_hands_on_hips("l"))
            continue
        out.update(_arm(side, 1.35 + 1.45 * a * p, 0.5 - 0.4 * p, 2.5 + 0.35 * p, 0.5 - 0.4 * p))
    return out


def squat_jump(b, seg):
    """Sink into a squat with arms forward, swing them back, jump with arms up, land."""
    a = seg.amp
    k = keyframes(b, [0, 1, 1.6, 2.05, 2.5, 3.0, 4], period=4,
                  py=[-0.01, -0.16 * a, -0.18 * a, 0.08, 0.12, -0.09, -0.01],
                  fy=[0, 0, 0, 0.07, 0.11, 0, 0], fp=[0, 0, 0, 0.6, 0.5, 0, 0],
                  fx=[0, 0.035, 0.035, 0, -0.01, 0.03, 0],
                  pitch=[0.02, 0.35, 0.4, 0.0, -0.05, 0.2, 0.02],
                  head_pitch=[0, 0.1, 0.2, -0.2, -0.25, 0.1, 0],
                  el=[0.12, 1.45, 0.5, 2.8, 2.9, 1.2, 0.12], az=[0.5, 1.4, -1.0, 0.3, 0.2, 0.4, 0.5],
                  fel=[0.3, 1.5, 0.5, 2.9, 2.95, 1.4, 0.3], faz=[1.3, 1.4, -1.0, 0.3, 0.2, 0.6, 1.3])
    out = dict(py=k["py"], pitch=k["pitch"], head_pitch=k["head_pitch"])
    for side in "lr":
        out.update({f"{side}_fy": k["fy"], f"{side}_fp": k["fp"], f"{side}_fx": k["fx"]})
        out.update(_arm(side, k["el"], k["az"], k["fel"], k["faz"]))
    return out


def turn(b, seg):
    """A full turn on one foot, the other drawn up to the knee, arms hugged in, then opened wide."""
    spin = _ease((b - 0.75) / 2.25)
    k = keyframes(b, [0, 0.75, 1.2, 2.6, 3.2, 4],
                  py=[-0.01, -0.07, 0.0, 0.0, -0.05, -0.01],
                  el=[0.12, 1.3, 0.55, 0.55, 2.3, 1.6], az=[0.5, 0.3, 1.4, 1.4, 0.2, 0.3],
                  fel=[0.3, 1.45, 1.6, 1.6, 2.5, 1.8], faz=[1.3, 0.4, 2.7, 2.7, 0.2, 0.4],
                  lift=[0, 0, 1, 1, 0, 0], head_pitch=[0, 0.1, -0.05, -0.05, -0.15, 0])
    lift = k["lift"] * seg.amp
    out = dict(yaw=2 * np.pi * spin, x=spin, py=k["py"], head_pitch=k["head_pitch"],
               r_fy=0.16 * lift, r_fx=-0.05 * lift, r_fz=0.04 * lift, l_fp=0.35 * lift, l_fx=-0.02 * lift)
    for side in "lr":
        out.update(_arm(side, k["el"], k["az"], k["fel"], k["faz"]))
    return out


def point(b, seg):
    """The disco point: up and out on one beat, down across the body on the next, other hand on the hip."""
    a = seg.amp
    u = _ease(0.5 - 0.5 * np.cos(np.pi * b))  # 0 pointing up, 1 pointing down
    out = dict(px=0.045 * a * (1 - 2 * u), roll=0.07 * a * (1 - 2 * u), py=-0.015 - 0.045 * a * u,
               r_fx=0.05 * (1 - u), r_fp=0.4 * (1 - u), chest_yaw=-0.15 * u,
               head_pitch=-0.2 * (1 - u) + 0.25 * u, head_roll=0.1 * (1 - u))
    el = 2.55 - 1.95 * u
    az = 0.1 + (np.pi - 0.6) * u
    out.update(_arm("r", el, az, el + 0.05, az))
    out.update(_hands_on_hips("l"))
    return out


def jumping_jack(b, seg):
    a = seg.amp
    o = _ease(0.5 + 0.5 * np.cos(np.pi * b))   # 1 out (X shape) on even beats, 0 in on odd ones
    hop = np.abs(np.sin(np.pi * b))            # in the air between beats
    out = dict(py=0.05 * a * hop - 0.035 * (1 - hop) ** 2, pitch=0.0)
    el = 0.15 + 2.3 * o
    for side in "lr":
        out.update({f"{side}_fx": -0.03 + 0.16 * a * o, f"{side}_fy": 0.045 * a * hop, f"{side}_fp": 0.5 * hop})
        out.update(_arm(side, el, 0.15, el + 0.1, 0.15))
    return out


def grapevine(b, seg):
    """Side step, cross behind, side step, touch: the feet stay planted while the body travels."""
    s = abs(seg.dx) * BEATS_PER_BAR / max(seg.beats, BEATS_PER_BAR)  # travel per 4 beats
    cross = 0.5 * s + 0.14                                             # left foot lands past the right
    f = keyframes(b, [0, 0.6, 1.0, 1.6, 2.0, 2.6, 3.0, 3.6, 4.0], period=4,
                  r=[0, 0, -0.5 * s, -0.5 * s, -0.5 * s, -0.5 * s, -s, -s, -s],
                  l=[0, 0, 0, 0, -cross, -cross, -cross, -cross, -s],
                  lz=[0, 0, 0, 0, -0.08, -0.08, -0.08, -0.08, 0])
    c = b % 4
    r_lift = _bump(c, 0.8, 0.2) + _bump(c, 2.8, 0.2)
    l_lift = _bump(c, 1.8, 0.2) + _bump(c, 3.8, 0.2)
    mid = (f["r"] + f["l"]) / 2                 # the hips stay between the feet
    arms = keyframes(b, [0, 1, 2, 3, 4], period=4, el=[2.5, 1.0, 0.7, 1.0, 2.5], az=[1.2, 0.1, 0.6, 0.1, 1.2],
                     fel=[2.7, 1.4, 0.9, 1.4, 2.7], faz=[2.6, 0.5, 1.2, 0.5, 2.6])
    out = dict(x=-mid / abs(seg.dx) if seg.dx else np.zeros_like(b), py=_bounce(b, 0.03 * seg.amp),
               r_fx=mid - f["r"], l_fx=f["l"] - mid, l_fz=f["lz"], chest_yaw=-0.12,
               r_fy=0.04 * r_lift, l_fy=0.04 * l_lift, r_fp=0.3 * r_lift, l_fp=0.3 * l_lift)
    for side in "lr":
        out.update(_arm(side, arms["el"], arms["az"], arms["fel"], arms["faz"]))
    return out


def idle(b, seg):
    return dict(py=_bounce(b, 0.02))


@dataclass(frozen=True)
class Move:
    fn: Callable
    lengths: tuple[int, ...]   # allowed lengths in beats
    travel: float = 0.0        # share of a phrase's travel this move can carry, per 4 beats


MOVES: dict[str, Move] = {
    "step_touch": Move(step_touch, (4, 8)),
    "arm_wave": Move(arm_wave, (4, 8)),
    "kick": Move(kick, (4, 8)),
    "hip_sway": Move(hip_sway, (4, 8)),
    "arm_pump": Move(arm_pump, (4, 8)),
    "squat_jump": Move(squat_jump, (4, 8)),
    "turn": Move(turn, (4,), travel=1.0),
    "point": Move(point, (4, 8)),
    "jumping_jack": Move(jumping_jack, (4, 8)),
    "grapevine": Move(grapevine, (4, 8), travel=1.0),
}
_IDLE = Move(idle, (4,))
_FREE = [m for m in MOVES if MOVES[m].travel == 0]


# --- the plan -----------------------------------------------------------------------------------------
class Choreography:
    """The dance of one seed: tempo, plan and poses for any frame range.

    `travel` is how far (body units) the dancer may wander from centre stage; see `Camera.travel`.
    """

    def __init__(self, seed: int, *, bpm: float | None = None, fps: float = 12.0,
                 body: Body | None = None, travel: float = 0.75):
        self.seed = int(seed)
        self.bpm = float(bpm) if bpm is not None else tempo_from_seed(self.seed)
        self.fps = float(fps)
        self.body = body if body is not None else Body.from_seed(self.seed)
        self.travel = min(float(travel), 1.0)   # wider stages do not make the steps longer
        rng = np.random.default_rng([0x57A6E, self.seed % 2**63])
        self._route = rng.uniform(0, 2 * np.pi), rng.uniform(0.9, 1.6)
        self._energy = rng.uniform(0.9, 1.1)
        self._raw: dict[int, list[tuple[str, int]]] = {}
        self._plan: dict[int, tuple[Segment, ...]] = {}
        # slow wobble on a few joints: (param, amplitude, freqs Hz, phases) so no two bars look identical
        self._wobble = [(P[name], amp, rng.uniform(0.05, 0.4, 3), rng.uniform(0, 2 * np.pi, 3))
                        for name, amp in (("head_roll", 0.05), ("head_pitch", 0.04), ("chest_yaw", 0.06),
                                          ("px", 0.008), ("pitch", 0.02), ("l_el", 0.07), ("r_el", 0.07),
                                          ("l_faz", 0.15), ("r_faz", 0.15))]

    # --- time ---
    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.bpm

    def beat_times(self, seconds: float) -> np.ndarray:
        """Times (s) of the beats in [0, seconds); beat 0 is at 0 s and every 4th beat starts a bar."""
        return np.arange(int(np.ceil(seconds / self.beat_seconds - 1e-9))) * self.beat_seconds

    def beats_at(self, start: int, stop: int) -> np.ndarray:
        """The beat position (float) of each frame in [start, stop)."""
        return np.arange(start, stop, dtype=np.float64) / self.fps * (self.bpm / 60.0)

    # --- plan ---
    def _stage_x(self, phrase: int) -> float:
        """Where the dancer stands when phrase `phrase` begins (centre stage at the start)."""
        if phrase == 0:
            return 0.0
        a, step = self._route
        jitter = np.random.default_rng([0x57A6F, self.seed % 2**63, phrase]).uniform(-1, 1)
        return self.travel * float(0.8 * np.sin(a + phrase * step) + 0.2 * jitter)

    def _raw_phrase(self, phrase: int) -> list[tuple[str, int]]:
        if phrase in self._raw:
            return self._raw[phrase]
        rng = np.random.default_rng([0xC0E06, self.seed % 2**63, phrase])
        vine = int(rng.choice([4, 8], p=[0.3, 0.7]))
        rest = BEATS_PER_PHRASE - 4 - vine
        lengths = []
        while sum(lengths) < rest:
            lengths.append(8 if rest - sum(lengths) >= 8 and rng.random() < 0.5 else 4)
        others = rng.permutation(_FREE)[:len(lengths)]
        items = [("turn", 4), ("grapevine", vine)] + [(str(m), n) for m, n in zip(others, lengths)]
        self._raw[phrase] = [items[i] for i in rng.permutation(len(items))]
        return self._raw[phrase]

    def phrase(self, phrase: int) -> tuple[Segment, ...]:
        """The segments of one phrase (32 beats starting at beat 32 * phrase)."""
        if phrase in self._plan:
            return self._plan[phrase]
        items = list(self._raw_phrase(phrase))
        if phrase > 0 and items[0][0] == self._raw_phrase(phrase - 1)[-1][0]:
            items[0], items[1] = items[1], items[0]   # never the same move twice in a row
        rng = np.random.default_rng([0x5E6, self.seed % 2**63, phrase])
        x0, x1 = self._stage_x(phrase), self._stage_x(phrase + 1)
        weights = np.array([MOVES[m].travel * n / 4 for m, n in items])
        moved = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
        segs, beat = [], phrase * BEATS_PER_PHRASE
        for i, (move, beats) in enumerate(items):
            a, b = x0 + (x1 - x0) * moved[i], x0 + (x1 - x0) * moved[i + 1]
            mirror = bool(rng.random() < 0.5)
            if move == "grapevine":
                mirror = b > a   # it always leads with the foot on the side it travels to
            segs.append(Segment(move, beat, beats, mirror, float(rng.uniform(0.85, 1.15) * self._energy),
                                int(rng.integers(0, 6)), float(a), float(b)))
            beat += beats
        if len(self._plan) > 256:   # a long render only ever looks at a few phrases at a time
            self._plan.clear()
            self._raw.clear()
        self._plan[phrase] = tuple(segs)
        return self._plan[phrase]

    def segment_at(self, beat: float) -> Segment:
        p = int(np.floor(beat / BEATS_PER_PHRASE))
        segs = self.phrase(p)
        i = int(np.searchsorted([s.beat for s in segs], beat, side="right")) - 1
        return segs[i]

    def _previous(self, seg: Segment) -> Segment:
        if seg.beat == 0:
            return Segment("idle", -4, 4)
        return self.segment_at(seg.beat - 1)

    def segments(self, start_beat: float, stop_beat: float) -> list[Segment]:
        """The plan between two beat positions."""
        out, beat = [], max(0.0, start_beat)
        while beat < stop_beat:
            seg = self.segment_at(beat)
            out.append(seg)
            beat = seg.beat + seg.beats
        return out

    # --- poses ---
    @staticmethod
    def _evaluate(seg: Segment, local: np.ndarray) -> np.ndarray:
        move = MOVES.get(seg.move, _IDLE)
        vals = np.tile(NEUTRAL_VEC, (len(local), 1))
        for k, v in move.fn(local, seg).items():
            vals[:, P[k]] = v
        if seg.mirror:
            vals = vals[:, _SWAP]
            vals[:, _LATERAL] *= -1
        # the move's `x` is its progress along the segment's path on stage
        vals[:, P["x"]] = seg.x0 + seg.dx * np.clip(vals[:, P["x"]], 0.0, 1.0)
        return vals

    def params(self, start: int, stop: int) -> np.ndarray:
        """Move parameters (n, len(PARAMS)) of the frames [start, stop)."""
        beats = self.beats_at(start, stop)
        out = np.empty((len(beats), len(PARAMS)))
        if not len(beats):
            return out
        segs = self.segments(beats[0], beats[-1] + 1e-9)
        starts = np.array([s.beat for s in segs], np.float64)
        which = np.searchsorted(starts, beats, side="right") - 1
        for k, seg in enumerate(segs):
            idx = np.nonzero(which == k)[0]
            if not len(idx):
                continue
            b = beats[idx]
            vals = self._evaluate(seg, b - seg.beat)
            fresh = (b - seg.beat) < BLEND_BEATS
            if fresh.any():   # ease out of the previous move, which keeps going meanwhile
                prev = self._previous(seg)
                old = self._evaluate(prev, b[fresh] - prev.beat)
                w = _ease((b[fresh] - seg.beat) / BLEND_BEATS)[:, None]
                new = vals[fresh]
                mixed = old + (new - old) * w
                yaw = P["yaw"]   # turn the short way round: a finished turn is the same as no turn
                d = np.mod(new[:, yaw] - old[:, yaw] + np.pi, 2 * np.pi) - np.pi
                mixed[:, yaw] = old[:, yaw] + d * w[:, 0]
                vals[fresh] = mixed
            out[idx] = vals
        t = np.arange(start, stop, dtype=np.float64) / self.fps
        for i, amp, freqs, phases in self._wobble:
            out[:, i] += amp / 3 * np.sin(2 * np.pi * freqs[None, :] * t[:, None] + phases[None, :]).sum(1)
        return out

    def poses(self, start: int, stop: int) -> np.ndarray:
        """Poses (n, J, 3) of the frames [start, stop)."""
        return forward_kinematics(self.params(start, stop), self.body)
