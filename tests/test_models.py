import pytest
import torch

from deepdance.models import (Autoencoder, LatentLSTM, OriginalAutoencoder, OriginalLSTM, build_autoencoder,
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
    assert p.min() >= 0 and p.max() <= 1
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


def test_original_autoencoder_needs_200x120():
    with pytest.raises(ValueError, match="200x120"):
        OriginalAutoencoder(width=80, height=48)


def test_latent_lstm_loss_and_roll_out():
    torch.manual_seed(0)
    seq = LatentLSTM(latent=8, window=4, hidden=(32, 16), rollout=3)
    assert seq.span == 7
    batch = torch.randn(5, seq.span, 8)
    loss = seq.loss(batch)
    assert torch.isfinite(loss)
    loss.backward()
    seq.eval()
    window = torch.randn(1, 4, 8)

    def run(seed, **kw):
        return seq.roll_out(window, 7, generator=torch.Generator().manual_seed(seed), **kw)

    a, b, c = run(1), run(1), run(2)
    assert a.shape == (7, 8) and torch.equal(a, b) and not torch.equal(a, c)
    # temperature 0 follows the mean; a fresh head predicts "no change"
    assert torch.allclose(run(1, temperature=0.0), window[0, -1].expand(7, 8))
    # every fed-back latent passes through the projection
    seen = []
    run(1, project=lambda z: seen.append(z) or z * 0)
    assert len(seen) == 7
    assert seq.noise_window(generator=torch.Generator().manual_seed(0)).shape == (1, 4, 8)


def test_latent_lstm_normalisation_round_trip():
    seq = LatentLSTM(latent=4, window=2, hidden=(8,), rollout=1)
    latents = torch.randn(100, 4) * 3 + 7
    seq.set_normalisation(latents)
    window = latents[:2][None]
    # with a fresh head the next latent is the last one, in the autoencoder's units
    assert torch.allclose(seq.roll_out(window, 2, temperature=0.0), window[0, -1].expand(2, 4), atol=1e-5)


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


@pytest.mark.parametrize("recipe", ["default", "original"])
def test_config_rebuilds_the_same_model(recipe):
    ae = build_autoencoder(recipe, width=200, height=120, latent=32)
    again = build_autoencoder(recipe, **ae.config())
    assert {k: v.shape for k, v in ae.state_dict().items()} == {k: v.shape for k, v in again.state_dict().items()}
    seq = build_sequence(recipe, latent=32, window=5)
    again = build_sequence(recipe, **seq.config())
    assert {k: v.shape for k, v in seq.state_dict().items()} == {k: v.shape for k, v in again.state_dict().items()}
