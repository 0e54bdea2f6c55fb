"""The report of `deepdance evaluate`: plots as PNG bytes and one self-contained HTML page.

Images are embedded as base64 data URIs so the page opens offline on its own; a video is embedded when
small and otherwise linked by a path relative to the page.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .files import atomic_path
from .metrics import BARS, TEMPO_CHECKS, bar_checks

VIDEO_EMBED_MAX = 2 * 1024 * 1024  # bytes; a bigger video is linked beside the page

# figure -> (name in the table, what it means); the order of the table
FIGURES = {
    "sharpness": ("sharpness", "share of decoded pixels clearly black or white (< 0.1·255 or > 0.9·255); 1 = crisp"),
    "fragments": ("fragments", "mean count of separate dark regions larger than 0.1% of the frame; a whole dancer is 1"),
    "motion_energy": ("motion energy", "mean share of the frame whose mask changes, per second"),
    "freeze": ("freeze", "share of frames whose motion energy (0.25 s average) is below a quarter of the real median"),
    "freeze_frames": ("freeze, frame by frame", "the same without the 0.25 s average: a pause of one frame counts"),
    "flicker": ("outline change", "the real poses drawn as the dance is: share of the dancer's area that changes from one frame to the next; real: her silhouettes"),
    "human_found": ("a person found", "share of frames in which a pose estimator (BlazePose, each frame on its own) finds a person"),
    "collapse": ("collapse", "mean motion of the last third over the first third"),
    "fsd": ("FSD", "Fréchet distance of per-frame shape descriptors to each real half (z-scored on real); real: between the halves"),
    "fkd": ("FKD", "the same over motion descriptors of 1-s windows (energy, velocity, acceleration, size change)"),
    "repetition": ("repetition", "highest autocorrelation of shape changes at lags of 2–20 s; 1 = a loop"),
    "novelty": ("novelty", "median distance of 2-s windows to the nearest training window; real: held-out frames"),
    "diversity": ("diversity", "mean novelty of one seed's dance with respect to another's; real: between real segments"),
    "bas": ("BAS", "Beat Align Score to its music: mean over music beats of exp(-d²/2σ²), σ = 0.1 s, d = seconds to the nearest pause (motion minimum)"),
    "bas_control": ("BAS, control", "the same dance scored against the beats of another tempo"),
    "kinetic_fd": ("kinetic FD (joints)", "Fréchet distance of per-joint speed and acceleration over 1-s windows to each real half; real: between the halves"),
    "foot_sliding": ("foot sliding", "sideways speed of a planted foot, torso lengths / s"),
    "joint_speed": ("joint speed", "mean speed of the joints, torso lengths / s"),
    "bas_joints": ("BAS (joints)", "Beat Align Score with the pauses of the joints (minima of their mean speed)"),
    "period": ("period", "dominant period (s) of the motion of a dance to its own music; real: the dancer's to her song"),
    **{f"period_{bpm}bpm": (f"period at {bpm} BPM", f"dominant period (s) of the motion of a dance made to a {bpm} BPM drum beat; the beat is {60 / bpm:.3f} s")
       for bpm in TEMPO_CHECKS},
}


@dataclass
class Column:
    """One evaluated dance in the report."""
    name: str
    figures: dict
    images: dict[str, bytes] = field(default_factory=dict)  # title -> PNG or GIF bytes
    video: Path | None = None
    verdict: list[str] = field(default_factory=list)  # the verdict in words (see verdict.py), shown first


# --- plots -----------------------------------------------------------------------------------------
def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def motion_plot(generated: np.ndarray, real: np.ndarray, fps: float, *, freeze_level: float | None = None) -> bytes:
    """Motion energy over time of the generated dance and of real frames (per-frame series at `fps`),
    with the level below which a frame counts as frozen."""
    fig = Figure(figsize=(9, 2.8))
    ax = fig.add_subplot()
    ax.plot(np.arange(len(real)) / fps, real, color="0.6", lw=0.8, label="real")
    ax.plot(np.arange(len(generated)) / fps, generated, color="C0", lw=0.8, label="generated")
    if freeze_level is not None:
        ax.axhline(freeze_level, color="C3", lw=0.8, ls="--", label="freeze level")
    ax.set_xlabel("seconds")
    ax.set_ylabel("motion energy (frame share / s)")
    ax.legend(loc="upper right")
    ax.margins(x=0)
    return _png(fig)


def latent_plot(real: np.ndarray, generated: np.ndarray) -> bytes:
    """Latent trajectories on the first two principal axes of the real latents."""
    real = real.reshape(len(real), -1).astype(np.float64)
    generated = generated.reshape(len(generated), -1).astype(np.float64)
    mean = real.mean(0)
    _, _, vt = np.linalg.svd(real - mean, full_matrices=False)
    axes = vt[:2].T
    pr, pg = (real - mean) @ axes, (generated - mean) @ axes
    fig = Figure(figsize=(9, 3.2))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    left.plot(pr[:, 0], pr[:, 1], color="0.6", lw=0.5, label="real")
    left.plot(pg[:, 0], pg[:, 1], color="C0", lw=0.5, alpha=0.8, label="generated")
    left.set_xlabel("PC1")
    left.set_ylabel("PC2")
    left.legend(loc="upper right")
    right.plot(pr[: len(pg), 0], color="0.6", lw=0.6, label="real")
    right.plot(pg[:, 0], color="C0", lw=0.6, label="generated")
    right.set_xlabel("frame")
    right.set_ylabel("PC1")
    return _png(fig)


def frame_strip(rows: dict[str, np.ndarray], fps: float, *, count: int = 8) -> bytes:
    """`count` frames spread evenly over each sequence, one row per sequence, labelled with the time."""
    fig = Figure(figsize=(1.4 * count, 1.2 * len(rows)))
    for r, (label, frames) in enumerate(rows.items()):
        idx = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
        for c, i in enumerate(idx):
            ax = fig.add_subplot(len(rows), count, r * count + c + 1)
            ax.imshow(frames[i], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{i / fps:.1f} s", fontsize=7)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    return _png(fig)


# --- the page --------------------------------------------------------------------------------------
def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _image_mime(data: bytes) -> str:
    return "image/gif" if data[:4] == b"GIF8" else "image/png"


def _value(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return html.escape(str(v))


def _cell(figures: dict, key: str, best: bool = False) -> str:
    real = figures.get(f"{key}_real")
    text = _value(figures.get(key))
    if f"{key}_real" in figures:
        drawn = f"; her poses drawn {_value(figures[f'{key}_drawn'])}" if f"{key}_drawn" in figures else ""
        text += f' <span class="real">(real {_value(real)}{drawn})</span>'
    ok = bar_checks(figures).get(key) if key in BARS else None
    mark = {True: '<span class="pass">✓</span>', False: '<span class="fail">✗</span>'}.get(ok, "")
    css = ' class="best"' if best else ""
    return f"<td{css}>{text} {mark}</td>"


def _video(col: Column, page_dir: Path) -> str:
    if col.video is None or not Path(col.video).is_file():
        return "<p>no video</p>"
    path = Path(col.video)
    if path.stat().st_size <= VIDEO_EMBED_MAX:
        src = data_uri(path.read_bytes(), "video/mp4")
    else:
        src = html.escape(Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix())
    return f'<video controls loop src="{src}"></video>'


def _image(title: str, data: bytes) -> str:
    mime = _image_mime(data)
    css = ' class="gif"' if mime == "image/gif" else ""  # a small animation is shown enlarged, pixels kept sharp
    return f'<div><img{css} alt="{html.escape(title)}" src="{data_uri(data, mime)}"></div>'


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: left; vertical-align: top; }
td.what { color: #555; font-size: 0.85em; max-width: 34em; }
.real { color: #777; font-size: 0.9em; }
td.best { font-weight: bold; }
.pass { color: #080; } .fail { color: #c00; font-weight: bold; }
.cols { display: grid; gap: 1em; }
.cols img { max-width: 100%; }
.cols video, .cols img.gif { width: min(100%, 480px); image-rendering: pixelated; }
h3 { margin-bottom: 0.2em; }
.verdict pre { white-space: pre-wrap; background: #f6f6f0; padding: 0.6em 0.8em; border-left: 4px solid #bb8; }
"""


def render_html(columns: list[Column], page_dir: Path, *, title: str, better: dict | None = None) -> str:
    """The page as a string; `page_dir` is where it will be written (for relative video links). `better`
    (two columns: figure -> "a", "b" or "tie") puts the better of each pair in bold."""
    head = "".join(f"<th>{html.escape(c.name)}</th>" for c in columns)
    rows = []
    for key, (name, what) in FIGURES.items():
        if not any(key in c.figures for c in columns):
            continue  # e.g. the music figures of runs without music
        bar = html.escape(BARS[key][0]) if key in BARS else ""
        cells = "".join(_cell(c.figures, key, best=(better or {}).get(key) == "ab"[i]) for i, c in enumerate(columns))
        rows.append(f'<tr><th>{name}</th><td class="what">{html.escape(what)}</td><td>{bar}</td>{cells}</tr>')
    grid = f'style="grid-template-columns: repeat({len(columns)}, 1fr)"'
    sections = [f'<h2>Dance</h2><div class="cols" {grid}>'
                + "".join(f"<div><h3>{html.escape(c.name)}</h3>{_video(c, page_dir)}</div>" for c in columns)
                + "</div>"]
    titles = list(dict.fromkeys(t for c in columns for t in c.images))
    for t in titles:
        cells = "".join(_image(t, c.images[t]) if t in c.images else "<div>—</div>" for c in columns)
        sections.append(f'<h2>{html.escape(t)}</h2><div class="cols" {grid}>{cells}</div>')
    info = "".join(
        f"<p><b>{html.escape(c.name)}</b>: {c.figures.get('frames')} frames at {_value(c.figures.get('fps'))} fps, "
        f"{c.figures.get('dances')} dances; real {c.figures.get('real_frames')} frames, "
        f"{c.figures.get('heldout_frames')} held out</p>" for c in columns)
    verdicts = "".join(
        f'<div class="verdict"><b>{html.escape(c.name)}</b><pre>{html.escape(chr(10).join(c.verdict))}</pre></div>'
        for c in columns if c.verdict)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{verdicts}{info}"
            f"<table><tr><th>figure</th><th>what it means</th><th>bar</th>{head}</tr>{''.join(rows)}</table>"
            f"{''.join(sections)}</body></html>\n")


def write_report(path: str | os.PathLike, columns: list[Column], *, title: str = "deepdance evaluation",
                 better: dict | None = None) -> Path:
    """Write the page atomically; one column per evaluated dance (see render_html for `better`)."""
    path = Path(path)
    text = render_html(columns, path.parent, title=title, better=better)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
