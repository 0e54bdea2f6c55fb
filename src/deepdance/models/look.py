"""The dancer's look: the fitted body drawn at a pose -> the dancer's own silhouette at that pose.

A small U-Net reads the body's ink map (1 = body) and adds its correction to a prior that is the body
itself (`prior` * (2 * body - 1) in logits); the last layer starts at zero, so an untrained look is exactly
the body, and training only has to learn where this dancer departs from it (a skirt, hair, loose sleeves).
That is what lets a few hundred frames suffice where the pixel autoencoder needs thousands: the pose, the
hard part, comes in with the input.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.SiLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.SiLU())


class LookNet(nn.Module):
    recipe = "default"

    def __init__(self, *, width: int = 8, depth: int = 3, pool: int = 4, prior: float = 4.0):
        super().__init__()
        if not 4 <= width <= 256 or not 1 <= depth <= 5 or not 1 <= pool <= 8:
            raise ValueError(f"width must be 4-256, depth 1-5 and pool 1-8, got {width}, {depth} and {pool}")
        self.width, self.depth, self.pool, self.prior = width, depth, pool, prior
        chans = [width * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([_block(1, chans[0])] + [_block(chans[i], chans[i + 1]) for i in range(depth)])
        self.up = nn.ModuleList([_block(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(depth))])
        self.out = nn.Conv2d(chans[0], 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def config(self) -> dict:
        return {"width": self.width, "depth": self.depth, "pool": self.pool, "prior": self.prior}

    def forward(self, body: torch.Tensor) -> torch.Tensor:
        """Body ink maps (B, 1, H, W) in [0, 1] -> logits of the dancer's silhouette (B, 1, H, W).
        The correction is worked out at 1/`pool` of the size (a departure from the body is a broad shape:
        a skirt, hair) and scaled up; the body's own prior keeps its edges at full size."""
        h, w = body.shape[-2:]
        m = self.pool * 2 ** self.depth
        padded = F.pad(body, (0, -w % m, 0, -h % m))
        x, skips = F.avg_pool2d(padded, self.pool) if self.pool > 1 else padded, []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="nearest"), skip], 1))
        correction = self.out(x)
        if self.pool > 1:
            correction = F.interpolate(correction, size=padded.shape[-2:], mode="bilinear", align_corners=False)
        return (correction + self.prior * (2 * padded - 1))[..., :h, :w]

    def loss(self, body: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Binary cross-entropy of the predicted silhouette against the real one (both ink maps)."""
        logits = self(body)
        return F.binary_cross_entropy_with_logits(logits.float(), target.float()), logits
