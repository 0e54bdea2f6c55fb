"""The default sequence model: an LSTM that reads poses as codes and samples the next code.

Every latent is mapped to the nearest of `codes` pose codes, the centres of a k-means clustering of the
training latents (standardised with the training mean and spread; all saved as buffers with the
weights). The LSTM reads the codes of the past frames (and, when trained with music, the music of the
frame it predicts) and outputs a categorical distribution over the next code. Generation samples from
it with a temperature, keeps its state for the whole dance, and turns the codes back into latents.

Why codes: a Gaussian over the next latent averages the several ways a dance can go on, and sampling it
in 128 dimensions leaves the set of latents that decode to one dancer. On the built-in dancer (1,500
generated frames, fsd = Fréchet shape distance to the real frames, real halves: 3.8):
    Gaussian over the change of latent, noise from the one-step errors   fsd 19.6 (stays in one place)
    the same with 32 PCA dimensions, stateful                            fsd 27.0, 37% frozen
    codes, K = 256 / 512 / 1024                                          fsd 4.1 / 4.0 / 2.9, 20 / 11 / 6% frozen
    codes K = 512, runs of a code turned into in-betweens (the default)  fsd 4.9, 1% frozen, novelty 0.42 (real 0.47)
A run of the same code (the dancer moving within one code's cell) would show the same picture several
frames in a row; `codes_to_latents` holds each run's code for `hold` of the run around its middle and
interpolates between runs, so the motion goes on smoothly and still pauses where the dancer held a pose.

Trained on its own data's exact codes, the LSTM learnt the choreography by heart (train loss 0.05, held-out
6.5 nats) and, in a roll-out, followed the codes and not the music: to a 100 BPM drum beat its motion had
a 3.7-beat period instead of the beat's. Replacing `corrupt` of the input codes by one of their 8 nearest
codes while training makes the past uncertain, so the beat in the music is what tells it when to move
(music run, 1,200 generated frames a dance, 3 dances; real data: fsd 3.9, bas 0.70):
    corrupt 0,    hold 0    fsd 8.2   bas 0.51   motion period at 100 / 130 BPM: 3.7 / 3.4 beats
    corrupt 0.2,  hold 0.5  fsd 3.9   bas 0.61   1.0 / 1.0 beats
    corrupt 0.28, hold 0.6, temperature 0.8 (the default)   fsd 4.2   bas 0.73   1.0 / 1.0 beats
Holding longer (0.75) raised bas but froze 10% of the frames.

On a short clip (12 s, 144 frames) the model learnt its last training pose as a place to stay: a roll-out
reached it and stayed for the rest of the dance (freeze 0.70, the dancer 0.06). `max_run` records the longest
the training data stayed on one code, and a roll-out moves on after that long: freeze 0.37 (0.13 with the
pose run's code per 2 frames, see train.py). (A limit per code
took the portrait clip only to 0.35, and with each clip's end looped back to its start, made the built-in
dancer's dances from different seeds alike: diversity 0.63 -> 0.29, the dancer 0.79.)

A code's centre is an average pose, and a dance of centres moves less than the dancer did (a 12-s clip's at
0.20 torso lengths/s, the dancer at 0.42) and slides its feet. With `real`, the codes steer a `RealWalk` over
the data's real steps instead: it goes on with the real dance while the model asks for what comes next (or
stays), jumps where the model asks for another code, to a step on the same part of the beat whose
predecessor is nearest the current pose, and eases into it. The model reads the steps the walk took.
`evaluate`, 3 dances, the built-in dancer (1,200 steps, `make demo`'s model, body look) / the 12-s portrait
clip (720 steps, learned look); real yardsticks after the slash:
                      kinetic FD      foot sliding     joint speed    fsd            bas           checks
    built-in centres   94 / 54        0.64 / 0.17      0.97 / 1.09    4.8 / 3.9      0.61 / 0.70   13 of 14
    built-in real      46             0.28             0.96           5.4            0.69          14 of 14
    portrait centres   67 / 53        0.071 / 0.069    0.20 / 0.42    58 / 50        0.50 / 0.40   8 of 13
    portrait real      40             0.061            0.31           32             0.40          11 of 14
(checks as evaluate counts them today, freeze against her own poses drawn: see metrics.quality_report; the
portrait fails bas against another tempo, 0.37, and the drum-tempo periods.) Letting a short clip's walk change
moves only a quarter beat after a beat raised its joint speed (0.31 -> 0.38) and its bas against another tempo
(0.30), but it paused more: joint speed under a quarter of the dancer's median in 0.128 of frames (0.107; hers
0.118), and on a second run of the same clip 0.104 (0.065; hers 0.035), freeze 0.13 against 0.04. Left out.

Following the music of a short clip. The portrait dancer's poses pause near her beat, not on it, and a walk
over them followed her song no better than another tempo. Three changes, measured over 6 dances of 720 steps
(bas to her song / to a beat at 1.3x its tempo; freeze; her yardsticks 0.40 / 0.25, freeze bar 0.106) and
4 of the built-in dancer's of 1,200 (real 0.70 / 0.46):
    before                                                   portrait 0.37 / 0.35, freeze 0.068   built-in 0.72 / 0.41
    her pauses moved onto the beats (`conditioning.on_beat`)
      + DWELL 4 steps after each jump                        portrait 0.40 / 0.34, freeze 0.090   built-in 0.69 / 0.41
    + jumps only on the beat (instead of DWELL)              portrait 0.42 / 0.31, freeze 0.12-0.13 (over the bar)
The walk, jumping less, went on through her one long pause again and again; it now takes no more still steps
than she did (`STILL`), which took the pause-on-beat walk from freeze 0.086 to 0.062 at DWELL 0 but not
below the bar with jumps only on the beat. The portrait's ratio to another tempo, 1.2, is the issue's bar and
under `evaluate`'s 1.3.
With the stillness limit, `evaluate` (3 dances) on three runs of the portrait clip and the built-in dancer
(ratio = bas / bas against another tempo; diversity bar 0.71 for the portrait, 0.40 for the built-in):
                                  portrait ratios     diversity (first run)   built-in: ratio, diversity
    DWELL 4 (the default)         1.13 / 1.09 / 1.18  0.82                    1.66, 0.65
    jumps only on the beat        1.36 / 1.46 / 1.33  0.56 (fails)            1.64, 0.38 (fails)
    jumps only on the half beat   1.35 / 1.20 / 1.16  1.21                    1.54, 0.79 (130 BPM period fails)
Fewer jumps keep more of her beat and make dances from different seeds alike: one trades for the other.
The walk's jumps put the dance's pauses off the beat again: `generate` moves the dance's own pauses onto its
beats as `on_beat` moved hers, at most 1.2x faster or slower, read straight off the steps (reading the frames
of frames smoothed the motion: latent speed per frame -6%, more freeze). 6 dances of 720 steps (the 12-s
made room clip, the portrait), 4 of 1,200 (built-in); bas / ratio to another tempo / freeze:
                          12-s made room clip     portrait               built-in
    without               0.58 / 1.29 / 0.062     0.40 / 1.13 / 0.072    0.66 / 1.63 / 0.063
    at most 1.1x          0.61 / 1.36 / 0.064     0.44 / 1.24 / 0.074    0.72 / 1.79 / 0.064
    at most 1.2x          0.66 / 1.45 / 0.066     0.46 / 1.31 / 0.068    0.77 / 1.95 / 0.066
    the dancer            0.70                    0.40                   0.70
`make demo` after it: bas 0.77 (0.70), 15 of 15 checks; the portrait's `run --video`: bas 0.47 (0.40), ratio 1.38.
The dance still paused more than the dancer on a made room clip (freeze 0.066, bar 0.064) and the built-in
dancer (0.071, bar 0.089, worst seed 0.111): where a jump lands far from the dance's pose, easing over that
distance in BLEND steps cancels the new steps' own motion. The walk now goes on with the real dance instead
of jumping where the step asked for starts over `FAR` of her median steps away. 10 dances (1,200 steps; the
12-s made room clip's freeze bar 0.064, the built-in's 0.089); freeze mean (worst) / bas:
                  12-s made room clip        built-in
    no limit      0.066 (0.092) / 0.68       0.071 (0.111) / 0.77
    FAR 4         0.042 / 0.81               0.069 (0.116)
    FAR 6         0.042 (0.060) / 0.73       0.055 (0.078) / 0.75
    FAR 8         0.057
(4-6 dances, FAR 6: the 30-s made clip's bas 0.59 -> 0.61, kinetic FD 12.7 -> 8.4, real 6.3; the portrait's
freeze 0.056 -> 0.045, jumps 191 -> 104 in 720 steps, diversity 0.77 -> 0.82.)
Going on instead of far jumps left room to move the dance's own pauses further: `generate`'s warp at most 1.4x
(`FINAL_STRETCH`). 6 dances of 720 steps (10 of 1,200 for the 12-s clip); bas / freeze mean (worst):
                  30-s made clip     12-s made clip            portrait                  built-in
    at most 1.2x  0.60 / 0.002       0.73 / 0.042 (0.060)      0.45 / 0.045 (0.056)      0.74 / 0.048 (0.076)
    at most 1.4x  0.64 / 0.003       0.76 / 0.043 (0.061)      0.49 / 0.053 (0.088)      0.75 / 0.049 (0.072)
    the dancer    0.68 (bar 0.62)    0.70 (freeze bar 0.064)   0.40 (freeze bar 0.106)   0.70 (freeze bar 0.089)
At 1.4x the motion's period to 100 and 130 BPM drums stays 1.0 beat (built-in and 12-s clip, 3 seeds each).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from scipy.cluster.vq import kmeans2
from scipy.ndimage import uniform_filter1d
from torch import nn
from torch.nn import functional as F

from .. import limits


def _runs(codes: torch.Tensor) -> list[int]:
    """Lengths of the runs of one code in a sequence of codes, in order."""
    change = torch.nonzero(codes[1:] != codes[:-1]).reshape(-1) + 1
    bounds = [0, *change.tolist(), len(codes)]
    return [b - a for a, b in zip(bounds[:-1], bounds[1:])] or [0]


NEAR_ENOUGH = 4   # a walk goes on with the real dance when the model asks for one of the next step's 4 nearest codes
BACK_JUMP = 4     # it never jumps back by 4 steps or less (a stutter)
RECENT = 0.25     # nor, where it can help it, to a step it took in its last steps, a quarter of the real ones (a loop)
BLEND = 4         # and after a jump it eases from where the dance was into the new steps over 4 steps
DWELL = 4         # then it goes on for at least 4 steps (half a beat in beat steps) whatever the model asks
STILL = 0.25      # a step is still where its speed (over STILL_STEPS steps) is under a quarter of the median,
STILL_STEPS = 5   # and the walk takes no more still steps than the dancer did while she danced
FAR = 6           # it goes on instead of jumping where the step asked for is over 6 of her median steps away


class RealDance(NamedTuple):
    """The real steps a roll-out takes its poses from (`RealWalk`): latents (M, latent) in the steps the model
    reads, the clips [(start, end)] they form, the step the start window ends on (None for a window of noise),
    and for a dance in beat steps, where in its beat each real step (M,) and each new step (steps,) lies
    (0 to 1), so that a jump lands on the same part of the beat."""
    latents: torch.Tensor
    clips: list
    after: int | None = None
    phase: torch.Tensor | None = None
    dance_phase: torch.Tensor | None = None


class RealWalk:
    """A walk over real steps that a roll-out steers (a motion graph). Asked for a code, it goes on with the
    real dance when the next real step lies on the same part of the beat and has that code (or a near one),
    or the code is the current step's own (the model staying put). Otherwise it jumps to the step of that
    code whose predecessor is nearest the current pose, on the same part of the beat, and not one it has just
    been at; after a jump it goes on for DWELL steps, and it goes on instead of a jump that would start FAR
    from the current pose. Where it has been still more often than the dancer
    was, it jumps past her still steps instead of going on into them. A code no real step has gives its
    centre, and the walk starts again from there."""

    def __init__(self, model: "CodeLSTM", real: RealDance):
        self.z = torch.as_tensor(real.latents).float().cpu()
        n = len(self.z)
        self.own = model.encode(self.z.to(model.mean.device)).cpu()
        self.u = (self.z - model.mean.cpu()) / model.std.cpu()
        self.centres = model.codebook.cpu()
        self.mean, self.std = model.mean.cpu(), model.std.cpu()
        first, self.end = torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
        for a, b in real.clips:
            first[a:b], self.end[a:b] = a, b
        self.before = torch.where(torch.arange(n) > first, torch.arange(n) - 1, torch.arange(n))
        self.order = torch.argsort(self.own, stable=True)
        self.bounds = torch.searchsorted(self.own[self.order], torch.arange(model.codes + 1))
        self.near = model.nearest_codes(min(NEAR_ENOUGH, model.codes)).cpu()
        self.phase, self.dance_phase = real.phase, real.dance_phase
        self.at, self.picks, self.taken = real.after, [], []
        self.recent = max(1, round(RECENT * n))
        self.offset, self.blend, self.since = torch.zeros(self.z.shape[1]), 0, 0
        # in the latents' own units: standardised, the dimensions that hardly move would count their noise
        speed = torch.from_numpy(uniform_filter1d((self.z - self.z[self.before]).norm(dim=1).numpy(), STILL_STEPS))
        self.still = speed < STILL * speed.median()
        dancing = torch.zeros(n, dtype=torch.bool)   # not the stillness before she starts and after she stops
        for a, b in real.clips:
            moving = torch.nonzero(~self.still[a:b]).reshape(-1)
            if len(moving):
                dancing[a + moving[0]:a + moving[-1] + 1] = True
        self.still_real = float(self.still[dancing].float().mean()) if dancing.any() else 1.0
        self.still_taken = 0
        self.step_length = float((self.z - self.z[self.before]).norm(dim=1).median())

    def _jump(self, code: int, at: int | None) -> int | None:
        cand = self.order[self.bounds[code]:self.bounds[code + 1]]
        if not len(cand):
            return None
        if at is None:   # nothing to go on from: the step nearest the code's centre
            d, avoid = torch.cdist(self.u[cand], self.centres[code][None])[:, 0], []
        else:
            d = (self.u[self.before[cand]] - self.u[at]).norm(dim=1)
            avoid = [(cand <= at) & (cand > at - BACK_JUMP),
                     torch.isin(cand, torch.tensor(self.taken[-self.recent:], dtype=torch.long))]
        avoid.append(~self._in_phase(cand))
        if self._too_still():
            avoid.append(self.still[cand])
        ok = torch.ones(len(cand), dtype=torch.bool)
        for mask in avoid:   # in order of importance, each only where a step is left
            if (ok & ~mask).any():
                ok &= ~mask
        return int(cand[d.masked_fill(~ok, torch.inf).argmin()])

    def _in_phase(self, steps: torch.Tensor) -> torch.Tensor:
        """Whether real `steps` lie on the same part of the beat as the new step (within 1/8 beat)."""
        if self.phase is None:
            return torch.ones(len(steps), dtype=torch.bool)
        off = (self.phase[steps] - self.dance_phase[len(self.picks)]).abs()
        return torch.minimum(off, 1 - off) <= 1 / 8 + 1e-6

    def _too_still(self) -> bool:
        """Whether the walk has been still in more of its steps than the dancer was in hers."""
        return bool(self.taken) and self.still_taken > self.still_real * len(self.taken)

    def _far(self, to: int) -> bool:
        """Whether jumping to real step `to` starts over FAR of her median steps from the dance's pose: easing
        over that distance in BLEND steps would undo the new steps' motion (a pause)."""
        return bool(self.picks) and float((self.picks[-1] - self.z[self.before[to]]).norm()) > FAR * self.step_length

    def _looping(self, to: int) -> bool:
        """Whether real step `to` is one the walk took in its last steps: the only steps of the code asked for
        lie there, and jumping back would loop one phrase (a short clip's slow beat, taken again and again)."""
        return to in self.taken[-self.recent:]

    def step(self, code: int) -> int:
        """Take the step the model asked for with `code`; returns the code of the step taken."""
        at, to = self.at, None
        go_on = at is not None and at + 1 < self.end[at] and bool(self._in_phase(torch.tensor([at + 1]))[0])
        if go_on and self.since >= DWELL:
            if self.still[at + 1] and self._too_still():
                go_on = False
            elif not (code == int(self.own[at]) or code in self.near[int(self.own[at + 1])]):
                to = self._jump(code, at)
                go_on = to is not None and (self._far(to) or self._looping(to))
        if go_on:
            at += 1
            self.since += 1
        else:
            self.since = 0
            at = self._jump(code, at) if to is None else to
            if at is not None and self.picks:
                # start the new steps from where the dance is, then ease into them
                self.offset, self.blend = self.picks[-1] - self.z[self.before[at]], BLEND
        self.at = at
        pose = self.z[at] if at is not None else self.centres[code] * self.std + self.mean
        self.picks.append(pose + self.offset * (self.blend / BLEND))
        self.blend = max(0, self.blend - 1)
        if at is not None:
            self.taken.append(at)
            self.still_taken += int(self.still[at])
        return code if at is None else int(self.own[at])

    def latents(self) -> torch.Tensor:
        """The steps taken so far (N, latent)."""
        return torch.stack(self.picks)


class CodeLSTM(nn.Module):
    recipe = "default"

    def __init__(self, *, latent: int = 128, window: int = 10, codes: int = 512, embed: int = 128,
                 hidden: int = 256, layers: int = 2, dropout: float = 0.3, predict: int = 14, music_features: int = 0,
                 corrupt: float = 0.28, hold: float = 0.6, max_run: int = 0):
        super().__init__()
        if not 0 <= corrupt < 1 or not 0 <= hold <= 1:
            raise ValueError(f"corrupt must be in [0, 1) and hold in [0, 1], got {corrupt} and {hold}")
        for name, value, low, high in (("latent", latent, 1, limits.MAX_LATENT), ("window", window, 1, limits.MAX_WINDOW),
                                       ("codes", codes, 2, 65536), ("embed", embed, 1, 4096),
                                       ("hidden", hidden, 1, 4096), ("layers", layers, 1, 16),
                                       ("predict", predict, 1, limits.MAX_WINDOW),
                                       ("music_features", music_features, 0, 256)):
            limits.check_setting(name, value, low, high)
        limits.check_setting("dropout", dropout, 0, 0.99, integer=False)
        limits.check_parameters("sequence model", codes * (embed + hidden + 2 * latent)
                                + 4 * layers * hidden * (embed + music_features + 2 * hidden))
        self.latent, self.window, self.codes, self.embed_dim = latent, window, codes, embed
        self.hidden, self.layers, self.dropout, self.predict = hidden, layers, dropout, predict
        self.music_features = music_features  # width of the music rows read beside the codes (0: none)
        self.corrupt, self.hold = corrupt, hold
        self.max_run = max_run  # the longest the training data stayed on one code (0: no limit), see fit_runs
        self.register_buffer("mean", torch.zeros(latent))
        self.register_buffer("std", torch.ones(latent))
        self.register_buffer("codebook", torch.zeros(codes, latent))  # standardised units

        self.embed = nn.Embedding(codes, embed)
        self.lstm = nn.LSTM(embed + music_features, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, codes)

    def config(self) -> dict:
        return {"latent": self.latent, "window": self.window, "codes": self.codes, "embed": self.embed_dim,
                "hidden": self.hidden, "layers": self.layers, "dropout": self.dropout, "predict": self.predict,
                "music_features": self.music_features, "corrupt": self.corrupt, "hold": self.hold,
                "max_run": self.max_run}

    @property
    def span(self) -> int:
        """Length of one training sequence: `window` frames that warm the state up, then `predict` scored ones."""
        return self.window + self.predict

    # --- the codebook ------------------------------------------------------------------------------
    @torch.no_grad()
    def fit_codebook(self, latents: torch.Tensor, *, seed: int = 0) -> None:
        """Standardise with the training latents' statistics and cluster them into `codes` pose codes."""
        latents = latents.float()
        self.mean.copy_(latents.mean(0))
        self.std.copy_(latents.std(0).clamp_min(1e-4))
        u = ((latents - self.mean) / self.std).double().numpy()
        if len(u) < self.codes:
            raise ValueError(f"{len(u)} training latents cannot make {self.codes} codes")
        centres, _ = kmeans2(u, self.codes, seed=seed, minit="++", iter=30)
        self.codebook.copy_(torch.from_numpy(centres).float())

    def fit_runs(self, latents: torch.Tensor, clips: list[tuple[int, int]]) -> None:
        """`max_run`: the longest run of one code within the clips of the training latents (in the steps the
        model reads: frames, or beat steps)."""
        codes = self.encode(latents).cpu()
        self.max_run = max(max(_runs(codes[a:b])) for a, b in clips if b > a)

    def encode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (..., latent) -> the index of the nearest code (...)."""
        u = ((latents.float() - self.mean) / self.std).reshape(-1, self.latent)
        return torch.cdist(u, self.codebook).argmin(1).reshape(latents.shape[:-1])

    def codes_to_latents(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (N,) -> latents (N, latent): a run of L steps of one code holds its pose for `hold` * (L - 1)
        steps around the run's middle, and the steps between held poses interpolate linearly (the first and
        last runs hold their pose to the ends)."""
        codes = codes.reshape(-1).cpu()
        starts = torch.nonzero(torch.cat([torch.tensor([True]), codes[1:] != codes[:-1]])).reshape(-1)
        ends = torch.cat([starts[1:], torch.tensor([len(codes)])])
        middle, half = (starts + ends - 1).double() / 2, self.hold * (ends - starts - 1).double() / 2
        # two knots per run, where its held pose begins and ends
        key_t = torch.stack([middle - half, middle + half], 1).reshape(-1)
        key_u = self.codebook.cpu()[codes[starts]].double().repeat_interleave(2, 0)
        t = torch.arange(len(codes), dtype=torch.float64)
        right = torch.searchsorted(key_t, t, right=True).clamp(1, len(key_t) - 1)
        left = right - 1
        span = key_t[right] - key_t[left]
        w = torch.where(span > 0, (t - key_t[left]) / span.clamp_min(1e-9), torch.zeros_like(t)).clamp(0, 1)
        u = (1 - w[:, None]) * key_u[left] + w[:, None] * key_u[right]
        return (u.float() * self.std.cpu() + self.mean.cpu()).to(self.mean.device)

    def nearest_codes(self, k: int) -> torch.Tensor:
        """(codes, k) indices of each code's k nearest codes, itself first."""
        return torch.cdist(self.codebook, self.codebook).argsort(1)[:, :k]

    # --- the network -----------------------------------------------------------------------------
    def _step_inputs(self, codes: torch.Tensor, music: torch.Tensor | None) -> torch.Tensor:
        x = self.embed(codes)
        if self.music_features:
            if music is None:
                raise ValueError("this model was trained with music: give the music of every frame")
            x = torch.cat([x, music.to(x.dtype)], dim=-1)
        return x

    def _read(self, codes: torch.Tensor, music: torch.Tensor | None, state=None):
        h, state = self.lstm(self._step_inputs(codes, music), state)
        return self.head(self.drop(h)).float(), state

    def loss(self, seq: torch.Tensor, music: torch.Tensor | None = None) -> torch.Tensor:
        """Cross-entropy of the next code over the last `predict` frames of each sequence.
        seq: latents (B, span, latent); music: (B, span, music_features) rows of the same frames (reading
        frame t goes with the music of frame t + 1, the one being predicted)."""
        codes = self.encode(seq)
        past = codes[:, :-1]
        if self.training and self.corrupt > 0:
            # a roll-out reads its own imperfect past: train on a past where some codes are a neighbour's
            k = min(9, self.codes)
            swap = torch.rand(past.shape, device=past.device) < self.corrupt
            pick = torch.randint(1, k, past.shape, device=past.device)
            past = torch.where(swap, self.nearest_codes(k)[past, pick], past)
        logits, _ = self._read(past, None if music is None else music[:, 1:])
        scored = slice(self.window - 1, None)
        return F.cross_entropy(logits[:, scored].reshape(-1, self.codes), codes[:, 1:][:, scored].reshape(-1))

    # --- generation ------------------------------------------------------------------------------
    @torch.no_grad()
    def roll_out(self, window: torch.Tensor, steps: int, *, temperature: float = 1.0, top_p: float = 1.0,
                 near: int = 0, generator: torch.Generator | None = None,
                 music: torch.Tensor | None = None, real: RealDance | None = None) -> torch.Tensor:
        """`steps` new latents (steps, latent) after `window` (1, T >= window, latent), in the autoencoder's
        units: the codes' centres (`codes_to_latents`), or with `real` the real steps a `RealWalk` takes
        where the codes steer it. `music` (window + steps, music_features): the music of the window's frames
        and of the new ones.
        Temperature 0 always takes the most likely code; `top_p` < 1 samples only among the most likely
        codes that together hold that much probability (the rare rest is where a dancer jumps across the
        stage from one frame to the next). `near` > 0 samples only among the `near` codes closest to the
        current one."""
        window = window[:, -self.window:]
        w = window.shape[1]
        if self.music_features and (music is None or len(music) < w + steps):
            raise ValueError(f"music must cover the window and the dance: {w + steps} rows")
        m = None if music is None else music[None].float().to(self.mean.device)
        codes = self.encode(window)
        logits, state = self._read(codes, None if m is None else m[:, 1:w + 1])
        last, out, current = logits[0, -1], [], codes[0, -1].cpu()
        run = _runs(codes[0].cpu())[-1]
        walk = None if real is None else RealWalk(self, real)
        if near:
            nearest = self.nearest_codes(near).cpu()
        for t in range(steps):
            scores = last.cpu().double()
            if 0 < self.max_run <= run:
                # held as long as the dancer ever held a pose: move on. On a short clip the model learns its
                # last training pose as a place to stay (a 12-s clip froze in 0.70 of the dance, its dancer 0.06)
                scores[current] = -torch.inf
            if temperature > 0:
                # drawn on the CPU: the same seed gives the same dance on any device
                probs = F.softmax(scores / temperature, dim=-1)
                if near and probs[nearest[current]].sum() > 0:
                    probs = torch.zeros_like(probs).index_copy(0, nearest[current], probs[nearest[current]])
                if top_p < 1:
                    p, order = probs.sort(descending=True)
                    probs = torch.zeros_like(probs).scatter(0, order, p * (p.cumsum(0) - p < top_p))
                code = torch.multinomial(probs, 1, generator=generator)
            else:
                code = scores.argmax().reshape(1)
            if walk is not None:   # the model reads the step the walk took
                code = torch.tensor([walk.step(int(code))])
            out.append(code)
            run = run + 1 if code[0] == current else 1
            current = code[0]
            if t < steps - 1:
                step_music = None if m is None else m[:, w + t + 1:w + t + 2]
                logits, state = self._read(code.to(self.mean.device)[None], step_music, state)
                last = logits[0, -1]
        return self.codes_to_latents(torch.cat(out)) if walk is None else walk.latents()

    def noise_window(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """A start window (1, window, latent) of randomly drawn codes."""
        idx = torch.randint(self.codes, (self.window,), generator=generator)
        return (self.codebook.cpu()[idx] * self.std.cpu() + self.mean.cpu())[None].to(self.mean.device)
