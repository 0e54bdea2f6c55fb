"""The networks, one file each, and the table of recipe defaults. Models never read files:
`deepdance.checkpoint` saves and loads them.

Every autoencoder has `encode(x) -> z`, `decode(z) -> logits`, `probs(z)`, `loss(x) -> (loss, logits)`
and `config()`; every sequence model has `span`, `loss(seq)`, `roll_out(window, steps, ...)`,
`noise_window(...)` and `config()`; a sequence model with `music_features` > 0 reads
that many music features beside the latents. `config()` returns the keyword arguments that rebuild the model.
"""

from __future__ import annotations

from torch import nn

from .autoencoder import Autoencoder
from .look import LookNet
from .original import OriginalAutoencoder, OriginalLSTM
from .sequence import CodeLSTM

# Per recipe, what a config leaves open: training (batch size, learning rate, one-cycle schedule, shifted
# and mirrored frames) and sampling (temperature, top_p, near, re-projection onto one crisp silhouette).
# The original trained with plain Adam at Keras' default rate and batch size, and decoded its raw predictions.
RECIPE_DEFAULTS: dict[str, dict] = {
    "default": {"batch_size": 64, "lr": 3e-3, "onecycle": True, "augment": True,
                "temperature": 0.8, "top_p": 1.0, "near": 128, "project": True},
    "original": {"batch_size": 32, "lr": 1e-3, "onecycle": False, "augment": False,
                 "temperature": 0.0, "top_p": 1.0, "near": 0, "project": False},
}
RECIPES = tuple(RECIPE_DEFAULTS)
AUTOENCODERS: dict[str, type[nn.Module]] = {"default": Autoencoder, "original": OriginalAutoencoder}
SEQUENCES: dict[str, type[nn.Module]] = {"default": CodeLSTM, "original": OriginalLSTM}


def build_autoencoder(recipe: str, **kwargs) -> nn.Module:
    return AUTOENCODERS[recipe](**kwargs)


def build_sequence(recipe: str, **kwargs) -> nn.Module:
    return SEQUENCES[recipe](**kwargs)


def build_look(recipe: str, **kwargs) -> nn.Module:
    if recipe != "default":
        raise ValueError(f"the look has only the default recipe, not {recipe!r}")
    return LookNet(**kwargs)


__all__ = ["RECIPE_DEFAULTS", "RECIPES", "Autoencoder", "CodeLSTM", "LookNet", "OriginalAutoencoder", "OriginalLSTM",
           "build_autoencoder", "build_look", "build_sequence"]
