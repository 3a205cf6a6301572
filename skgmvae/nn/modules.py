"""Network modules of the Gaussian-mixture VAE.

The generative model is the one of the GMVAE literature::

    c ~ Categorical(1/K, ..., 1/K)
    z | c ~ N(means[c], diag(exp(log_vars[c])))
    x | z ~ Bernoulli(sigmoid(decoder(z)))

Inference uses one Gaussian q(z|x) from :class:`MLPEncoder` (or
:class:`ConvEncoder` for square images); q(c|x) is not a
separate network but the exact optimum of the ELBO given q(z|x) (see
:mod:`skgmvae.nn.losses`), so each sample is decoded once per step instead of
once per component.
"""

import math
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn

LOG_2PI = math.log(2.0 * math.pi)


def _full_precision(output):
    """``output`` in float32 when an autocast region computed it in a lower precision, else as it is."""
    return output.float() if output.dtype in (torch.bfloat16, torch.float16) else output


def _gaussian_parameters(output):
    """Split an encoder's last layer into the mean and the (bounded) log-variance of q(z|x).

    Under autocast the layers may run in bfloat16; the parameters of q(z|x)
    leave in float32, so the mixture's log-densities and the losses are
    computed in full precision.
    """
    mean, log_var = _full_precision(output).chunk(2, dim=-1)
    return mean, log_var.clamp(-12.0, 8.0)


def _mlp(sizes, activation=nn.ReLU):
    layers = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out), activation()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """Maps pixels to the mean and log-variance of the Gaussian q(z|x).

    Parameters
    ----------
    n_features : int
        Number of input pixels.
    hidden_sizes : tuple of int
        Widths of the hidden layers.
    latent_dim : int
        Dimension of z.
    """

    def __init__(self, n_features, hidden_sizes, latent_dim):
        super().__init__()
        self.body = _mlp((n_features, *hidden_sizes, 2 * latent_dim))
        self.latent_dim = latent_dim

    def forward(self, x):
        """Encode a batch.

        Parameters
        ----------
        x : Tensor of shape (batch, n_features)

        Returns
        -------
        mean, log_var : Tensors of shape (batch, latent_dim)
        """
        return _gaussian_parameters(self.body(x))


class MLPDecoder(nn.Module):
    """Maps a latent code to Bernoulli logits over the pixels.

    Parameters
    ----------
    latent_dim : int
        Dimension of z.
    hidden_sizes : tuple of int
        Widths of the hidden layers, from z upwards.
    n_features : int
        Number of output pixels.
    """

    def __init__(self, latent_dim, hidden_sizes, n_features):
        super().__init__()
        self.body = _mlp((latent_dim, *hidden_sizes, n_features))

    def forward(self, z):
        """Decode a batch.

        Parameters
        ----------
        z : Tensor of shape (batch, latent_dim)

        Returns
        -------
        logits : Tensor of shape (batch, n_features)
        """
        return _full_precision(self.body(z))


# Channels of the two stride-2 convolutions of ConvEncoder (mirrored by ConvDecoder).
CONV_CHANNELS = (32, 64)


def conv_image_side(n_features):
    """The side of the square images a :class:`ConvEncoder` takes, or None when ``n_features`` does not fit.

    The two stride-2 convolutions need a square image whose side is a multiple of 4.
    """
    side = math.isqrt(n_features)
    return side if side * side == n_features and side % 4 == 0 else None


class ConvEncoder(nn.Module):
    """Maps square images to the mean and log-variance of q(z|x) with two stride-2 convolutions.

    Conv(4x4, stride 2) to 32 then 64 channels halve the side twice; dense
    layers of ``hidden_sizes`` follow.

    Parameters
    ----------
    side : int
        Image side, a multiple of 4; ``n_features == side * side``.
    hidden_sizes : tuple of int
        Widths of the dense layers after the convolutions (the first is not
        used: the flattened feature map takes its place).
    latent_dim : int
        Dimension of z.
    """

    def __init__(self, side, hidden_sizes, latent_dim):
        super().__init__()
        first, second = CONV_CHANNELS
        self.side = side
        self.convolutions = nn.Sequential(
            nn.Conv2d(1, first, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(first, second, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
        )
        self.dense = _mlp((second * (side // 4) ** 2, *hidden_sizes[1:], 2 * latent_dim))
        self.latent_dim = latent_dim

    def forward(self, x):
        """Encode a batch.

        Parameters
        ----------
        x : Tensor of shape (batch, side * side)

        Returns
        -------
        mean, log_var : Tensors of shape (batch, latent_dim)
        """
        return _gaussian_parameters(self.dense(self.convolutions(x.view(-1, 1, self.side, self.side))))


class ConvDecoder(nn.Module):
    """Maps a latent code to Bernoulli logits over the pixels of a square image, mirroring :class:`ConvEncoder`.

    Parameters
    ----------
    latent_dim : int
        Dimension of z.
    hidden_sizes : tuple of int
        Widths of the dense layers from z upwards (the last is not used: the
        feature map takes its place).
    side : int
        Image side, a multiple of 4.
    """

    def __init__(self, latent_dim, hidden_sizes, side):
        super().__init__()
        first, second = CONV_CHANNELS
        self.side = side
        self.dense = nn.Sequential(_mlp((latent_dim, *hidden_sizes[:-1], second * (side // 4) ** 2)), nn.ReLU())
        self.deconvolutions = nn.Sequential(
            nn.Unflatten(1, (second, side // 4, side // 4)),
            nn.ConvTranspose2d(second, first, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(first, 1, 4, stride=2, padding=1), nn.Flatten(),
        )

    def forward(self, z):
        """Decode a batch.

        Parameters
        ----------
        z : Tensor of shape (batch, latent_dim)

        Returns
        -------
        logits : Tensor of shape (batch, side * side)
        """
        return _full_precision(self.deconvolutions(self.dense(z)))


class MixturePrior(nn.Module):
    """The learned Gaussian mixture p(z) = sum_c p(c) N(z; means[c], exp(log_vars[c])).

    p(c) is uniform and fixed, as in the GMVAE.

    Parameters
    ----------
    n_components : int
        Number of components K.
    latent_dim : int
        Dimension of z.
    """

    def __init__(self, n_components, latent_dim):
        super().__init__()
        self.means = nn.Parameter(torch.randn(n_components, latent_dim))
        self.log_vars = nn.Parameter(torch.zeros(n_components, latent_dim))

    @property
    def n_components(self):
        return self.means.shape[0]

    def log_weights(self):
        """log p(c), a tensor of shape (K,)."""
        k = self.n_components
        return torch.full((k,), -math.log(k), device=self.means.device, dtype=self.means.dtype)

    def expected_log_density(self, mean, log_var):
        """E_{q(z|x)}[log N(z; means[c], vars[c])] in closed form for every component.

        Parameters
        ----------
        mean, log_var : Tensors of shape (batch, latent_dim)
            Parameters of the Gaussian q(z|x).

        Returns
        -------
        Tensor of shape (batch, K)
        """
        prior_var = self.log_vars.exp()  # (K, D)
        diff2 = (mean.unsqueeze(1) - self.means.unsqueeze(0)) ** 2  # (B, K, D)
        quad = (diff2 + log_var.exp().unsqueeze(1)) / prior_var.unsqueeze(0)
        return -0.5 * (LOG_2PI + self.log_vars.unsqueeze(0) + quad).sum(-1)

    def log_posterior(self, expected_log_pz):
        """log q(c|x) = log_softmax_c(log p(c) + E_q(z|x)[log p(z|c)]), the optimal q(c|x) given q(z|x).

        Parameters
        ----------
        expected_log_pz : Tensor of shape (batch, K)
            Output of :meth:`expected_log_density`.

        Returns
        -------
        Tensor of shape (batch, K)
        """
        return (self.log_weights() + expected_log_pz).log_softmax(-1)

    @torch.no_grad()
    def set_components(self, means, variances):
        """Overwrite the means and variances of every component, e.g. with a fitted GaussianMixture's.

        Parameters
        ----------
        means, variances : array-like of shape (K, latent_dim)
        """
        self.means.copy_(torch.as_tensor(means, dtype=self.means.dtype))
        self.log_vars.copy_(torch.as_tensor(variances, dtype=torch.float64).log().to(self.log_vars.dtype))

    @torch.no_grad()
    def move_components(self, moved, new_means):
        """Give the components ``moved`` new means and the median variance of the others.

        Parameters
        ----------
        moved : BoolTensor of shape (K,)
            Must leave at least one component in place.
        new_means : Tensor of shape (moved.sum(), latent_dim)
        """
        self.means[moved] = new_means.to(self.means)
        self.log_vars[moved] = self.log_vars[~moved].median(dim=0).values

    def sample(self, components, generator=None):
        """Draw z ~ p(z|c) for the given components.

        Parameters
        ----------
        components : LongTensor of shape (n,)
        generator : torch.Generator, optional

        Returns
        -------
        Tensor of shape (n, latent_dim)
        """
        noise = torch.randn(len(components), self.means.shape[1], generator=generator, device=self.means.device,
                            dtype=self.means.dtype)
        std = (0.5 * self.log_vars[components]).exp()
        return self.means[components] + std * noise


class GMVAE(nn.Module):
    """Encoder, decoder and mixture prior of the Gaussian-mixture VAE.

    Parameters
    ----------
    n_features : int
        Number of pixels.
    n_components : int
        Number of mixture components K.
    latent_dim : int
        Dimension of z.
    hidden_sizes : tuple of int
        Encoder hidden widths; the decoder mirrors them.
    architecture : {'mlp', 'conv'}, default='mlp'
        Dense encoder and decoder, or :class:`ConvEncoder` and
        :class:`ConvDecoder` (square images whose side is a multiple of 4).
    """

    def __init__(self, n_features, n_components, latent_dim, hidden_sizes, architecture="mlp"):
        super().__init__()
        if architecture == "conv":
            side = conv_image_side(n_features)
            if side is None:
                raise ValueError(f"architecture='conv' needs square images whose side is a multiple of 4; "
                                 f"n_features={n_features} is not one. Use architecture='mlp'.")
            self.encoder = ConvEncoder(side, hidden_sizes, latent_dim)
            self.decoder = ConvDecoder(latent_dim, tuple(reversed(hidden_sizes)), side)
        else:
            self.encoder = MLPEncoder(n_features, hidden_sizes, latent_dim)
            self.decoder = MLPDecoder(latent_dim, tuple(reversed(hidden_sizes)), n_features)
        self.prior = MixturePrior(n_components, latent_dim)

    def component_terms(self, mean, log_var):
        """E_q(z|x)[log p(z|c)] and log q(c|x) from the parameters of q(z|x); the one place q(c|x) is computed.

        Parameters
        ----------
        mean, log_var : Tensors of shape (batch, latent_dim)

        Returns
        -------
        expected_log_pz : Tensor of shape (batch, K)
        log_resp : Tensor of shape (batch, K)
            log q(c|x), the optimum of the ELBO given q(z|x).
        """
        expected_log_pz = self.prior.expected_log_density(mean, log_var)
        return expected_log_pz, self.prior.log_posterior(expected_log_pz)

    def forward(self, x):
        """Encode a batch: the parameters of q(z|x) and log q(c|x).

        Parameters
        ----------
        x : Tensor of shape (batch, n_features)

        Returns
        -------
        mean, log_var : Tensors of shape (batch, latent_dim)
        log_resp : Tensor of shape (batch, K)
            log q(c|x); rows of its exponential sum to one.
        """
        mean, log_var = self.encoder(x)
        return mean, log_var, self.component_terms(mean, log_var)[1]


@dataclass(frozen=True)
class NetworkSpec:
    """What defines a GMVAE network: everything its weights' shapes depend on.

    A fitted estimator records one and builds its module from it; warm
    starts, saved files and inference read it instead of the estimator's
    current parameters.

    Parameters
    ----------
    n_features : int
        Number of pixels.
    k : int
        Number of mixture components (``GMVAETransformer``'s ``k``; the
        ``n_components`` of :class:`GMVAE`).
    latent_dim : int
    hidden_sizes : tuple of int
    architecture : {'mlp', 'conv'}
    """

    n_features: int
    k: int
    latent_dim: int
    hidden_sizes: tuple
    architecture: str

    @property
    def n_components(self):
        """Deprecated name of :attr:`k`, removed in version 0.3."""
        warnings.warn("NetworkSpec.n_components is deprecated and will be removed in version 0.3; read "
                      "NetworkSpec.k, the same number.", FutureWarning, stacklevel=2)
        return self.k

    def build(self):
        """A new :class:`GMVAE` of this shape, with fresh weights."""
        return GMVAE(self.n_features, self.k, self.latent_dim, self.hidden_sizes, self.architecture)

    def to_dict(self):
        """The fields as plain ints, strings and lists (what a saved file holds)."""
        return {**asdict(self), "hidden_sizes": list(self.hidden_sizes)}

    @classmethod
    def from_dict(cls, fields):
        """The spec :meth:`to_dict` wrote."""
        return cls(**{**fields, "hidden_sizes": tuple(int(width) for width in fields["hidden_sizes"])})

    def differences(self, other):
        """``{field: (self's value, other's value)}`` for the fields that differ."""
        mine, theirs = asdict(self), asdict(other)
        return {name: (mine[name], theirs[name]) for name in mine if mine[name] != theirs[name]}

    def __setstate__(self, state):
        # Pickles from before the field was named after the estimator's parameter.
        state = dict(state)
        if "n_components" in state:
            state["k"] = state.pop("n_components")
        self.__dict__.update(state)
