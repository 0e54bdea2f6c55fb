"""Each generation figure on hand-made frames with a known answer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepdance import metrics as M

from conftest import FPS, blob_frames, dancer

def test_sharpness_crisp_and_blurred():
    crisp = blob_frames(6)
    crisp = np.where(crisp < 128, 0, 255).astype(np.uint8)
    assert M.sharpness(crisp) == 1.0
    blurred = np.stack([cv2.GaussianBlur(f, (9, 9), 3) for f in crisp])
    assert M.sharpness(blurred) < 0.97
    assert M.sharpness(np.full((2, 8, 8), 128, np.uint8)) == 0.0


def test_fragments_counts_regions():
    one = blob_frames(3)
    two = one.copy()
    two[:, :, :8] = 0  # a second dark region at the left edge
    assert M.fragments(one) == 1.0
    assert M.fragments(two) == 2.0


def test_frozen_sequence_freezes_and_collapses():
    real = dancer(480)
    frozen = np.repeat(real[:1], 240, axis=0)
    assert M.freeze(frozen, real, FPS) == 1.0
    assert M.collapse(frozen) == 0.0
    # the real data's own freeze is low, and it keeps moving
    assert M.freeze(real, real, FPS) < 0.1
    assert M.collapse(real) > 0.8


def test_stopping_halfway_collapses():
    moving = dancer(240)
    stops = np.concatenate([moving[:120], np.repeat(moving[119:120], 120, axis=0)])
    assert M.collapse(stops) == 0.0
    assert M.freeze(stops, moving, FPS) == pytest.approx(0.5, abs=0.05)


def test_area_in_range_is_judged_within_her_areas_or_her_poses_drawn():
    def squares(sides):   # a black square of each side in a 20x20 white picture: area side^2 / 400
        frames = np.full((len(sides), 20, 20), 255, np.uint8)
        for f, side in zip(frames, sides):
            f[:side, :side] = 0
        return frames

    real = M.areas(squares([10, 11, 12] * 10))
    dance = squares([9, 10, 11, 12, 13] * 4)   # one frame in five smaller, one larger than any of hers
    assert M.area_in_range(dance, real) == pytest.approx(0.6)
    # her poses drawn reach one step smaller: the smaller frames are within what a drawing of her shows
    assert M.area_in_range(dance, real, M.areas(squares([9, 10, 11, 12] * 10))) == pytest.approx(0.8)
    assert M.generation_report(dance, squares([10, 11, 12] * 10))["area_in_range"] == pytest.approx(0.6)
    assert M.generation_report(dance, squares([10, 11, 12] * 10),
                               drawn=squares([9, 10, 11, 12, 13] * 10))["area_in_range"] == 1.0


def test_repetition_loop_and_random_walk():
    loop = dancer(600, seed=1, period=3.0)
    assert M.repetition(loop, FPS) > 0.95
    walk = dancer(600, seed=1)
    assert M.repetition(walk, FPS) < 0.5
    # a blob on a random walk drifts slowly: that is not a loop either
    rng = np.random.default_rng(0)
    xs = np.clip(40 + np.cumsum(rng.normal(0, 1.5, 600)), 10, 70).astype(int)
    drift = np.full((600, 48, 80), 255, np.uint8)
    for i, x in enumerate(xs):
        cv2.circle(drift[i], (int(x), 24), 8, 0, -1)
    assert M.repetition(drift, FPS) < 0.5
    assert M.repetition(loop[:30], FPS) is None  # shorter than two of the shortest lag


def test_repetition_works_at_any_fps():
    for fps in (6.0, 30.0):
        loop = dancer(int(50 * fps), seed=2, fps=fps, period=3.0)
        assert M.repetition(loop, fps) > 0.95
        assert M.repetition(dancer(int(50 * fps), seed=2, fps=fps), fps) < 0.5


def test_frechet_distance_identical_and_different():
    a = M.shape_descriptors(dancer(240, seed=0))
    assert M.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = np.roll(dancer(240, seed=0), 20, axis=2)  # same dance, moved sideways
    assert M.frechet_distance(M.shape_descriptors(shifted), a) > 1.0
    with pytest.raises(ValueError):
        M.frechet_distance(a[:1], a)


def test_shape_descriptors_of_an_empty_frame():
    d = M.shape_descriptors(np.full((2, 20, 30), 255, np.uint8))
    assert d.shape == (2, len(M.SHAPE_NAMES))
    assert d[0, 0] == 0.0 and d[0, 1] == 0.5


def test_motion_descriptors_still_and_moving():
    still = M.motion_descriptors(np.repeat(dancer(1), 60, axis=0), FPS)
    moving = M.motion_descriptors(dancer(60), FPS)
    assert still.shape[1] == moving.shape[1] == len(M.MOTION_NAMES)
    assert np.allclose(still, 0)
    assert moving[:, 0].min() > 0


def test_novelty_copy_is_zero_and_new_dance_is_not():
    train = dancer(360, seed=0)
    assert M.novelty(train[100:250], train, FPS) == pytest.approx(0.0, abs=1e-6)
    assert M.novelty(dancer(150, seed=5), train, FPS) > 0.3


def test_diversity_identical_is_zero():
    d = dancer(120, seed=3)
    assert M.diversity([d, d, d], FPS) == pytest.approx(0.0, abs=1e-6)
    assert M.diversity([d, dancer(120, seed=4)], FPS) > 0.3
    assert M.diversity([d], FPS) is None


def test_resample_keeps_time():
    frames = np.arange(25, dtype=np.uint8)[:, None, None]
    assert M.resample(frames, 24, 12)[:, 0, 0].tolist() == list(range(0, 25, 2))
    assert len(M.resample(frames, 12, 24)) == 49


@pytest.mark.parametrize("fps", [8.0, 25.0])
def test_quality_report_on_real_looking_data(fps):
    real = dancer(int(60 * fps), seed=0, fps=fps)
    train, heldout = real[: int(54 * fps)], real[int(54 * fps):]
    gens = [dancer(int(30 * fps), seed=s, fps=fps) for s in (7, 8)]
    r = M.quality_report(gens, train, heldout, fps)
    for key in ("fsd", "fkd", "freeze", "collapse", "repetition", "novelty", "diversity", "sharpness", "fragments"):
        assert r[key] is not None and np.isfinite(r[key]), key
        assert r[f"{key}_real"] is not None and np.isfinite(r[f"{key}_real"]), key
    assert r["freeze_real"] < 0.1
    assert r["fragments_real"] == pytest.approx(1.0)
    checks = M.bar_checks(r)
    assert set(checks) == set(M.BARS)
    assert checks["collapse"] and checks["fragments"]


def test_quality_report_copy_of_training_data():
    real = dancer(720, seed=0)
    train, heldout = real[:648], real[648:]
    r = M.quality_report([train[:300], train[300:600]], train, heldout, FPS)
    assert r["novelty"] == pytest.approx(0.0, abs=1e-6)
    assert r["novelty_real"] > 0.2
    assert r["fsd"] < 2 * r["fsd_real"]
    assert not M.bar_checks(r)["novelty"]


def test_quality_report_interpolated_dance_is_compared_at_the_data_rate():
    real = dancer(480, seed=0)
    doubled = np.repeat(dancer(240, seed=6), 2, axis=0)  # shown at 24 fps
    r = M.quality_report([doubled], real[:432], real[432:], FPS, gen_fps=2 * FPS)
    assert r["frames"] == 240 and r["diversity"] is None
    assert r["freeze"] < 0.1


def test_freeze_is_judged_beside_the_real_poses_drawn_when_the_drawing_alone_pauses():
    real = dancer(480, seed=0)
    paused = np.repeat(dancer(240, seed=6), 2, axis=0)   # every second frame the same: pauses frame by frame
    r = M.quality_report([paused], real[:432], real[432:], FPS)
    assert "freeze_frames_drawn" not in r and r["freeze_frames"] > r["freeze_frames_real"] + 0.05
    assert not M.bar_checks(r)["freeze_frames"]
    # the real poses drawn pause as often (a drawing that cannot show the cloth moving): the dance is no worse
    r = M.quality_report([paused], real[:432], real[432:], FPS, drawn_real=np.repeat(real[::2], 2, axis=0))
    assert r["freeze_frames_drawn"] == pytest.approx(0.5, abs=0.01)
    assert M.bar_checks(r)["freeze_frames"]


def test_shapes_are_judged_beside_the_real_poses_drawn_when_the_drawing_alone_differs():
    import cv2

    real = dancer(480, seed=0)
    thick = np.stack([cv2.erode(f, np.ones((5, 5), np.uint8)) for f in real])   # every figure drawn fatter
    r = M.quality_report([thick[:240]], real[:432], real[432:], FPS)
    assert "fsd_drawn" not in r and not M.bar_checks(r)["fsd"]
    # her own poses drawn as fat: the dance is as near her as the drawing lets it be
    r = M.quality_report([thick[:240]], real[:432], real[432:], FPS, drawn_real=thick)
    assert r["fsd_drawn"] > 2 * r["fsd_real"] and M.bar_checks(r)["fsd"]
    # drawn as she is cut: no looser than her halves
    r = M.quality_report([thick[:240]], real[:432], real[432:], FPS, drawn_real=real)
    assert r["fsd_drawn"] < r["fsd_real"] and not M.bar_checks(r)["fsd"]


def test_shape_distance_is_the_mean_over_the_dances():
    real = dancer(480, seed=0)
    near, far = real[:240], dancer(240, seed=0, period=0.9)[:, ::-1]   # her own frames; another dance, mirrored
    one, other = (M.quality_report([d], real[:432], real[432:], FPS)["fsd"] for d in (near, far))
    assert other > 2 * one
    assert M.quality_report([near, far], real[:432], real[432:], FPS)["fsd"] == pytest.approx((one + other) / 2)


def test_better_of_two_reports():
    real = {"fsd_real": 4.0, "novelty_real": 0.5, "collapse_real": 1.5, "sharpness_real": 0.99,
            "fragments_real": 1.0, "freeze_real": 0.04}
    a = {**real, "fsd": 4.1, "novelty": 0.9, "collapse": 1.3, "sharpness": 0.98, "fragments": 1.3, "freeze": 0.05}
    b = {**real, "fsd": 35.0, "novelty": 0.5, "collapse": 1.05, "sharpness": 0.97, "fragments": 0.8, "freeze": 0.8}
    got = M.better(a, b)
    assert got["fsd"] == got["collapse"] == got["sharpness"] == got["freeze"] == "a"
    assert got["novelty"] == "tie"      # beyond the real figure is not more novel
    assert got["fragments"] == "b"      # 0.8 regions (frames without a dancer) is nearer one body than 1.3
    assert got["fkd"] is None           # missing from both
    assert M.better(a, a)["fsd"] == "tie"


def test_outline_change_is_the_share_of_the_dancer_that_changes():
    still = np.full((5, 40, 40), 255, np.uint8)
    still[:, 10:30, 10:20] = 0                       # a 20 x 10 dancer standing still
    assert M.outline_change(still) == 0.0
    moving = np.full((5, 40, 40), 255, np.uint8)
    for t in range(5):
        moving[t, 10:30, 10 + t:20 + t] = 0          # one pixel right a frame: 2 columns of 20 change of 200
    assert M.outline_change(moving) == pytest.approx(40 / 200)
    assert M.outline_change(np.full((3, 8, 8), 255, np.uint8)) is None   # nobody there


def test_sharpness_bar_is_the_real_silhouettes_where_they_are_softer():
    bar = M.BARS["sharpness"][1]
    assert not bar({"sharpness": 0.98}) and bar({"sharpness": 0.99})
    assert bar({"sharpness": 0.98, "sharpness_real": 0.978}) and not bar({"sharpness": 0.97, "sharpness_real": 0.978})
    assert not bar({"sharpness": 0.98, "sharpness_real": 0.99})   # crisper real frames do not raise it past 0.985
    assert bar({"sharpness": 0.9843, "sharpness_real": 0.9849})   # a few more edge pixels are not a blur
    # her own poses drawn as the dance is: as crisp as the drawing can be, unless that drawing is itself a blur
    portrait = {"sharpness": 0.9773, "sharpness_real": 0.9816}
    assert not bar(portrait) and bar({**portrait, "sharpness_drawn": 0.9768})
    assert not bar({"sharpness": 0.95, "sharpness_real": 0.99, "sharpness_drawn": 0.95})
    assert bar({"sharpness": 0.968, "sharpness_real": 0.99, "sharpness_drawn": 0.95})   # 0.97's unclear x 1.1
    crisp, soft = np.full((4, 8, 8), 255, np.uint8), np.full((4, 8, 8), 255, np.uint8)
    crisp[:, 2:6, 2:6], soft[:, 2:6, 2:6], soft[:, 2, 2:6] = 0, 0, 128   # 4 of the 64 pixels grey in each frame
    drawn = M._drawn_figures(soft, crisp, M.motion_per_frame(crisp) * 12, 12.0)
    assert drawn["sharpness_drawn"] == pytest.approx(1 - 4 / 64)
