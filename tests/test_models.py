import pytest
import torch

from deepdance.models import (Autoencoder, CodeLSTM, OriginalAutoencoder, OriginalLSTM, build_autoencoder,
                              build_sequence)


@pytest.mark.parametrize("size", [(80, 48), (77, 50), (200, 120)])
def test_default_autoencoder_any_size(size):
    w, h = size
    torch.manual_seed(0)
    ae = Autoencoder(width=w, height=h, latent=16)
    x = (torch.rand(3, 1, h, w) > 0.8).float()
    z = ae.encode(x)
    assert z.shape == (3, 16)
    assert ae.decode(z).shape == (3, 1, h, w)
    p = ae.probs(z)
    assert torch.equal(p, torch.sigmoid(ae.decode(z)))
    loss, logits = ae.loss(x)
    assert logits.shape == (3, 1, h, w) and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in ae.parameters())


def test_default_autoencoder_noise_only_while_training():
    torch.manual_seed(0)
    ae = Autoencoder(width=80, height=48, latent=8, noise=0.5)
    x = torch.rand(2, 1, 48, 80)
    ae.eval()
    assert torch.equal(ae(x)[0], ae(x)[0])
    ae.train()
    assert not torch.equal(ae(x)[0], ae(x)[0])


def test_original_autoencoder_shapes():
    ae = OriginalAutoencoder(latent=128)
    x = torch.rand(2, 1, 120, 200)
    z = ae.encode(x)
    assert z.shape == (2, 128) and (z >= 0).all()  # the original's latent ends in a ReLU
    assert ae.decode(z).shape == (2, 1, 120, 200)
    loss, _ = ae.loss(x)
    loss.backward()


def test_original_autoencoder_starts_at_the_data_and_hears_its_input():
    torch.manual_seed(0)
    ae = OriginalAutoencoder()
    ae.init_output_bias(0.05)
    x = (torch.rand(8, 1, 120, 200) > 0.95).float()
    with torch.no_grad():
        logits = ae(x)[0]
    assert abs(float(torch.sigmoid(logits).mean()) - 0.05) < 0.005
    # Keras' initialisation carries the input through all 16 layers (PyTorch's defaults: spread ~3e-8)
    assert float(logits.std(0).mean()) > 1e-5


@pytest.mark.slow
def test_original_autoencoder_learns_past_the_blank_picture():
    # MSE through a sigmoid on a small dancer collapsed to a blank picture within 15 steps before
    # init_output_bias (0.98 of a blank picture's loss; with it 0.55); a blank picture scores exactly the
    # share of dancer pixels
    from deepdance.synth import SynthConfig, render_frames

    torch.manual_seed(0)
    frames = render_frames(SynthConfig(seconds=4, fps=6, seed=0, preview=False))
    x = torch.from_numpy(1 - frames[:, None].astype("float32") / 255)
    ae = OriginalAutoencoder()
    ae.init_output_bias(float(x.mean()))
    opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
    for step in range(15):
        loss, logits = ae.loss(x[torch.randint(0, len(x), (8,))])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        loss, logits = ae.loss(x)
    blank = float((x ** 2).mean())
    assert float(loss) < 0.7 * blank and (logits > 0).any()


def test_original_autoencoder_needs_200x120():
    with pytest.raises(ValueError, match="200x120"):
        OriginalAutoencoder(width=80, height=48)


def _code_lstm(**kw):
    torch.manual_seed(0)
    seq = CodeLSTM(latent=8, window=4, codes=6, embed=8, hidden=16, predict=3, **kw)
    latents = torch.randn(60, 8) * 3 + 7
    seq.fit_codebook(latents, seed=0)
    return seq, latents


def test_code_lstm_codebook_and_loss():
    seq, latents = _code_lstm()
    assert seq.span == 7
    # standardised with the training statistics; every code is used by some training latent
    assert torch.allclose(seq.mean, latents.mean(0)) and len(seq.encode(latents).unique()) == 6
    # a code's own centre maps back to it
    centres = seq.codebook * seq.std + seq.mean
    assert torch.equal(seq.encode(centres), torch.arange(6))
    loss = seq.loss(latents[:14].reshape(2, 7, 8))
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert seq.head.weight.grad.abs().sum() > 0


@pytest.mark.slow
def test_code_lstm_roll_out_is_seeded_and_smooth():
    seq, latents = _code_lstm()
    seq.eval()
    window = latents[:4][None]

    def run(seed, **kw):
        return seq.roll_out(window, 30, generator=torch.Generator().manual_seed(seed), **kw)

    a, b, c = run(1), run(1), run(2)
    assert a.shape == (30, 8) and torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(run(1, temperature=0.0), run(2, temperature=0.0))
    assert seq.noise_window(generator=torch.Generator().manual_seed(0)).shape == (1, 4, 8)


def test_codes_to_latents_puts_key_poses_mid_run_and_interpolates():
    seq, _ = _code_lstm(hold=0.0)
    centres = seq.codebook * seq.std + seq.mean
    out = seq.codes_to_latents(torch.tensor([2, 2, 2, 5, 1, 1]))
    # runs [0, 3) -> key at 1, [3, 4) -> key at 3, [4, 6) -> key at 4.5
    assert torch.allclose(out[1], centres[2], atol=1e-5) and torch.allclose(out[3], centres[5], atol=1e-5)
    assert torch.allclose(out[0], centres[2], atol=1e-5)  # held before the first key pose
    assert torch.allclose(out[2], (centres[2] + centres[5]) / 2, atol=1e-5)
    assert torch.allclose(out[4], (2 * centres[1] + centres[5]) / 3, atol=1e-5)
    assert torch.allclose(out[5], centres[1], atol=1e-5)
    assert torch.allclose(seq.codes_to_latents(torch.tensor([3, 3])), centres[3].expand(2, 8), atol=1e-5)


def test_codes_to_latents_holds_long_runs():
    seq, _ = _code_lstm(hold=1.0)
    centres = seq.codebook * seq.std + seq.mean
    out = seq.codes_to_latents(torch.tensor([2, 2, 2, 5, 1, 1, 1]))
    # run [0, 3) held over 0..2, [3, 4) a key at 3, [4, 7) held over 4..6: a pause on each long run
    for t, c in [(0, 2), (1, 2), (2, 2), (3, 5), (4, 1), (5, 1), (6, 1)]:
        assert torch.allclose(out[t], centres[c], atol=1e-5)
    half, _ = _code_lstm(hold=0.5)
    mid = half.codes_to_latents(torch.tensor([2, 2, 2, 5]))
    # held over 0.5..1.5 around the middle 1, then a third of the way to the key at 3
    assert torch.allclose(mid[1], centres[2], atol=1e-5)
    assert torch.allclose(mid[2], (2 * centres[2] + centres[5]) / 3, atol=1e-5)


def test_code_corruption_only_while_training():
    seq, latents = _code_lstm(corrupt=0.5)
    batch = latents[:28].reshape(4, 7, 8)
    seq.eval()
    assert torch.equal(seq.loss(batch), seq.loss(batch))  # no randomness when evaluating
    seq.train()
    seq.drop.p = 0.0
    seq.lstm.dropout = 0.0
    torch.manual_seed(1)
    a = seq.loss(batch)
    torch.manual_seed(2)
    assert not torch.equal(a, seq.loss(batch))  # a different past each time
    with pytest.raises(ValueError, match="corrupt"):
        CodeLSTM(latent=8, corrupt=1.0)


def test_code_lstm_hears_the_music():
    seq, latents = _code_lstm(music_features=2)
    seq.eval()
    with pytest.raises(ValueError, match="music"):
        seq.loss(latents[:14].reshape(2, 7, 8))
    window, gen = latents[:4][None], torch.Generator()
    loud, quiet = torch.ones(4 + 20, 2) * 5, torch.zeros(4 + 20, 2)
    a = seq.roll_out(window, 20, music=loud, generator=torch.Generator().manual_seed(0))
    b = seq.roll_out(window, 20, music=quiet, generator=torch.Generator().manual_seed(0))
    assert a.shape == (20, 8)
    assert torch.isfinite(seq.loss(latents[:14].reshape(2, 7, 8), torch.randn(2, 7, 2)))
    with pytest.raises(ValueError, match="cover"):
        seq.roll_out(window, 20, music=loud[:10], generator=gen)
    # other music, other odds: the same seed samples another dance
    assert not torch.equal(a, b)


@pytest.mark.slow
def test_original_lstm_shapes():
    seq = OriginalLSTM(latent=128, window=10)
    assert seq.span == 11
    window = seq.noise_window(generator=torch.Generator().manual_seed(0))
    assert window.shape == (1, 10, 128) and 0 <= window.min() and window.max() < 1
    seq.eval()
    out = seq.roll_out(window, 3)
    assert out.shape == (3, 128) and (out >= 0).all()
    assert torch.equal(out, seq.roll_out(window, 3))
    loss = seq.loss(torch.rand(4, 11, 128))
    loss.backward()


@pytest.mark.parametrize("recipe", ["default", pytest.param("original", marks=pytest.mark.slow)])
def test_config_rebuilds_the_same_model(recipe):
    ae = build_autoencoder(recipe, width=200, height=120, latent=32)
    again = build_autoencoder(recipe, **ae.config())
    assert {k: v.shape for k, v in ae.state_dict().items()} == {k: v.shape for k, v in again.state_dict().items()}
    seq = build_sequence(recipe, latent=32, window=5)
    again = build_sequence(recipe, **seq.config())
    assert {k: v.shape for k, v in seq.state_dict().items()} == {k: v.shape for k, v in again.state_dict().items()}


def _sticky_model(max_run):
    """Three codes at known places, a head that always says 'stay on code 0'."""
    torch.manual_seed(0)
    m = CodeLSTM(latent=2, window=2, codes=3, embed=4, hidden=4, layers=1, predict=1, max_run=max_run).eval()
    m.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    torch.nn.init.zeros_(m.head.weight)
    m.head.bias.data = torch.tensor([20.0, 1.0, 0.0])
    return m


def test_a_roll_out_holds_a_code_no_longer_than_the_data_did():
    from deepdance.models.sequence import _runs

    window = torch.zeros(1, 2, 2)   # two steps of code 0
    free = _sticky_model(0).roll_out(window, 12, temperature=0)
    assert (free == 0).all()        # no limit: it stays for ever
    m = _sticky_model(3)
    for temperature in (0.0, 1.0):
        codes = m.encode(m.roll_out(window, 12, temperature=temperature, generator=torch.Generator().manual_seed(1)))
        runs = _runs(torch.cat([torch.zeros(2, dtype=torch.long), codes]))
        assert max(runs) <= 3 and (codes != 0).any()   # the window's two steps count too


def test_a_real_walk_goes_on_with_the_real_dance_and_jumps_where_the_poses_meet():
    from deepdance.models.sequence import BLEND, RealDance, RealWalk

    m = _sticky_model(0)   # codes at (0, 0), (1, 0), (0, 1)
    # a real dance of 10 steps in two clips: codes 0 0 1 2 2 | 0 0 2 1 1
    z = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.9, 0.0], [0.0, 0.9], [0.1, 1.0],
                      [0.0, 0.1], [0.1, 0.1], [0.2, 0.9], [1.0, 0.1], [1.1, 0.0]])
    assert m.encode(z).tolist() == [0, 0, 1, 2, 2, 0, 0, 2, 1, 1]
    walk = RealWalk(m, RealDance(z, [(0, 5), (5, 10)], after=0))
    # asked for its own code or the next step's, it goes on: steps 1, 2, 3 and 4
    assert [walk.step(c) for c in (0, 1, 2, 2)] == [0, 1, 2, 2]
    assert torch.equal(walk.latents(), z[1:5])
    # step 4 ends its clip: asked for code 1 it jumps to the step of code 1 whose predecessor is nearest
    # (0.1, 1.0): step 8, after (0.2, 0.9); it starts from where the dance was and eases in over BLEND steps
    assert walk.step(1) == 1 and walk.at == 8
    assert torch.allclose(walk.latents()[-1], z[8] + (z[4] - z[7]))
    assert walk.step(1) == 1 and walk.at == 9
    assert torch.allclose(walk.latents()[-1], z[9] + (BLEND - 1) / BLEND * (z[4] - z[7]))


def test_a_real_walk_stays_on_the_beat_and_out_of_loops():
    from deepdance.models.sequence import RealDance, RealWalk

    m = _sticky_model(0)
    # 8 steps of code 1 (1, 0) at phases 0, 1/4, 1/2, 3/4, ...; the dance's steps at phases 1/4, 1/2, ...
    z = torch.tensor([[1.0 + 0.01 * i, 0.0] for i in range(8)])
    phase = torch.arange(8) % 4 / 4
    walk = RealWalk(m, RealDance(z, [(0, 8)], after=None, phase=phase, dance_phase=(torch.arange(20) + 1) % 4 / 4))
    taken = []
    for _ in range(20):
        walk.step(1)
        taken.append(walk.at)
    # every step taken lies on the dance's part of the beat, and a jump never lands where it just was
    assert all(float(phase[at]) == float((i + 1) % 4 / 4) for i, at in enumerate(taken))
    jumps = [i for i in range(1, 20) if taken[i] != taken[i - 1] + 1]
    assert jumps and all(taken[i] not in taken[i - 2:i] for i in jumps)


def test_a_real_walk_goes_on_rather_than_loop_back_to_steps_it_just_took():
    from deepdance.models.sequence import DWELL, RealDance, RealWalk

    m = CodeLSTM(latent=2, window=2, codes=6, embed=4, hidden=4, layers=1, predict=1).eval()
    m.codebook.copy_(torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]))
    # 40 steps of code 0 round the origin, but steps 10 and 11 are code 1's, not among code 0's 4 nearest: a model that
    # always asks for code 1 can only be given those two (a short clip's one slow beat the model keeps asking for)
    i = torch.arange(40.0)
    z = torch.stack([0.3 * torch.cos(i), 0.3 * torch.sin(i)], 1)
    z[10:12] = torch.tensor([[2.9, 0.0], [2.95, 0.0]])
    assert m.encode(z).tolist() == [0] * 10 + [1, 1] + [0] * 28
    walk = RealWalk(m, RealDance(z, [(0, 40)], after=12))
    for _ in range(200):
        walk.step(1)
    taken = walk.taken
    jumps = [k for k in range(1, 200) if taken[k] != taken[k - 1] + 1]
    # it jumps back to step 10 only once it has gone on past the steps it took since it was there: the loop
    # 10-14 (the DWELL steps after a jump) would repeat one beat for ever
    assert jumps and all(taken[k] not in taken[max(0, k - walk.recent):k] for k in jumps)
    assert all(b - a > DWELL + 1 for a, b in zip(jumps, jumps[1:]))


def test_a_real_walk_is_no_stiller_than_the_dancer_and_dwells_after_a_jump():
    from deepdance.models.sequence import DWELL, RealDance, RealWalk

    m = _sticky_model(0)   # it always asks for code 0
    # 60 steps of code 0: round and round, but still in steps 40-49
    i = torch.arange(60.0)
    z = torch.stack([0.3 * torch.cos(i), 0.3 * torch.sin(i)], 1)
    z[40:50] = 0.01
    assert (m.encode(z) == 0).all()
    walk = RealWalk(m, RealDance(z, [(0, 60)], after=30))
    assert 0.1 < walk.still_real < 0.25 and walk.still[42:48].all() and not walk.still[:35].any()
    for _ in range(300):
        walk.step(0)
    taken = torch.tensor(walk.taken)
    # going on, it would stop for 10 of every 30 steps (once past the clip's end, the walk starts again where
    # the poses meet, just before the still steps); it stops no more often than she did
    assert walk.still[taken].float().mean() <= walk.still_real + 1 / 300
    jumps = [k for k in range(1, 300) if taken[k] != taken[k - 1] + 1]
    assert len(jumps) > 5
    assert all((taken[k + 1:k + 1 + DWELL] == taken[k] + torch.arange(1, DWELL + 1)).all()
               for k in jumps if k + DWELL < 300 and taken[k] + DWELL < 60)


def test_a_real_walk_goes_on_rather_than_jump_far_from_its_pose():
    from deepdance.models.sequence import DWELL, FAR, RealDance, RealWalk

    m = CodeLSTM(latent=2, window=2, codes=6, embed=4, hidden=4, layers=1, predict=1).eval()
    # code 1 at (3, 0) is not among code 0's 4 nearest codes
    m.codebook.copy_(torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]))
    # a clip of 20 small steps of code 0 (0.01 apart) and a clip of 3 steps of code 1, 2.9 away
    z = torch.cat([torch.tensor([[0.01 * i, 0.0] for i in range(20)]),
                   torch.tensor([[2.95, 0.0], [3.0, 0.0], [3.05, 0.0]])])
    assert m.encode(z).tolist() == [0] * 20 + [1] * 3

    def moved_when_asked_for_code_1(step_length=None):
        walk = RealWalk(m, RealDance(z, [(0, 20), (20, 23)], after=None))
        assert walk.step_length == pytest.approx(0.01)
        walk.step_length = step_length or walk.step_length
        for _ in range(DWELL + 1):
            walk.step(0)
        at = walk.at
        walk.step(1)
        return walk.at - at

    # easing over 2.9 (290 of her steps) would cancel the new steps' motion: it goes on
    assert moved_when_asked_for_code_1() == 1
    # with steps long enough for 2.9 to be under FAR of them, it jumps to a step of code 1
    assert moved_when_asked_for_code_1(3.0 / FAR + 0.01) > 10


def test_fit_runs_finds_the_longest_stay_within_clips():
    m = _sticky_model(0)
    latents = m.codebook[[0, 0, 0, 1, 2, 2, 0, 0, 0, 0]]
    m.fit_runs(latents, [(0, 8), (8, 10)])
    assert m.max_run == 3               # the 0s either side of the cut are two runs of 2
    m.fit_runs(latents, [(0, 10)])
    assert m.max_run == 4
    assert CodeLSTM(**m.config()).max_run == 4   # saved in the config that rebuilds the model
