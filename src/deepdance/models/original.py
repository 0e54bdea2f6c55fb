"""The original project's networks (`--recipe original`), rebuilt as they were, for comparison.

Autoencoder on 120x200 silhouettes: three blocks of [conv3x3(32)+ReLU]x2 + maxpool, conv(32), conv(8),
dense 512, dense 128 (ReLU); decoder dense 512, dense 1500, reshape to 15x25x4, three transposed convs
of 32 each followed by x2 upsampling, and a 1-channel sigmoid; MSE loss.
Sequence model: LSTM 512-256-256 with dropout 0.2, then dense 128 (ReLU), MSE on the next latent;
generation starts from a random window and feeds back its own predictions.

Both start from Keras' initialisation, as the original was a Keras project (PyTorch's defaults shrink the
signal so much through these 16 plain layers that the decoder's output ignores its input: per-pixel spread
3e-8). One addition: `init_output_bias` sets the output's bias to the data's share of dancer pixels. Without it
MSE through a sigmoid, with a dancer on 5.5% of the picture, drives every logit below -1000 within 20 Adam
steps; the sigmoid saturates, the gradient vanishes and the autoencoder draws a blank picture forever (held-out
IoU 0.0 after 200-300 steps, at lr 1e-3 and at 1e-4, with either initialisation and either polarity). With it
the same networks, loss and optimiser reach IoU 0.6 in 120 steps, and 0.73 held out after 16 epochs of the
built-in dancer: blurred, smeared limbs, as the original's own videos show.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .. import limits

WIDTH, HEIGHT = 200, 120


def keras_init(module: nn.Module) -> None:
    """Keras' defaults: Glorot-uniform weights and zero biases; LSTMs with orthogonal recurrent weights and
    the forget gate's bias at 1."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LSTM):
            for name, p in m.named_parameters():
                # PyTorch stacks the gates' matrices as Keras does (4 * units rows), so the whole-matrix
                # Glorot limit and orthogonality match
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(p)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(p)
                else:
                    nn.init.zeros_(p)
                    if name.startswith("bias_ih"):
                        p.data[m.hidden_size:2 * m.hidden_size] = 1.0  # PyTorch's gate order: input, forget, ...


class OriginalAutoencoder(nn.Module):
    recipe = "original"

    def __init__(self, *, width: int = WIDTH, height: int = HEIGHT, latent: int = 128):
        super().__init__()
        if (width, height) != (WIDTH, HEIGHT):
            raise ValueError(f"the original recipe needs {WIDTH}x{HEIGHT} frames, got {width}x{height}")
        limits.check_setting("latent", latent, 1, limits.MAX_LATENT)
        self.width, self.height, self.latent = width, height, latent

        # --- encoder
        blocks, c = [], 1
        for _ in range(3):
            blocks += [nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c = 32
        blocks += [nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 8, 3, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(*blocks, nn.Flatten(), nn.Linear(8 * 15 * 25, 512), nn.ReLU(),
                                     nn.Linear(512, latent), nn.ReLU())

        # --- decoder
        self.dense = nn.Sequential(nn.Linear(latent, 512), nn.ReLU(), nn.Linear(512, 1500), nn.ReLU())
        ups, c = [], 4
        for _ in range(3):
            ups += [nn.ConvTranspose2d(c, 32, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2)]
            c = 32
        self.decoder = nn.Sequential(*ups, nn.Conv2d(32, 1, 3, padding=1))
        keras_init(self)

    @torch.no_grad()
    def init_output_bias(self, ink: float) -> None:
        """Start the output at `ink`, the share of dancer pixels in the data (see the module's note)."""
        ink = min(max(ink, 1e-4), 1 - 1e-4)
        self.decoder[-1].bias.fill_(math.log(ink / (1 - ink)))

    def config(self) -> dict:
        return {"width": self.width, "height": self.height, "latent": self.latent}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits; the original's sigmoid output is `probs`."""
        return self.decoder(self.dense(z).view(-1, 4, 15, 25))

    def probs(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode(z).float())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decode(z), z

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, _ = self(x)
        logits = logits.float()
        return F.mse_loss(torch.sigmoid(logits), x), logits


class OriginalLSTM(nn.Module):
    recipe = "original"
    music_features = 0  # the original never heard its video's music

    def __init__(self, *, latent: int = 128, window: int = 10):
        super().__init__()
        limits.check_setting("latent", latent, 1, limits.MAX_LATENT)
        limits.check_setting("window", window, 1, limits.MAX_WINDOW)
        self.latent, self.window = latent, window
        self.lstm1 = nn.LSTM(latent, 512, batch_first=True)
        self.lstm2 = nn.LSTM(512, 256, batch_first=True)
        self.lstm3 = nn.LSTM(256, 256, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.out = nn.Linear(256, latent)
        keras_init(self)

    def config(self) -> dict:
        return {"latent": self.latent, "window": self.window}

    @property
    def span(self) -> int:
        return self.window + 1

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        h = self.drop(self.lstm1(window)[0])
        h = self.drop(self.lstm2(h)[0])
        h = self.drop(self.lstm3(h)[0][:, -1])
        return F.relu(self.out(h))

    def loss(self, seq: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self(seq[:, :self.window]).float(), seq[:, self.window].float())

    @torch.no_grad()
    def roll_out(self, window: torch.Tensor, steps: int, *, temperature: float = 0.0,
                 generator: torch.Generator | None = None, music: torch.Tensor | None = None) -> torch.Tensor:
        """The original's roll-out: predict from the last `window` latents, append, repeat. It is
        deterministic, so temperature and generator are accepted and ignored; it never hears music."""
        if music is not None:
            raise ValueError("the original recipe has no music input")
        window = window[:, -self.window:].float()
        out = []
        for _ in range(steps):
            z = self(window).float()
            out.append(z[0])
            window = torch.cat([window[:, 1:], z[:, None]], dim=1)
        return torch.stack(out)

    def noise_window(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """The original's start: a uniform random (1, window, latent) window."""
        return torch.rand((1, self.window, self.latent), generator=generator).to(self.out.weight.device)
