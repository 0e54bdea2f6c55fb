"""The verdict in words: known figures give known sentences, and the advice follows the run's facts."""

from pathlib import Path

from deepdance import metrics as M
from deepdance.report import Column, render_html
from deepdance.verdict import Facts, verdict

GOOD = {"freeze": 0.06, "freeze_real": 0.04, "collapse": 1.2, "fsd": 4.0, "fsd_real": 3.9, "repetition": 0.1,
        "novelty": 0.6, "novelty_real": 0.5, "diversity": 0.6, "diversity_real": 0.8, "sharpness": 0.99,
        "fragments": 1.0}
LONG = Facts(frames=2880, fps=12, val_iou=0.92)
SHORT = Facts(frames=136, fps=12, val_iou=0.4)


def test_a_dance_that_meets_every_bar_says_so():
    said = verdict(GOOD, M.bar_checks(GOOD), LONG)
    assert said.ok and not said.failed
    assert said.lines == ["verdict: the dance passed all 8 of 8 checks against the real dancer."]


def test_blur_on_a_short_clip_blames_the_footage_not_the_epochs():
    figures = {**GOOD, "sharpness": 0.80, "fsd": 30.0}
    said = verdict(figures, M.bar_checks(figures), SHORT)
    assert not said.ok and said.failed == ["fsd", "sharpness"]
    assert said.lines[0] == "verdict: the dance passed 6 of 8 checks against the real dancer; it failed fsd, sharpness."
    blur = next(line for line in said.lines if "blurred" in line)
    assert "(sharpness 0.8)" in blur and "11 s, 136 frames" in blur and "thousands of frames" in blur
    # the same failure with plenty of footage but a poor autoencoder: train longer
    long_poor = verdict(figures, M.bar_checks(figures), Facts(frames=2880, fps=12, val_iou=0.7))
    assert "0.70 held-out IoU" in long_poor.lines[-1] and "thousands" not in long_poor.lines[-1]


def test_a_frozen_dance_is_told_to_sample_hotter_with_the_real_yardstick():
    figures = {**GOOD, "freeze": 0.4}
    said = verdict(figures, M.bar_checks(figures), LONG)
    assert said.failed == ["freeze"]
    assert "(freeze 0.4, the real dancer 0.04)" in said.lines[1] and "--temperature" in said.lines[1]


def test_nothing_to_check():
    said = verdict({}, M.bar_checks({}), Facts())
    assert said.lines == ["verdict: no check could be made on the dance"] and said.unknown


def test_generation_checks_and_the_report_shows_the_verdict_first():
    collapsing = {"fragments": 1.0, "motion_first_third": 0.05, "motion_last_third": 0.01, "area_in_range": 0.95}
    bars = M.bar_checks(collapsing, M.GENERATION_BARS)
    assert bars == {"fragments": True, "collapse": False, "area_in_range": True}
    said = verdict(collapsing, bars, LONG, what="the new dance")
    assert said.lines[0].startswith("verdict: the new dance passed 2 of 3 checks")
    page = render_html([Column("run", GOOD, verdict=said.lines)], Path("."), title="t")
    assert page.index("slows down into one pose") < page.index("<table>")


def test_a_pose_run_is_not_told_to_train_its_autoencoder():
    figures = {**GOOD, "fsd": 30.0}
    facts = Facts.of_run({"data": {"frames": 2880, "fps": 12}, "train": {"represent": "pose"}}, {})
    said = verdict(figures, M.bar_checks(figures), facts)
    assert facts.representation == "pose" and "--ae-epochs" not in said.lines[1] and "poses" in said.lines[1]


def test_a_dancer_off_her_own_beat_is_blamed_not_the_model():
    figures = {**GOOD, "bas": 0.40, "bas_real": 0.40, "bas_control": 0.38}
    bars = {"bas_control": M.BARS["bas_control"][1](figures)}
    plain = verdict(figures, bars, LONG)
    assert plain.failed == ["bas_control"] and "no clear beat" in plain.lines[1]
    # the real frames score 0.38 against the other tempo too: the footage has little beat to learn from
    said = verdict({**figures, "bas_control_real": 0.38}, bars, LONG)
    assert "(bas_control 0.38, the real dancer 0.38)" in said.lines[1]
    assert "the dancer herself is hardly closer to her own beat" in said.lines[1]
    # a dancer clearly on her beat: the usual advice
    assert "no clear beat" in verdict({**figures, "bas_control_real": 0.2}, bars, LONG).lines[1]


def test_a_dancer_who_does_not_move_with_her_song_is_told_so_for_the_drum_checks():
    figures = {**GOOD, "period_100bpm": 3.5, "period_100bpm_follows_beat": False, "period_real": 2.99}
    bars = {"period_100bpm": M.BARS["period_100bpm"][1](figures)}
    off = verdict({**figures, "period_real_follows_beat": False}, bars, LONG)
    assert off.failed == ["period_100bpm"] and "repeats every 2.99 s, not with her song's beat" in off.lines[1]
    # she moves with her song (her period a multiple of its beat): the usual advice
    on = verdict({**figures, "period_real_follows_beat": True}, bars, LONG)
    assert "no clear beat" in on.lines[1] and "repeats every" not in on.lines[1]


def test_a_boiling_outline_is_not_told_to_draw_the_body_where_it_already_does():
    figures = {**GOOD, "flicker": 0.26, "flicker_real": 0.17}
    for look, said_look, needle in (("body", None, "preview.mp4"), ("learned", None, "--look body"),
                                    ("learned", "body", "preview.mp4")):
        facts = Facts.of_run({"train": {"represent": "pose"}, "look": {"default": look}},
                             {"generate": {"look": said_look}})
        said = verdict(figures, M.bar_checks(figures), facts)
        assert said.failed == ["flicker"] and needle in said.lines[1], (look, said_look, said.lines)
