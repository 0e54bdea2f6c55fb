"""Bad input on the command line: one clear line on stderr, exit code 2, no traceback, nothing lost."""

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
    (["synth", "--out", "{tmp}/s", "--bpm", "90,400"], "between 30 and 300"),
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
