"""Bad input on the command line: one clear line on stderr, exit code 2, no traceback, nothing lost."""

from pathlib import Path

import pytest

from deepdance.cli import build_parser, main

from conftest import assert_one_line_error, run_cli


@pytest.mark.parametrize("args, needle", [
    (["synth", "--out", "{tmp}/s", "--size", "200by120"], "bad size"),
    (["synth", "--out", "{tmp}/s", "--size", "0x120"], "bad size"),
    (["synth", "--out", "{tmp}/s", "--seconds", "0"], "must be positive"),
    (["synth", "--out", "{tmp}/s", "--seconds", "-3"], "must be positive"),
    (["synth", "--out", "{tmp}/s", "--fps", "0"], "must be positive"),
    (["synth", "--out", "{tmp}/s", "--fps", "abc"], "expected a number"),
    (["synth", "--out", "{tmp}/s", "--bpm", "90,abc"], "expected a number, got 'abc'"),
    (["synth", "--out", "{tmp}/s", "--bpm", "90,,120"], "expected a number, got ''"),
    (["synth", "--out", "{tmp}/s", "--bpm", "90,400"], "between 30 and 300 BPM"),
    (["run", "--bpm", "90;120"], "expected a number"),
    (["ingest", "{tmp}/clip.mp4", "--out", "{tmp}/s", "--smooth", "0"], "smooth must be at least 1"),
    (["synth"], "required"),
    (["dance"], "invalid choice"),
])
def test_bad_flags(tmp_path, args, needle, capsys):
    code = main([a.replace("{tmp}", str(tmp_path)) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("command", [["synth", "--out", "s"], ["run"]])
def test_bpm_is_one_tempo_or_a_list(command):
    parse = build_parser().parse_args
    assert (parse(command).bpm, parse(command).tempos) == (None, ())
    args = parse([*command, "--bpm", "100"])
    assert (args.bpm, args.tempos) == (100.0, ())
    args = parse([*command, "--bpm", "90, 105,120,135"])
    assert (args.bpm, args.tempos) == (None, (90.0, 105.0, 120.0, 135.0))


@pytest.mark.slow
def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    assert_one_line_error(run_cli("synth", "--out", str(blocker / "store"), "--seconds", "1"), "cannot")
    assert blocker.read_text() == "I am a file, not a folder"


@pytest.mark.slow
def test_existing_output_is_kept_without_force(tmp_path):
    out = tmp_path / "store"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert_one_line_error(run_cli("synth", "--out", str(out), "--seconds", "1"), "--force")
    assert (out / "precious.txt").read_text() == "keep me"


# --- flags -> configs ------------------------------------------------------------------------------
def test_train_flags_map_to_the_train_config():
    from deepdance.cli import train_config_from_args
    from deepdance.train import TrainConfig

    parse = build_parser().parse_args
    assert train_config_from_args(parse(["train", "S", "--run", "R"])) == TrainConfig()
    args = parse(["train", "S", "--run", "R", "--recipe", "default", "--latent", "16", "--window", "5",
                  "--ae-epochs", "2", "--seq-epochs", "3", "--batch-size", "8", "--devices", "2", "--num-nodes", "1",
                  "--precision", "32-true", "--accelerator", "cpu", "--seed", "7", "--music-input", "off",
                  "--represent", "pixels", "--look-steps", "0"])
    assert train_config_from_args(args) == TrainConfig(
        latent=16, window=5, ae_epochs=2, seq_epochs=3, batch_size=8, devices=2, num_nodes=1,
        precision="32-true", accelerator="cpu", seed=7, music_input="off", represent="pixels", look_steps=0)


def test_generate_flags_map_to_the_generate_config():
    from deepdance.cli import generate_config_from_args
    from deepdance.generate import GenerateConfig

    parse = build_parser().parse_args
    assert generate_config_from_args(parse(["generate", "R"])) == GenerateConfig()
    args = parse(["generate", "R", "--frames", "30", "--start", "5", "--seed", "4", "--temperature", "0.5",
                  "--interpolate", "2", "--music", "song.wav"])
    assert generate_config_from_args(args) == GenerateConfig(frames=30, start=5, seed=4, temperature=0.5,
                                                             interpolate=2, song="song.wav")
    args = parse(["generate", "R", "--seconds", "2.5", "--from-noise", "--bpm", "100", "--smooth", "0", "--look", "body"])
    assert generate_config_from_args(args) == GenerateConfig(seconds=2.5, from_noise=True, bpm=100.0, smooth=0.0,
                                                             look="body")
    assert generate_config_from_args(parse(["generate", "R", "--motion", "salsa.bvh"])) == GenerateConfig(motion="salsa.bvh")


@pytest.fixture
def calls(monkeypatch):
    """The stage functions the commands call, replaced by recorders: name -> (args, kwargs)."""
    from deepdance import pipeline, synth

    seen = {}

    def recorder(name, result):
        def record(*args, **kwargs):
            seen[name] = (args, kwargs)
            return result
        return record

    class Store:
        path, width, height, fps = Path("s"), 80, 48, 12.0

        def __len__(self):
            return 1

    monkeypatch.setattr(synth, "synthesize", recorder("synthesize", Store()))
    monkeypatch.setattr(pipeline, "train_run", recorder("train_run", {}))
    monkeypatch.setattr(pipeline, "generate_run", recorder("generate_run", {}))
    monkeypatch.setattr(pipeline, "evaluate_run", recorder("evaluate_run", {"figures": {}}))
    monkeypatch.setattr(pipeline, "compare_runs", recorder("compare_runs", {}))
    monkeypatch.setattr(pipeline, "run", recorder("run", Path("r")))
    return seen


def test_seed_on_every_command_reaches_its_configs(calls):
    def cfg(name, key="cfg"):
        return calls[name][1][key]

    assert main(["synth", "--out", "s", "--seed", "5"]) == 0
    assert cfg("synthesize").seed == 5
    assert main(["train", "S", "--run", "R", "--seed", "5"]) == 0
    assert cfg("train_run").seed == 5
    assert main(["generate", "R", "--seed", "5"]) == 0
    assert cfg("generate_run").seed == 5
    assert main(["evaluate", "R", "--seed", "5", "--frames", "40", "--seeds", "2"]) == 0
    assert (cfg("evaluate_run").seed, cfg("evaluate_run").frames, cfg("evaluate_run").seeds) == (5, 40, 2)
    assert calls["evaluate_run"][0][1] == Path("R") / "evaluation"
    assert main(["run", "--seed", "5"]) == 0
    assert (cfg("run").seed, cfg("run", "train_cfg").seed, cfg("run", "generate_cfg").seed) == (5, 5, 5)


def test_run_frames_follow_the_video_unless_sized(calls):
    assert main(["run", "--video", "clip.mp4"]) == 0
    ingest = calls["run"][1]["cfg"].ingest_config()
    assert (ingest.width, ingest.height) == (None, None)   # ingest turns 200x120 to the video's orientation
    assert calls["run"][1]["cfg"].synth_config().width == 200
    assert main(["run", "--video", "clip.mp4", "--size", "96x160"]) == 0
    assert (calls["run"][1]["cfg"].ingest_config().width, calls["run"][1]["cfg"].ingest_config().height) == (96, 160)


def test_evaluate_compare_calls_compare_runs(calls, tmp_path):
    assert main(["evaluate", "A", "--compare", "runs/B", "--frames", "30", "--seeds", "1"]) == 0
    (a, b, out), kwargs = calls["compare_runs"]
    assert (a, b, out) == (Path("A"), Path("runs/B"), Path("A") / "compare-B")
    assert (kwargs["cfg"].frames, kwargs["cfg"].seeds) == (30, 1) and "evaluate_run" not in calls
    assert main(["evaluate", "A", "--compare", "B", "--out", str(tmp_path / "o")]) == 0
    assert calls["compare_runs"][0][2] == tmp_path / "o"


@pytest.mark.parametrize("args, needle", [
    (["train", "S", "--run", "R", "--train-seed", "3"], "--train-seed is now --seed"),
    (["train", "S", "--run", "R", "--train-seed=3"], "--train-seed is now --seed"),
    (["generate", "R", "--gen-seed", "3"], "--gen-seed is now --seed"),
    (["generate", "R", "--seed-gen", "3"], "--seed-gen is now --seed"),
    (["run", "--seed-gen", "3"], "--seed-gen is now --seed"),
    (["train", "S", "--run", "R", "--music", "on"], "the switch for the data's music is --music-input"),
    (["train", "S", "--run", "R", "--music=off"], "the switch for the data's music is --music-input"),
    (["train", "S", "--run", "R", "--music", "a.wav"], "the switch for the data's music is --music-input"),
    (["run", "--music", "auto"], "the switch for the data's music is --music-input"),
])
def test_old_spellings_are_refused_with_a_hint(calls, args, needle, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not calls  # refused before any work


# --- run folders -----------------------------------------------------------------------------------
def test_run_force_replaces_a_run_folder_only_after_success(tmp_path, monkeypatch, capsys):
    from deepdance import pipeline
    from deepdance.errors import UserError

    out = tmp_path / "r"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    small = ["run", "--out", str(out), "--seconds", "2", "--size", "80x48", "--bpm", "120", "--evaluate-frames", "0"]
    # a folder deepdance did not make is never replaced, not even with --force
    assert main([*small, "--force"]) == 2
    assert "without config.json" in capsys.readouterr().err and [p.name for p in out.iterdir()] == ["precious.txt"]
    (out / "config.json").write_text("{}")  # from here on: an earlier run folder

    def train_run(data, run_dir, *, cfg, **kw):  # training is not what this test is about
        (Path(run_dir) / "ae.safetensors").write_bytes(b"trained")
        return {}

    def failing(run_dir, out=None, *, cfg):
        raise UserError("generation failed")

    def generate_run(run_dir, out=None, *, cfg):
        (Path(run_dir) / "dance.mp4").write_bytes(b"danced")
        return {}

    def left() -> list[str]:  # nothing half-written beside the run folder
        return sorted(p.name for p in tmp_path.iterdir())

    monkeypatch.setattr(pipeline, "train_run", train_run)
    monkeypatch.setattr(pipeline, "generate_run", failing)
    assert main(small) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0], err
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "precious.txt"] and left() == ["r"]

    assert main([*small, "--force"]) == 2  # fails half-way: the old folder stays as it was
    err = capsys.readouterr().err  # (after synth's progress bar)
    assert err.strip().splitlines()[-1] == "deepdance: error: generation failed" and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "precious.txt"] and left() == ["r"]

    monkeypatch.setattr(pipeline, "generate_run", generate_run)
    assert main([*small, "--force"]) == 0
    assert not (out / "precious.txt").exists()
    assert (out / "ae.safetensors").read_bytes() == b"trained" and (out / "dance.mp4").read_bytes() == b"danced"
    assert (out / "store" / "manifest.json").is_file() and (out / "config.json").is_file() and left() == ["r"]


@pytest.mark.slow
def test_evaluate_compare_from_the_command_line(tmp_path, capsys):
    import json

    from deepdance.pipeline import train_run
    from deepdance.train import TrainConfig

    from conftest import TINY, make_run

    runs = [make_run(tmp_path, name, n=120, seed=seed) for name, seed in (("one", 0), ("two", 1))]
    for run in runs:
        train_run(None, run, cfg=TrainConfig(**{**TINY, "window": 4, "batch_size": 64}), progress=False)
    capsys.readouterr()
    assert main(["evaluate", str(runs[0]), "--compare", str(runs[1]), "--frames", "24", "--seeds", "2", "--human-sample", "24"]) == 0
    out = runs[0] / "compare-two"
    assert capsys.readouterr().out.strip() == f"report: {out / 'report.html'}"
    saved = json.loads((out / "comparison.json").read_text())
    assert (saved["a"]["run"], saved["b"]["run"]) == (str(runs[0]), str(runs[1]))
    assert saved["a"]["figures"]["frames"] == saved["b"]["figures"]["frames"] == 24
    assert saved["a"]["figures"]["dances"] == 2
    assert saved["better"]["fsd"] == ("a" if saved["a"]["figures"]["fsd"] < saved["b"]["figures"]["fsd"] else "b")
    for page in (out / "report.html", out / "a" / "report.html", out / "b" / "report.html"):
        assert page.is_file()
    # a second run of the same seeds gives the same figures
    assert main(["evaluate", str(runs[0]), "--compare", str(runs[1]), "--frames", "24", "--seeds", "2", "--human-sample", "24",
                 "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "comparison.json").read_text())
    assert again["a"]["figures"] == saved["a"]["figures"] and again["b"]["figures"] == saved["b"]["figures"]
