"""The reference GMVAE formulation that decodes every sample once per component, timed against skgmvae's.

A decision record: why the package decodes each sample once. In the reference, q(c|x) is an encoder head,
q(z|x, c) a Gaussian per component (the encoder sees x and a one-hot c), and the ELBO sums over components
``q(c|x) [log p(x|z_c) + log p(z_c|c) - log q(z_c|x, c)] + KL(q(c|x) || p(c))``, so each sample goes
through the decoder K times. The timing drives :mod:`skgmvae.nn` (the dense network at the package's
default sizes), so it runs against the checkout it sits in.

Command (from the repository root)::

    python -m experiments.kdecode_reference --data-dir ../shared/data --out benchmarks/results/step-time/kdecode.csv
"""

import argparse
import math

import torch
from torch import nn
from torch.nn import functional as F


class KDecodeGMVAE(nn.Module):
    """GMVAE with q(z|x, c) per component; decodes K times per sample.

    Parameters
    ----------
    n_features : int
    n_components : int
    latent_dim : int
    hidden : int
        Width of the two hidden layers of each network.
    """

    def __init__(self, n_features, n_components, latent_dim=64, hidden=512):
        super().__init__()
        self.k = n_components
        self.qc = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                nn.Linear(hidden, n_components))
        self.qz = nn.Sequential(nn.Linear(n_features + n_components, hidden), nn.ReLU(),
                                nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim))
        self.pz = nn.Linear(n_components, 2 * latent_dim)
        self.px = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                nn.Linear(hidden, n_features))

    def loss(self, x):
        """Minus the mean ELBO of a batch x of shape (batch, n_features)."""
        batch = x.shape[0]
        log_qc = self.qc(x).log_softmax(-1)
        qc = log_qc.exp()
        eye = torch.eye(self.k, device=x.device)
        x_rep = x.unsqueeze(1).expand(batch, self.k, -1)
        c_rep = eye.unsqueeze(0).expand(batch, -1, -1)
        mean, log_var = self.qz(torch.cat([x_rep, c_rep], -1)).chunk(2, -1)  # (B, K, D)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
        prior_mean, prior_log_var = self.pz(eye).chunk(2, -1)  # (K, D)
        logits = self.px(z)  # (B, K, n_features): K decodes per sample
        log_px = -F.binary_cross_entropy_with_logits(logits, x_rep, reduction="none").sum(-1)
        log_pz = -0.5 * (math.log(2 * math.pi) + prior_log_var + (z - prior_mean) ** 2 / prior_log_var.exp()).sum(-1)
        log_qz = -0.5 * (math.log(2 * math.pi) + log_var + (z - mean) ** 2 / log_var.exp()).sum(-1)
        per_component = log_px + log_pz - log_qz
        kl_c = (qc * (log_qc + math.log(self.k))).sum(-1)
        return -((qc * per_component).sum(-1) - kl_c).mean()


def seconds_per_epoch(model_loss, parameters, X, batch_size, n_batches=None):
    """Time training steps over X and return the projected seconds per epoch.

    Parameters
    ----------
    model_loss : callable
        ``model_loss(x_batch) -> scalar loss``.
    parameters : iterable of Parameters
    X : Tensor of shape (n_samples, n_features)
    batch_size : int
    n_batches : int, optional
        Time only this many batches and scale to a full epoch.

    Returns
    -------
    float
    """
    import time

    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    batches = X.split(batch_size)
    timed = batches if n_batches is None else batches[:n_batches]
    start = time.perf_counter()
    for x in timed:
        loss = model_loss(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) * len(batches) / len(timed)


def time_formulations(X, k, batch_size, device="cpu", n_batches=20):
    """Seconds per epoch of skgmvae's single-decode GMVAE and of the K-decode reference, on the same batches."""
    from skgmvae import GMVAETransformer
    from skgmvae.nn import GMVAE, elbo_terms

    X_tensor = torch.as_tensor(X, dtype=torch.float32, device=device)
    defaults = GMVAETransformer().get_params()
    torch.manual_seed(0)
    ours = GMVAE(X.shape[1], k, defaults["latent_dim"], tuple(defaults["hidden_sizes"])).to(device)
    reference = KDecodeGMVAE(X.shape[1], k).to(device)
    ours_s = seconds_per_epoch(lambda x: -elbo_terms(ours, x)["elbo"].mean(), ours.parameters(), X_tensor,
                               batch_size, n_batches)
    reference_s = seconds_per_epoch(reference.loss, reference.parameters(), X_tensor, batch_size, n_batches)
    return ours_s, reference_s


def main(argv=None):
    from benchmarks._protocol import command_line, provenance, write_csv
    from skgmvae.datasets import load_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="emnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default=None, help="CSV to write")
    args = parser.parse_args(argv)
    X = load_dataset(args.dataset, args.data_dir)["X_pool"]
    ours_s, reference_s = time_formulations(X, args.k, args.batch_size)
    row = {"dataset": args.dataset, "k": args.k, "batch_size": args.batch_size, "single_decode_s_per_epoch": ours_s,
           "k_decode_s_per_epoch": reference_s, "ratio": reference_s / ours_s}
    print(row)
    if args.out:
        write_csv(args.out, [row], provenance(command_line("kdecode_reference", argv, suite="experiments"),
                                              seeds="torch seed 0"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
