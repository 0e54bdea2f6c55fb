"""The default sequence model: an LSTM that reads a window of latents and gives a distribution of the next.

Latents go in and come out in the autoencoder's own units; inside, they are standardised with the
training set's mean and spread (buffers saved with the weights). The head predicts a diagonal Gaussian
over the *change* to the next latent; sampling from it keeps the dance moving where a mean prediction
drifts to the average pose and stops.

Sampling noise is not drawn per dimension: independent noise in 128 dimensions leaves the set of
latents that decode to one dancer (on the built-in dancer it broke the figure into fragments at any
temperature above 0.25). It is drawn from the covariance of the model's own one-step errors on the
training data (`fit_noise`), so it moves the latent the ways the data really varies; at temperature 1
that kept a single crisp dancer and doubled the motion of the mean roll-out.

Training and generation work in the same chunks: read `window` latents, then predict `rollout` latents
one after another, each fed back (carrying the LSTM state) before the next. Training scores every
predicted step while feeding back the model's own samples, so it learns to recover from its own errors,
which is what generation asks of it; generation then reads the last `window` latents again and goes on.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F


class LatentLSTM(nn.Module):
    recipe = "default"

    def __init__(self, *, latent: int = 128, window: int = 10, hidden: tuple[int, ...] = (256, 256),
                 dropout: float = 0.2, rollout: int = 4, min_std: float = 0.02):
        super().__init__()
        self.latent, self.window, self.hidden = latent, window, tuple(hidden)
        self.dropout, self.rollout, self.min_std = dropout, rollout, min_std
        self.register_buffer("mean", torch.zeros(latent))
        self.register_buffer("std", torch.ones(latent))
        self.register_buffer("noise", torch.eye(latent))  # Cholesky factor of the sampling noise

        # --- stacked LSTMs of different widths, dropout between them
        sizes = (latent, *self.hidden)
        self.lstms = nn.ModuleList(nn.LSTM(a, b, batch_first=True) for a, b in zip(sizes, sizes[1:]))
        self.drop = nn.Dropout(dropout)
        # --- head: mean change and spread of the next standardised latent; starts at "no change"
        self.head = nn.Linear(self.hidden[-1], 2 * latent)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def config(self) -> dict:
        return {"latent": self.latent, "window": self.window, "hidden": list(self.hidden),
                "dropout": self.dropout, "rollout": self.rollout, "min_std": self.min_std}

    @property
    def span(self) -> int:
        """Length of one training sequence: the window plus the rolled-out targets."""
        return self.window + self.rollout

    def set_normalisation(self, latents: torch.Tensor) -> None:
        self.mean.copy_(latents.mean(0))
        self.std.copy_(latents.std(0).clamp_min(1e-4))

    @torch.no_grad()
    def fit_noise(self, windows: torch.Tensor) -> None:
        """Set the sampling noise to the covariance of the one-step errors on `windows`
        (B, window + 1, latent) of training latents."""
        u = (windows - self.mean) / self.std
        h, _ = self._read(u[:, :self.window])
        mu, _ = self._predict(h, u[:, self.window - 1])
        err = (u[:, self.window] - mu).double()
        cov = err.T @ err / max(1, len(err)) + 1e-6 * torch.eye(self.latent, dtype=torch.float64)
        self.noise.copy_(torch.linalg.cholesky(cov).float())

    # --- the network, in standardised units ------------------------------------------------------
    def _read(self, u: torch.Tensor, state: list | None = None) -> tuple[torch.Tensor, list]:
        """Feed (B, T, latent); returns the top layer's last output (B, hidden) and every layer's state."""
        h, new = u, []
        for i, lstm in enumerate(self.lstms):
            h, s = lstm(h, None if state is None else state[i])
            new.append(s)
            if i < len(self.lstms) - 1:
                h = self.drop(h)
        return h[:, -1], new

    def _predict(self, h: torch.Tensor, last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, raw_std = self.head(h).float().chunk(2, dim=-1)
        return last.float() + mu, self.min_std + F.softplus(raw_std + 0.5)

    # --- training objective -------------------------------------------------------------------------
    def loss(self, seq: torch.Tensor) -> torch.Tensor:
        """Mean Gaussian NLL of the `rollout` latents after the first `window` ones, each predicted after
        feeding back the model's own (reparameterised) samples. seq: (B, window + rollout, latent)."""
        u = (seq - self.mean) / self.std
        h, state = self._read(u[:, :self.window])
        last, total = u[:, self.window - 1], 0.0
        for k in range(self.rollout):
            mu, std = self._predict(h, last)
            target = u[:, self.window + k].float()
            total = total + (0.5 * ((target - mu) / std) ** 2 + std.log()).mean()
            last = (mu + std * torch.randn_like(mu)).to(u.dtype)
            if k < self.rollout - 1:
                h, state = self._read(last[:, None], state)
        return total / self.rollout + 0.5 * math.log(2 * math.pi)

    # --- generation ------------------------------------------------------------------------------
    @torch.no_grad()
    def roll_out(self, window: torch.Tensor, steps: int, *, temperature: float = 1.0,
                 generator: torch.Generator | None = None,
                 project: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """`steps` new latents (steps, latent) after `window` (1, T >= window, latent), in the autoencoder's
        units: the predicted mean plus `temperature` times the fitted noise, passed through `project`
        (if given) before it is fed back."""
        context = list(((window[0, -self.window:] - self.mean) / self.std).unbind(0))
        out = []
        while len(out) < steps:
            h, state = self._read(torch.stack(context[-self.window:])[None])
            chunk = min(self.rollout, steps - len(out))
            for k in range(chunk):
                mu, _ = self._predict(h, context[-1][None])
                if temperature > 0:
                    # drawn on the CPU: the same seed gives the same dance on any device
                    eps = torch.randn(self.latent, generator=generator).to(mu.device)
                    mu = mu + temperature * (self.noise @ eps)
                z = mu * self.std + self.mean
                if project is not None:
                    z = project(z)
                out.append(z[0])
                context.append(((z - self.mean) / self.std)[0])
                if k < chunk - 1:
                    h, state = self._read(context[-1][None, None], state)
        return torch.stack(out)

    def noise_window(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """A random start window (1, window, latent) drawn around the data's mean."""
        noise = torch.randn((1, self.window, self.latent), generator=generator).to(self.mean.device)
        return noise * self.std + self.mean
