"""The evaluation report and `evaluate` / `compare` on small hand-made runs."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from deepdance import evaluate as E
from deepdance import report as R
from deepdance.errors import UserError
from deepdance.generate import Dance
from deepdance.pipeline import compare_runs, evaluate_run
from deepdance.runfolder import run_store

from conftest import FPS, dancer, make_run

MAGIC = {"image/png": b"\x89PNG", "image/gif": b"GIF8", "video/mp4": None}


class _Sources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.sources += [v for k, v in attrs if k in ("src", "href") and v]


def check_page(path: Path) -> list[str]:
    """Parse the page; every data URI decodes to its kind of file and every linked file exists."""
    parser = _Sources()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert "table" in parser.tags
    for src in parser.sources:
        if src.startswith("data:"):
            mime, _, payload = src[5:].partition(";base64,")
            data = base64.b64decode(payload, validate=True)
            assert data and (MAGIC[mime] is None or data.startswith(MAGIC[mime])), mime
            if mime == "video/mp4":
                assert data[4:8] == b"ftyp"
        else:
            assert (path.parent / src).is_file(), src
    return parser.sources


def test_report_writer_on_hand_made_data(tmp_path, monkeypatch):
    gen, real = dancer(120, seed=1), dancer(120, seed=0)
    images = {"motion": R.motion_plot(np.random.rand(119), np.random.rand(119), FPS),
              "latents": R.latent_plot(np.random.rand(200, 16), np.random.rand(120, 16)),
              "frames": R.frame_strip({"generated": gen, "real": real}, FPS)}
    video = tmp_path / "videos" / "dance.mp4"
    video.parent.mkdir()
    from deepdance.video import write_video
    write_video(video, [gen], fps=FPS)
    figures = {"fsd": 1.5, "fsd_real": 1.0, "freeze": 0.0, "freeze_real": 0.01, "novelty": None,
               "frames": 120, "fps": FPS}
    columns = [R.Column("a <run>", figures, images, video), R.Column("b", {}, {"motion": images["motion"]})]
    page = R.write_report(tmp_path / "out" / "report.html", columns)
    sources = check_page(page)
    assert sum(s.startswith("data:image/png") for s in sources) == 4
    assert any(s.startswith("data:video/mp4") for s in sources)
    text = page.read_text()
    assert "a &lt;run&gt;" in text and "✓" in text

    monkeypatch.setattr(R, "VIDEO_EMBED_MAX", 0)  # a big video is linked relatively instead
    page = R.write_report(tmp_path / "out" / "report.html", columns)
    assert "../videos/dance.mp4" in check_page(page)


@pytest.mark.slow
def test_evaluate_given_dances(tmp_path):
    run = make_run(tmp_path)
    dances = [np.repeat(dancer(150, seed=s), 2, axis=0) for s in (3, 4)]  # shown at twice the data's rate
    result = E.evaluate(run, cfg=E.EvaluateConfig(frames=300, seeds=2, human_sample=24), dances=dances, dance_fps=2 * FPS)
    out = run / "evaluation"
    saved = json.loads((out / "evaluation.json").read_text())
    assert saved == json.loads(json.dumps(result))
    figures = saved["figures"]
    assert figures["frames"] == 150 and figures["heldout_frames"] == 48 and figures["real_frames"] == 480
    assert figures["novelty"] > 0 and figures["diversity"] > 0 and figures["fsd"] is not None
    for key in ("human_found", "human_found_real"):   # judged on 24 frames a side
        assert abs(figures[key] * 24 - round(figures[key] * 24)) < 1e-9
    assert set(saved["bars"]) == set(E.M.BARS)
    for name in ("dance.mp4", "dance.gif", "contact_sheet.png", "report.html"):
        assert (out / name).is_file()
    check_page(out / "report.html")


def test_val_fraction_comes_from_the_run_config(tmp_path):
    run = make_run(tmp_path, n=200)
    (run / "config.json").write_text(json.dumps({"train": {"val_fraction": 0.25}}))
    train, heldout = E.real_split(run, run_store(run))
    assert (len(train), len(heldout)) == (150, 50)


@pytest.mark.slow
def test_compare_puts_two_runs_side_by_side(tmp_path):
    runs = [make_run(tmp_path, "one", seed=0), make_run(tmp_path, "two", seed=1)]

    def dances_of(base: int):  # hand-made dances in place of a trained model's: evaluate takes any maker
        return lambda settings: Dance(dancer(settings["frames"], seed=base + settings["seed"]), None, FPS)

    out = tmp_path / "cmp"
    with pytest.raises(UserError, match="no trained sequence model"):
        compare_runs(runs[0], runs[1], out, cfg=E.EvaluateConfig(frames=120, seeds=2))
    assert not out.exists()  # refused before any work
    for run in runs:
        (run / "seq.safetensors").write_bytes(b"")  # trained, as far as compare checks
    result = E.compare(runs[0], runs[1], out, cfg=E.EvaluateConfig(frames=120, seeds=2, human_sample=24),
                       make_dances=(dances_of(10), dances_of(20)))
    assert set(result) == {"a", "b", "better"}
    saved = json.loads((out / "comparison.json").read_text())
    assert saved["b"]["run"] == str(runs[1])
    assert saved["better"]["fsd"] == ("a" if saved["a"]["figures"]["fsd"] < saved["b"]["figures"]["fsd"] else "b")
    sources = check_page(out / "report.html")
    assert any(s.startswith("data:video/mp4") or s == "a/dance.mp4" for s in sources)
    text = (out / "report.html").read_text()
    assert "A: one" in text and "B: two" in text and 'class="best"' in text
    for key in "ab":
        check_page(out / key / "report.html")


def test_bad_runs_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not a run folder"):
        evaluate_run(tmp_path, cfg=E.EvaluateConfig())
    run = make_run(tmp_path)
    with pytest.raises(UserError, match="no trained sequence model"):
        evaluate_run(run, cfg=E.EvaluateConfig())
    with pytest.raises(UserError):
        E.EvaluateConfig(seeds=0)
    with pytest.raises(UserError, match="judge"):
        E.EvaluateConfig(human_sample=0)


@pytest.mark.slow
def test_evaluate_a_trained_run_end_to_end(tmp_path):
    from deepdance.pipeline import train_run
    from deepdance.train import TrainConfig

    run = make_run(tmp_path, n=120)
    train_run(None, run, cfg=TrainConfig(latent=8, window=4, ae_epochs=1, seq_epochs=1, batch_size=64,
                                     accelerator="cpu", precision="32-true"))
    result = evaluate_run(run, cfg=E.EvaluateConfig(frames=30, seeds=2, human_sample=24))
    figures = result["figures"]
    assert figures["frames"] == 30 and figures["dances"] == 2 and figures["heldout_frames"] == 12
    assert figures["sharpness_real"] == 1.0 and figures["fsd"] is not None  # the hand-made dancer is drawn crisp
    page = run / "evaluation" / "report.html"
    check_page(page)
    assert "Latent trajectories" in page.read_text()
