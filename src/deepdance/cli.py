"""The `deepdance` command: a thin layer that parses flags and calls the stage functions.

Bad input raises `UserError` anywhere below; here it becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from pathlib import Path

from .errors import Interrupted, UserError, clear_interrupted, interrupt
from .progress import on_terminal

# spellings of earlier versions, refused with what to write instead
RENAMED = {"--train-seed": "--seed", "--gen-seed": "--seed", "--seed-gen": "--seed"}


# errors of the file system that say something about where the user asked us to write, not about our code
DISK_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
               errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
               errno.EPERM: "operation not permitted", errno.ENOTDIR: "not a folder",
               errno.EISDIR: "is a folder", errno.EEXIST: "already exists", errno.EFBIG: "file too large",
               errno.ENAMETOOLONG: "name too long"}


def _raise_interrupted(signum, frame):
    interrupt(signum)


def _disk_error(e: OSError) -> str | None:
    """One line for an OSError of the file system (full disk, read-only, no permission), else None."""
    what = DISK_ERRORS.get(e.errno)
    if what is None:
        return None
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f)
    return f"cannot write {where}: {what}" if where else f"cannot write: {what} ({e.strerror or e})"


class _Parser(argparse.ArgumentParser):
    # argparse prints usage plus an error and exits 2; we keep exit 2 but print one line only
    def error(self, message: str):
        raise UserError(f"{self.prog}: {message} (see --help)")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def _add_synth_flags(p: argparse.ArgumentParser) -> None:
    def tempos(text: str) -> tuple[float, ...]:
        return tuple(_positive(float)(t.strip()) for t in text.split(","))

    class Tempos(argparse.Action):
        # `--bpm 120` sets args.bpm; `--bpm 90,120` sets args.tempos instead, one clip per tempo
        def __call__(self, parser, namespace, values, option_string=None):
            namespace.bpm, namespace.tempos = (values[0], ()) if len(values) == 1 else (None, values)

    p.add_argument("--seconds", type=_positive(float), default=None, help="length of the dance")
    p.add_argument("--fps", type=_positive(float), default=None, help="frames per second (default 12)")
    p.add_argument("--size", default="200x120",
                   help="WIDTHxHEIGHT of the frames (default 200x120; run --video: turned to the video's orientation)")
    p.add_argument("--seed", type=int, default=0,
                   help="picks the body, the tempo and the choreography (and, for run, training and the dance)")
    p.add_argument("--bpm", type=tempos, action=Tempos, default=None, metavar="BPM[,BPM...]",
                   help="tempo, or a comma list like 90,105,120,135 for one clip at each tempo "
                        "(synth default: from the seed, 90-140)")
    p.set_defaults(tempos=())


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", choices=["default", "original"], default="default",
                   help="'original' rebuilds the original project's networks for comparison")
    p.add_argument("--represent", choices=["pose", "pixels"], default=None,
                   help="what the sequence model learns: the dancer's poses, drawn by a body fitted to it, or "
                        "an autoencoder's latents of the silhouettes (default: pose where the data has poses)")
    p.add_argument("--latent", type=_positive(int), default=None, help="latent size (default 128)")
    p.add_argument("--window", type=_positive(int), default=None, help="latents the sequence model reads (default 10)")
    p.add_argument("--ae-epochs", type=_positive(int), default=None)
    p.add_argument("--seq-epochs", type=_positive(int), default=None)
    p.add_argument("--look-steps", type=int, default=None,
                   help="training steps of the dancer's learned look (pose runs; default 400, 0: the fitted body only)")
    p.add_argument("--batch-size", type=_positive(int), default=None)
    p.add_argument("--devices", default=None, help="Lightning devices: a count, 'auto', or a list")
    p.add_argument("--num-nodes", type=_positive(int), default=None)
    p.add_argument("--precision", default=None, help="Lightning precision, e.g. 32-true, bf16-mixed (default: auto)")
    p.add_argument("--accelerator", default=None, help="cpu, gpu or auto (default auto)")
    p.add_argument("--music-input", choices=["auto", "on", "off"], default=None,
                   help="the sequence model hears the data's music (default auto: when the data has music)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deepdance", description="Learn to dance from a video and make new dance videos.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("synth", help="render the built-in dancer and its music into a frame store")
    p.add_argument("--out", required=True, type=Path, help="frame store folder to create")
    _add_synth_flags(p)
    p.add_argument("--motion", type=Path, default=None,
                   help="dance a motion file instead: BVH, or COCO-17 2-D keypoints (.npz/.npy, as AIST++)")
    p.add_argument("--motion-fps", type=_positive(float), default=None,
                   help="frame rate of the motion file, when the file states it wrongly")
    p.add_argument("--view", default=None,
                   help="camera for --motion: BVH yaw in degrees or front/side/back; keypoints: view index")
    p.add_argument("--packed", action="store_true", help="store frames as bits (8x smaller, no grey edges)")
    p.add_argument("--no-preview", action="store_true", help="skip the preview mp4")
    p.add_argument("--force", action="store_true", help="replace an existing store")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("ingest", help="turn videos or image folders into a frame store of silhouettes")
    p.add_argument("inputs", nargs="+", type=Path, help="video files or folders of images")
    p.add_argument("--out", required=True, type=Path, help="frame store folder to create")
    p.add_argument("--fps", type=_positive(float), default=3.0, help="frames per second to sample (default 3)")
    p.add_argument("--size", default=None,
                   help="WIDTHxHEIGHT (default 200x120, or 120x200 for a portrait source)")
    p.add_argument("--fit", choices=["auto", "crop", "pad"], default="auto",
                   help="keep the aspect ratio by cropping or padding (default auto: crop unless that cuts off "
                        "the dancer's head or feet)")
    p.add_argument("--no-poses", dest="poses", action="store_false",
                   help="no pose estimation (no poses in the store, no skeleton check)")
    p.add_argument("--crop", default=None, help="x,y,w,h region of the source to keep")
    p.add_argument("--cut", default="auto", choices=["auto", "threshold", "chroma", "background", "segment"],
                   help="how to cut the silhouette (default auto)")
    p.add_argument("--polarity", default="auto", choices=["auto", "dark", "light"],
                   help="threshold mode: is the dancer dark or light (default auto)")
    p.add_argument("--keep-all", action="store_true", help="keep every foreground region, not only the dancer")
    p.add_argument("--track", action="store_true", help="keep the dancer centred at a steady scale")
    p.add_argument("--smooth", type=int, default=3,
                   help="source frames averaged into each mask against flicker, those within 1/20 s (default 3, "
                        "1 = off)")
    p.add_argument("--packed", action="store_true", help="store frames as bits")
    p.add_argument("--force", action="store_true", help="replace an existing store")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("pose", help="track the dancer's pose in every frame of a video: .npz + preview mp4")
    p.add_argument("video", type=Path, help="a video file")
    p.add_argument("--out", required=True, type=Path, help="pose track to write (.npz, AIST++ keypoints2d layout)")
    p.add_argument("--no-preview", action="store_true", help="skip NAME.preview.mp4 (the skeleton over the video)")
    p.add_argument("--force", action="store_true", help="replace an existing track and preview")
    p.set_defaults(func=cmd_pose)

    p = sub.add_parser("train", help="train the autoencoder and the sequence model on a frame store")
    p.add_argument("store", type=Path, help="frame store folder")
    p.add_argument("--run", required=True, type=Path, help="run folder")
    p.add_argument("--stage", choices=["ae", "seq", "all"], default="all")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--force", action="store_true", help="start over in an existing run folder")
    p.add_argument("--seed", type=int, default=None, help="training seed (default 0)")
    _add_train_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("generate", help="roll a trained run forward into a new dance and render it")
    p.add_argument("run", type=Path, nargs="?", default=None, help="trained run folder")
    p.add_argument("--pretrained", action="store_true",
                   help="dance with the pretrained model of the built-in dancer that ships with deepdance "
                        "(no training; the dance goes to --out, default runs/pretrained)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--frames", type=_positive(int), default=None,
                        help="steps to generate (default: the song's length, else 600)")
    length.add_argument("--seconds", type=_positive(float), default=None, help="or the dance's length in seconds")
    song = p.add_mutually_exclusive_group()
    song.add_argument("--music", dest="song", type=Path, default=None, metavar="SONG",
                      help="dance to this song (wav, mp3, ogg, m4a, flac or a video); the video carries it")
    song.add_argument("--bpm", type=_positive(float), default=None,
                      help="dance to a drum beat made at this tempo (runs trained with music)")
    p.add_argument("--seed", type=int, default=None, help="generation seed (default 0)")
    p.add_argument("--motion", type=Path, default=None, metavar="FILE",
                   help="dance this BVH or keypoints file (e.g. another run's dance_keypoints.npz) in this run's "
                        "look instead of a new dance (pose runs)")
    _add_generate_flags(p)
    _add_output_flags(p)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the run folder)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("evaluate", help="measure a run's dances against its real data; writes evaluation.json and report.html")
    p.add_argument("run", type=Path, help="trained run folder")
    p.add_argument("--compare", type=Path, default=None, metavar="RUN_B", help="a second run to put side by side")
    p.add_argument("--frames", type=_positive(int), default=3000, help="generated steps per dance (default 3000)")
    p.add_argument("--seeds", type=_positive(int), default=3, help="dances from different seeds (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--human-sample", type=_positive(int), default=240, metavar="N",
                   help="frames of the dance (and as many real ones) the pose estimator judges for 'a person "
                        "found' (default 240, ~30 ms each)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default RUN/evaluation, or RUN/compare-RUN_B with --compare)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("run", help="the main job: data -> train -> generate -> render -> metrics, in one run folder")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--video", type=Path, nargs="+", default=None, help="dance video(s) to learn from")
    src.add_argument("--store", type=Path, default=None, help="an existing frame store to learn from")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/NAME)")
    src.add_argument("--pretrained", action="store_true",
                     help="copy in the pretrained model of the built-in dancer instead of training one (seconds)")
    p.add_argument("--force", action="store_true", help="replace an existing run folder")
    p.add_argument("--frames", type=_positive(int), default=None, help="frames to generate (default 720)")
    p.add_argument("--music", dest="song", type=Path, default=None, metavar="SONG",
                   help="dance to this song once trained (default: the data's own music)")
    p.add_argument("--cut", default="auto", choices=["auto", "threshold", "chroma", "background", "segment"])
    p.add_argument("--ingest-fps", type=_positive(float), default=None, help="sampling rate for --video (default 12)")
    p.add_argument("--evaluate-frames", type=int, default=None,
                   help="steps of each evaluation dance (default 1200; 0 skips the evaluation)")
    _add_synth_flags(p)
    p.set_defaults(size=None)   # a video's frames follow its orientation (portrait in, portrait out)
    _add_train_flags(p)
    _add_output_flags(p, "dance-")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("app", help="a local web page: train, generate, watch and download dances (offline)")
    p.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860; 0: any free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="folder of run folders (default runs/)")
    p.set_defaults(func=cmd_app)
    return parser


def _add_generate_flags(p: argparse.ArgumentParser) -> None:
    start = p.add_mutually_exclusive_group()
    start.add_argument("--start", type=int, default=None, help="start from the real window at this frame")
    start.add_argument("--from-noise", action="store_true", help="start from a random window")
    p.add_argument("--temperature", type=float, default=None, help="sampling temperature (0 = deterministic)")
    p.add_argument("--interpolate", type=int, default=0, help="in-between frames per generated step")
    p.add_argument("--look", choices=["learned", "body"], default=None,
                   help="draw the poses in the dancer's learned look or as the fitted body (default: the one "
                        "that scored better when the run was trained)")
    p.add_argument("--smooth", type=float, default=None, metavar="SECONDS",
                   help="smooth the generated motion over this long (default, poses: 0.04, or 0.125 with --walk "
                        "centres; pixels: 0)")
    p.add_argument("--walk", choices=["real", "centres"], default=None,
                   help="make the dance of the data's real steps, the model choosing where to go (default for "
                        "poses), or of its codes' average poses (default for pixels)")


def _add_output_flags(p: argparse.ArgumentParser, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}size", dest="out_size", default=None, metavar="WxH",
                   help="size of the dance's pictures (default, poses: the source's aspect ratio, at least 480 "
                        "tall, e.g. 800x480)")
    p.add_argument(f"--{prefix}fps", dest="out_fps", type=_positive(float), default=None,
                   help="frame rate of the dance video, poses interpolated between steps (default, poses: 24)")


# --- commands ------------------------------------------------------------------------------------
def cmd_synth(args) -> None:
    from .config import parse_size
    from .synth import SynthConfig, synthesize

    w, h = parse_size(args.size)
    cfg = SynthConfig(width=w, height=h, seed=args.seed, bpm=args.bpm, tempos=args.tempos, packed=args.packed,
                      preview=not args.no_preview, motion=str(args.motion) if args.motion else None,
                      motion_fps=args.motion_fps, view=args.view,
                      **{k: v for k, v in (("seconds", args.seconds), ("fps", args.fps)) if v is not None})
    store = synthesize(args.out, cfg=cfg, force=args.force, progress=on_terminal())
    print(f"frame store: {store.path} ({len(store)} frames, {store.width}x{store.height} at {store.fps:g} fps)")
    if (store.path / "preview.mp4").exists():
        print(f"preview:     {store.path / 'preview.mp4'}")


def cmd_ingest(args) -> None:
    from .config import parse_size
    from .ingest import IngestConfig, ingest, parse_crop

    w, h = parse_size(args.size) if args.size else (None, None)
    cfg = IngestConfig(fps=args.fps, width=w, height=h, fit=args.fit,
                       crop=parse_crop(args.crop) if args.crop else None, cut=args.cut,
                       polarity=args.polarity, keep_all_components=args.keep_all, track=args.track,
                       smooth=args.smooth, packed=args.packed, poses=args.poses)
    store = ingest(args.inputs, args.out, cfg=cfg, force=args.force, progress=on_terminal())
    print(f"frame store: {store.path} ({len(store)} frames, {store.width}x{store.height}, "
          f"cut: {store.manifest.cut.get('mode')})")
    if (store.path / "preview.mp4").exists():
        print(f"preview:     {store.path / 'preview.mp4'}")


def cmd_pose(args) -> None:
    from .pose import preview_path, track_video

    track = track_video(args.video, args.out, preview=not args.no_preview, force=args.force)
    print(f"pose track: {args.out} ({len(track)} frames at {track.fps:g} fps, "
          f"a person in {track.found.mean():.0%} of them)")
    if not args.no_preview:
        print(f"preview:    {preview_path(args.out)}")


def train_config_from_args(args):
    from .train import TrainConfig

    fields = {"recipe": args.recipe, "represent": args.represent, "latent": args.latent, "window": args.window,
              "ae_epochs": args.ae_epochs, "seq_epochs": args.seq_epochs, "look_steps": args.look_steps,
              "batch_size": args.batch_size, "devices": args.devices, "num_nodes": args.num_nodes, "precision": args.precision,
              "accelerator": args.accelerator, "seed": args.seed, "music_input": args.music_input}
    return TrainConfig(**{k: v for k, v in fields.items() if v is not None})


def generate_config_from_args(args):
    from .generate import GenerateConfig

    fields = {"frames": args.frames, "seconds": args.seconds, "start": args.start,
              "from_noise": args.from_noise or None, "seed": args.seed, "temperature": args.temperature,
              "interpolate": args.interpolate, "song": str(args.song) if args.song else None, "bpm": args.bpm,
              "size": args.out_size, "fps": args.out_fps, "smooth": args.smooth,
              "walk": args.walk, "look": args.look, "motion": str(args.motion) if args.motion else None}
    return GenerateConfig(**{k: v for k, v in fields.items() if v is not None})


def cmd_train(args) -> None:
    from .pipeline import train_run

    try:
        metrics = train_run(args.store, args.run, cfg=train_config_from_args(args), stage=args.stage,
                            resume=args.resume, force=args.force, progress=on_terminal())
    except Interrupted as e:
        if args.run.is_dir() and any((args.run / "checkpoints").glob("*.ckpt")):
            e.hint = f"{args.run} keeps its last finished epoch: continue with the same command and --resume"
        raise
    for key, value in metrics.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")


def cmd_generate(args) -> None:
    if args.pretrained == (args.run is not None):   # before the imports: a mistyped command is told at once
        raise UserError("give a trained run folder or --pretrained (one of them)")
    from .pipeline import generate_run

    if args.pretrained:
        from .pretrained import pretrained_run

        args.run, args.out = pretrained_run(), args.out or Path("runs") / "pretrained"
    outputs = generate_run(args.run, args.out, cfg=generate_config_from_args(args))
    for name, path in outputs.items():
        print(f"{name}: {path}")
    _say_verdict(args.out or args.run)


def cmd_evaluate(args) -> None:
    from .evaluate import EvaluateConfig
    from .pipeline import compare_runs, evaluate_run

    cfg = EvaluateConfig(frames=args.frames, seeds=args.seeds, seed=args.seed, temperature=args.temperature,
                         human_sample=args.human_sample)
    if args.compare is None:
        out = args.out or args.run / "evaluation"
        result = evaluate_run(args.run, out, cfg=cfg)
        for name, value in result["figures"].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                print(f"{name}: {value:.4g}")
        print(f"report: {out / 'report.html'}")
        _say_verdict(out)
    else:
        out = args.out or args.run / f"compare-{args.compare.name}"
        compare_runs(args.run, args.compare, out, cfg=cfg)
        print(f"report: {out / 'report.html'}")


def cmd_run(args) -> None:
    from .config import parse_size
    from .generate import GenerateConfig
    from .pipeline import RunConfig, run

    w, h = parse_size(args.size) if args.size else (None, None)
    cfg = RunConfig(width=w, height=h, seed=args.seed, cut=args.cut,
                    **{k: v for k, v in (("seconds", args.seconds), ("fps", args.fps), ("bpm", args.bpm),
                                         ("frames", args.frames), ("ingest_fps", args.ingest_fps),
                                         ("evaluate_frames", args.evaluate_frames),
                                         ("tempos", args.tempos or None))
                       if v is not None})
    gen = GenerateConfig(frames=cfg.frames, seed=cfg.seed, song=str(args.song) if args.song else None,
                         size=args.out_size, fps=args.out_fps)
    result = run(args.video, args.out, cfg=cfg, train_cfg=train_config_from_args(args), generate_cfg=gen,
                 store=args.store, force=args.force, progress=on_terminal(), pretrained=args.pretrained)
    print(f"run folder: {result}")
    for name in ("dance.mp4", "dance.gif", "contact_sheet.png", "dance.bvh", "dance_keypoints.npz",
                 "dance_skeleton.mp4", "metrics.json", "plots",
                 "evaluation/report.html"):
        if (result / name).exists():
            print(f"  {name:<22} {result / name}")
    _say_verdict(result)


def cmd_app(args) -> None:
    try:
        from .app.server import serve
    except ImportError as e:
        raise UserError(f"the app needs its extra ({e.name} is missing): pip install 'deepdance[app]'") from None
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must lie between 0 and 65535, not {args.port}")
    serve(args.runs, host=args.host, port=args.port)


def _say_verdict(folder: Path) -> None:
    from .pipeline import verdict_lines

    for line in verdict_lines(folder):
        print(line)


def _check_spellings(argv: list[str]) -> None:
    for i, arg in enumerate(argv):
        old, _, value = arg.partition("=")
        if old in RENAMED:
            raise UserError(f"{old} is now {RENAMED[old]} (one --seed on every command)")
        value = value or (argv[i + 1] if i + 1 < len(argv) else "")
        if old == "--music" and (value in ("auto", "on", "off") or argv[:1] == ["train"]):
            raise UserError("--music names a song now; the switch for the data's music is --music-input auto|on|off")


def entry() -> None:
    """The `deepdance` command: `main`, and after a stop by signal an exit that skips the native libraries'
    exit-time destructors: one of them aborted 1 in 10 runs SIGTERMed mid-synth ("terminate called without an
    active exception", exit -6 instead of 143) once every temporary file had already been removed."""
    code = main()
    if code > 128:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        _check_spellings(argv)
        args = parser.parse_args(argv)
        args.func(args)
    except UserError as e:
        print(f"deepdance: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        line = _disk_error(e)
        if line is None:
            raise
        print(f"deepdance: error: {line}", file=sys.stderr)
        return 2
    except (Interrupted, KeyboardInterrupt) as e:
        signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
        hint = getattr(e, "hint", "") or "nothing half-written was kept"
        print(f"deepdance: stopped by {signal.Signals(signum).name}; {hint}", file=sys.stderr)
        return 128 + signum
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        clear_interrupted()
    return 0


if __name__ == "__main__":
    entry()
