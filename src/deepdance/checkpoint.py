"""Model files: NAME.safetensors (weights) + NAME.json (recipe, model config, training config, figures).

The JSON alone rebuilds the network (`config()` of every model returns its keyword arguments), so a run
folder needs no code of the run that made it; nothing is ever unpickled.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import UserError
from .files import atomic_path, read_json, write_json
from .models import build_autoencoder, build_look, build_sequence

MODEL_FORMAT = "deepdance-model/1"
KINDS: dict[str, tuple[str, Callable[..., torch.nn.Module]]] = {
    "ae": ("autoencoder", build_autoencoder),
    "seq": ("sequence model", build_sequence),
    "look": ("look renderer", build_look),
}


def save_model(run_dir: Path, name: str, model: torch.nn.Module, meta: dict[str, Any]) -> None:
    """NAME.json (recipe, model config, and whatever `meta` adds) then NAME.safetensors, each atomically."""
    write_json(run_dir / f"{name}.json", {"format": MODEL_FORMAT, "kind": name, "recipe": model.recipe,
                                          "model": model.config(), **meta})
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(run_dir / f"{name}.safetensors") as tmp:
        save_file(state, str(tmp))


def model_meta(run_dir: str | os.PathLike, name: str) -> dict[str, Any]:
    """NAME.json of a run, checked to be a deepdance model config of that kind."""
    run_dir = Path(run_dir)
    what = KINDS[name][0]
    weights, meta_path = run_dir / f"{name}.safetensors", run_dir / f"{name}.json"
    if not weights.is_file() or not meta_path.is_file():
        raise UserError(f"{run_dir} has no trained {what} ({weights.name} + {meta_path.name}); "
                        f"train it first with 'deepdance train'")
    meta = read_json(meta_path)
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT or meta.get("kind") != name:
        raise UserError(f"{meta_path} is not a deepdance {what} config")
    if not isinstance(meta.get("model"), dict) or not isinstance(meta.get("recipe"), str):
        raise UserError(f"{meta_path}: 'recipe' must be a name and 'model' an object of settings")
    return meta


def load_model(run_dir: str | os.PathLike, name: str) -> torch.nn.Module:
    """The trained model NAME ("ae" or "seq") of a run folder, in eval mode on the CPU."""
    run_dir = Path(run_dir)
    what, build = KINDS[name]
    meta = model_meta(run_dir, name)
    weights, meta_path = run_dir / f"{name}.safetensors", run_dir / f"{name}.json"
    try:
        model = build(meta["recipe"], **meta["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise UserError(f"{meta_path}: cannot build the {what} ({e})") from None
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise UserError(f"{weights} is not a readable safetensors file ({e})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1].strip()
        raise UserError(f"{weights} does not match its config {meta_path.name}: {first}") from None
    return model.eval()


def check_checkpoint(path: Path) -> None:
    """Open a checkpoint to resume from the safe way (tensors and plain values only, nothing unpickled)
    before Lightning does, so a foreign or tampered file is one clear line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "pickle protocol 4 ...": the refusal below says it all
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(f"{path} holds Python objects besides tensors (maybe not ours, maybe tampered with); "
                        f"refused to load it: delete it, or train again with --force") from None
    except (RuntimeError, EOFError, ValueError, OSError) as e:
        raise UserError(f"{path} is not a readable checkpoint ({str(e).splitlines()[0][:200]}); "
                        f"delete it, or train again with --force") from None
    if not isinstance(state, dict) or "state_dict" not in state or "loops" not in state:
        raise UserError(f"{path} is not a Lightning checkpoint of deepdance; delete it, or train again with --force")
