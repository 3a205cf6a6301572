"""The maths of skgmvae.nn against closed forms and Monte Carlo estimates, on tiny tensors."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Normal, kl_divergence

from skgmvae.nn import GMVAE, batch_usage_kl, elbo_terms, symmetric_kl
from skgmvae.nn.augment import RandomAffine
from skgmvae.nn.losses import bernoulli_log_likelihood, gaussian_entropy


@pytest.fixture
def toy_model():
    torch.manual_seed(0)
    model = GMVAE(n_features=4, n_components=3, latent_dim=2, hidden_sizes=(8,)).double()
    with torch.no_grad():
        model.prior.means.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.5], [0.0, -1.5]], dtype=torch.float64))
        model.prior.log_vars.copy_(torch.tensor([[0.0, -0.5], [0.3, 0.0], [-0.2, 0.2]], dtype=torch.float64))
    return model


def test_elbo_c_part_is_the_logsumexp(toy_model):
    """With the optimal q(c|x), ELBO - reconstruction = H[q(z|x)] + logsumexp_c(log p(c) + E[log p(z|c)])."""
    x = torch.tensor([[0.0, 1.0, 0.5, 0.2], [1.0, 1.0, 0.0, 0.9]], dtype=torch.float64)
    terms = elbo_terms(toy_model, x, generator=torch.Generator().manual_seed(0))
    mean, log_var = toy_model.encoder(x)
    a = toy_model.prior.log_weights() + toy_model.prior.expected_log_density(mean, log_var)
    expected = gaussian_entropy(log_var) + torch.logsumexp(a, dim=-1)
    torch.testing.assert_close(terms["elbo"] - terms["reconstruction"], expected)
    # The returned q(c|x) is the maximiser of the c-part E_q(c)[a_c - log q(c)]: no other posterior beats it.
    def c_part(log_q):
        return (log_q.exp() * (a - log_q)).sum(-1)

    best = c_part(terms["log_resp"])
    others = torch.randn(500, *a.shape, generator=torch.Generator().manual_seed(1), dtype=a.dtype).log_softmax(-1)
    assert (c_part(others) <= best + 1e-12).all()
    torch.testing.assert_close(terms["log_resp"].exp().sum(-1), torch.ones(2, dtype=a.dtype))


def test_expected_log_density_matches_a_sampled_mean(toy_model):
    mean = torch.tensor([[0.3, -0.4]], dtype=torch.float64)
    log_var = torch.tensor([[-0.7, 0.1]], dtype=torch.float64)
    closed_form = toy_model.prior.expected_log_density(mean, log_var)[0]
    z = Normal(mean[0], (0.5 * log_var[0]).exp()).sample((200_000,))
    for c in range(3):
        prior_c = Normal(toy_model.prior.means[c], (0.5 * toy_model.prior.log_vars[c]).exp())
        log_density = prior_c.log_prob(z).sum(-1).detach()
        standard_error = log_density.std() / math.sqrt(len(z))
        assert abs(log_density.mean() - closed_form[c]) < 4 * standard_error


def test_elbo_never_exceeds_log_likelihood_by_importance_sampling(toy_model):
    torch.manual_seed(1)
    x = torch.tensor([[0.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    n = 100_000
    with torch.no_grad():
        elbo = elbo_terms(toy_model, x.expand(n, -1), generator=torch.Generator().manual_seed(0))["elbo"]
        mean, log_var = toy_model.encoder(x)
        q = Normal(mean[0], (0.5 * log_var[0]).exp())
        z = q.sample((n,))
        prior = toy_model.prior
        log_pz_c = Normal(prior.means, (0.5 * prior.log_vars).exp()).log_prob(z.unsqueeze(1)).sum(-1)
        log_pz = torch.logsumexp(log_pz_c + prior.log_weights(), dim=-1)
        log_px_z = bernoulli_log_likelihood(toy_model.decoder(z), x.expand(n, -1))
        log_weights = log_px_z + log_pz - q.log_prob(z).sum(-1)
        log_px = torch.logsumexp(log_weights, 0) - math.log(n)
    elbo_mean, elbo_se = elbo.mean(), elbo.std() / math.sqrt(n)
    assert elbo_mean < log_px + 3 * elbo_se
    # The bound is not vacuous: the gap is a KL divergence of a few nats at most on this toy model.
    assert log_px - elbo_mean < 5.0


def test_symmetric_kl_is_both_kl_divergences():
    rng = np.random.RandomState(0)
    p = torch.as_tensor(rng.dirichlet(np.ones(5), size=4))
    q = torch.as_tensor(rng.dirichlet(np.ones(5), size=4))
    expected = kl_divergence(Categorical(probs=p), Categorical(probs=q)) + kl_divergence(
        Categorical(probs=q), Categorical(probs=p))
    torch.testing.assert_close(symmetric_kl(p.log(), q.log()), expected)
    torch.testing.assert_close(symmetric_kl(q.log(), p.log()), expected)
    torch.testing.assert_close(symmetric_kl(p.log(), p.log()), torch.zeros(4, dtype=torch.float64))


def test_batch_usage_kl_is_zero_for_balanced_usage_and_log_k_for_collapse():
    balanced = torch.eye(4, dtype=torch.float64).clamp_min(1e-300).log()  # each row on its own component
    assert batch_usage_kl(balanced).item() == pytest.approx(0.0, abs=1e-12)
    collapsed = torch.tensor([[1.0, 0, 0, 0]] * 4, dtype=torch.float64).clamp_min(1e-300).log()
    assert batch_usage_kl(collapsed).item() == pytest.approx(math.log(4))


def test_identity_affine_leaves_images_unchanged():
    images = torch.rand(5, 49, generator=torch.Generator().manual_seed(0))
    identity = RandomAffine((7, 7), max_rotation=0.0, max_shift=0.0, scale_range=(1.0, 1.0))
    torch.testing.assert_close(identity(images, torch.Generator().manual_seed(0)), images)


def test_affine_shift_moves_content_and_keeps_values_in_unit_interval():
    image = torch.zeros(1, 7, 7)
    image[0, 3, 3] = 1.0
    shifted = RandomAffine((7, 7), max_rotation=20.0, max_shift=0.3)(image.view(1, -1).repeat(50, 1),
                                                                      torch.Generator().manual_seed(0))
    assert ((shifted >= 0) & (shifted <= 1)).all()
    assert not torch.allclose(shifted, image.view(1, -1).repeat(50, 1))


def test_mirror_flips_about_half_of_the_images_left_to_right_and_nothing_else():
    image = torch.rand(1, 6, 6, generator=torch.Generator().manual_seed(1))
    mirror = RandomAffine((6, 6), max_rotation=0.0, max_shift=0.0, scale_range=(1.0, 1.0), mirror=True)
    views = mirror(image.view(1, -1).repeat(400, 1), torch.Generator().manual_seed(0)).view(400, 6, 6)
    unchanged = torch.isclose(views, image, atol=1e-5).flatten(1).all(1)
    mirrored = torch.isclose(views, image.flip(-1), atol=1e-5).flatten(1).all(1)
    assert bool((unchanged ^ mirrored).all())
    assert 0.4 < mirrored.float().mean().item() < 0.6


def test_conv_gmvae_encodes_and_decodes_square_images_and_refuses_other_sizes():
    model = GMVAE(784, n_components=3, latent_dim=4, hidden_sizes=(64, 32), architecture="conv")
    mean, log_var, log_resp = model(torch.rand(5, 784))
    assert mean.shape == log_var.shape == (5, 4) and log_resp.shape == (5, 3)
    assert model.decoder(mean).shape == (5, 784)
    with pytest.raises(ValueError, match="multiple of 4"):
        GMVAE(100, n_components=3, latent_dim=4, hidden_sizes=(64, 32), architecture="conv")


def test_set_and_move_components(toy_model):
    prior = toy_model.prior
    prior.set_components(np.zeros((3, 2)), np.full((3, 2), 2.0))
    torch.testing.assert_close(prior.log_vars, torch.full((3, 2), math.log(2.0), dtype=torch.float64))
    with torch.no_grad():
        prior.log_vars[0] = 1.0
    prior.move_components(torch.tensor([True, False, False]), torch.ones(1, 2, dtype=torch.float64))
    torch.testing.assert_close(prior.means[0], torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(prior.log_vars[0], prior.log_vars[1])


def test_nt_xent_is_low_for_matching_views_and_high_for_shuffled_ones():
    from skgmvae.nn.losses import nt_xent

    codes = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))
    matching = nt_xent(codes, codes + 0.01 * torch.randn(32, 8, generator=torch.Generator().manual_seed(1)))
    shuffled = nt_xent(codes, codes[torch.randperm(32, generator=torch.Generator().manual_seed(2))])
    assert matching + 2.0 < shuffled  # 1.6 against 4.9 here; chance level is log(63) = 4.1
