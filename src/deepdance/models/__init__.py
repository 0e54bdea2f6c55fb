"""The networks, one file each. Models never read files: `deepdance.train` saves and loads them.

Every autoencoder has `encode(x) -> z`, `decode(z) -> logits`, `probs(z)`, `loss(x) -> (loss, logits)`
and `config()`; every sequence model has `span`, `loss(seq)`, `roll_out(window, steps, ...)`,
`noise_window(...)` and `config()`; a sequence model with a `music` size > 0 reads
music features beside the latents. `config()` returns the keyword arguments that rebuild the model.
"""

from __future__ import annotations

from torch import nn

from .autoencoder import Autoencoder
from .original import OriginalAutoencoder, OriginalLSTM
from .sequence import CodeLSTM

RECIPES = ("default", "original")
AUTOENCODERS: dict[str, type[nn.Module]] = {"default": Autoencoder, "original": OriginalAutoencoder}
SEQUENCES: dict[str, type[nn.Module]] = {"default": CodeLSTM, "original": OriginalLSTM}


def build_autoencoder(recipe: str, **kwargs) -> nn.Module:
    return AUTOENCODERS[recipe](**kwargs)


def build_sequence(recipe: str, **kwargs) -> nn.Module:
    return SEQUENCES[recipe](**kwargs)


__all__ = ["RECIPES", "Autoencoder", "CodeLSTM", "OriginalAutoencoder", "OriginalLSTM",
           "build_autoencoder", "build_sequence"]
