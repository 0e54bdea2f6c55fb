"""A verdict in words: which checks a dance passed against the real dancer's yardsticks, and for each
failure the likely cause and what to try.

The figures and bars come from `metrics` (`quality_report` + `bar_checks` for `evaluate`,
`generation_report` + `generation_checks` for `generate`); the facts of the run (how much footage, which
representation, how well it learnt the frames) choose the advice, so a clip of 11 seconds is told that it
is short, not to train longer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

# The pixel autoencoder learnt the built-in dancer well from 2,592 frames (held-out IoU 0.92) and a 836-frame
# real clip only into blobs (0.75): below this it is told the footage is too short for pixels.
PIXEL_FRAMES_NEEDED = 2000
GOOD_IOU = 0.85  # held-out IoU of a representation that draws the dancer's outline

# figure -> what a failure means, in words
FAILED = {
    "sharpness": "the frames are blurred: the dancer's outline was not learnt",
    "fragments": "the dancer falls apart into separate pieces",
    "flicker": "the drawn outline boils from frame to frame more than her silhouettes change",
    "freeze": "the dance stands still more often than the dancer did",
    "freeze_frames": "the dance pauses, frame by frame, more often than the dancer did",
    "human_found": "a pose estimator finds no person in many of the frames",
    "collapse": "the dance slows down into one pose",
    "fsd": "the shapes are not the dancer's",
    "repetition": "the dance repeats itself in a loop",
    "novelty": "the dance copies the training footage instead of making new moves",
    "diversity": "dances from different seeds are too alike",
    "bas": "the dance does not move on the beat as the dancer did",
    "bas_control": "the dance is no closer to its own beat than to a beat at another tempo",
    "area_in_range": "the dancer's size jumps outside what the footage shows",
}
for _bpm in (100, 130):
    FAILED[f"period_{_bpm}bpm"] = f"to a {_bpm} BPM drum beat the dance does not move with the beat"


@dataclasses.dataclass
class Facts:
    """What the advice depends on: the data and how training went (None where unknown)."""
    frames: int | None = None           # real frames the run learnt from
    fps: float | None = None
    representation: str = "pixels"
    recipe: str = "default"
    val_iou: float | None = None        # held-out IoU of the representation (pixels)
    seq_epochs: int | None = None
    music: bool = False
    look: str | None = None             # how a run of poses draws: "learned" or "body"

    @classmethod
    def of_run(cls, metrics: dict[str, Any], config: dict[str, Any]) -> "Facts":
        data, ae, train = metrics.get("data", {}), metrics.get("ae", {}), config.get("train", {})
        return cls(frames=data.get("frames"), fps=data.get("fps"), recipe=train.get("recipe", "default"),
                   val_iou=ae.get("val_iou"), seq_epochs=metrics.get("seq", {}).get("epochs"),
                   music=bool(metrics.get("seq", {}).get("music")),
                   representation=str(metrics.get("train", {}).get("represent", "pixels")),
                   look=config.get("generate", {}).get("look") or metrics.get("look", {}).get("default"))

    @property
    def seconds(self) -> float | None:
        return self.frames / self.fps if self.frames and self.fps else None


def _short_for_pixels(f: Facts) -> bool:
    return f.representation == "pixels" and f.frames is not None and f.frames < PIXEL_FRAMES_NEEDED


def _footage(f: Facts) -> str:
    length = f"{f.seconds:.0f} s, " if f.seconds else ""
    return f"the footage is short ({length}{f.frames} frames) and the pixel autoencoder needs thousands of " \
           f"frames of one dancer"


def advice(name: str, f: Facts, figures: dict[str, Any] | None = None) -> str:
    """The likely cause of a failed check and what to try (`figures`: the report's, where known)."""
    figures = figures or {}
    outline = name in ("sharpness", "fsd", "fragments", "area_in_range")
    if outline and f.representation == "pose":
        return "the dancer is drawn from the poses: look at the store's preview (the skeleton over the cut) " \
               "for missing or jumping joints, and try --represent pixels to compare"
    if outline and _short_for_pixels(f):
        return f"{_footage(f)}; try more footage (several clips of the same dancer) or more --ae-epochs"
    if outline and f.val_iou is not None and f.val_iou < GOOD_IOU:
        return f"the autoencoder reached only {f.val_iou:.2f} held-out IoU; try more --ae-epochs or more footage"
    if name == "fragments":
        return "the silhouettes themselves may be in pieces: look at the store's preview.png and try another --cut"
    if outline:
        return "try more --ae-epochs, or check the cut in the store's preview.png"
    if name == "flicker" and f.look == "body":
        return "the body is drawn at her poses, so they shake: look at the store's preview.mp4 (the skeleton " \
               "over the cut) for jumping joints, or film her larger in the picture"
    if name == "flicker":
        return "try --look body (the fitted body's outline does not boil), or more --look-steps"
    if name == "human_found":
        return "the frames do not read as a person: " + (
            "try --represent pose (the data has poses)" if f.representation == "pixels" else
            "check the pose track of the footage (deepdance pose)")
    if name in ("freeze", "freeze_frames", "collapse"):
        return "try a higher --temperature (e.g. 1.0) or more --seq-epochs" + \
            ("; the footage may be too short to learn varied moves" if _short_for_pixels(f) else "")
    if name in ("repetition", "diversity"):
        return "try a higher --temperature, or more footage with more varied moves"
    if name == "novelty":
        return "try a higher --temperature; with little footage the model can only replay it"
    real, control = figures.get("bas_real"), figures.get("bas_control_real")
    if name == "bas_control" and real is not None and control is not None and real < 1.3 * control:
        return f"the dancer herself is hardly closer to her own beat than to that tempo (bas {real:.2f} against " \
               f"{control:.2f}): the footage shows little beat to learn; try footage danced clearly on the beat"
    own = figures.get("period_real")
    if name.startswith("period") and own is not None and figures.get("period_real_follows_beat") is False:
        return f"the dancer's own motion repeats every {own:.2f} s, not with her song's beat nor a multiple of it: " \
               f"the footage shows no beat to follow; try footage danced clearly on the beat"
    if name.startswith(("bas", "period")):
        return "the song may have no clear beat (see the notes), or the footage too little music to learn from; " \
               "try more footage danced to music, or more --seq-epochs"
    return "try more footage or more epochs"


def _value(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


@dataclasses.dataclass
class Verdict:
    passed: list[str]
    failed: list[str]
    unknown: list[str]
    lines: list[str]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "passed": self.passed, "failed": self.failed, "unknown": self.unknown,
                "text": self.lines}


def verdict(figures: dict[str, Any], bars: dict[str, bool | None], facts: Facts, *,
            what: str = "the dance", unchecked: str = "") -> Verdict:
    """Lines a person reads: the count of checks passed, then each failure with its figure, its yardstick,
    the likely cause and what to try. `unchecked`: why nothing could be checked, when that is known."""
    passed = [k for k, v in bars.items() if v is True]
    failed = [k for k, v in bars.items() if v is False]
    unknown = [k for k, v in bars.items() if v is None]
    checked = len(passed) + len(failed)
    if not checked:
        return Verdict(passed, failed, unknown, [f"verdict: no check could be made on {what}"
                                                 + (f" ({unchecked})" if unchecked else "")])
    head = f"verdict: {what} passed {'all ' if not failed else ''}{len(passed)} of {checked} checks " \
           f"against the real dancer"
    lines = [head + ("." if not failed else f"; it failed {', '.join(failed)}.")]
    for name in failed:
        value, real = figures.get(name), figures.get(f"{name}_real")
        drawn = figures.get(f"{name}_drawn")
        drawn = f", her own poses drawn {_value(drawn)}" if drawn is not None else ""
        shown = f" ({name} {_value(value)}" + (f", the real dancer {_value(real)}{drawn})" if real is not None else ")") \
            if value is not None and not isinstance(value, bool) else ""
        lines.append(f"  - {FAILED.get(name, name)}{shown}: {advice(name, facts, figures)}")
    return Verdict(passed, failed, unknown, lines)
