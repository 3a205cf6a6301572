"""Time of one GMVAE training step (the package defaults' convolutional model), lever by lever.

A step is what :meth:`GMVAETransformer._train_epoch` runs per batch: two distortions of 64 EMNIST images,
the ELBO with the consistency, balance and contrastive terms, the backward pass and an Adam step.
Each configuration runs in its own process; ``--repo`` imports skgmvae from another checkout (e.g. a
``git worktree`` of the previous commit), so two versions are timed side by side on the same machine.

Commands (from the repository root)::

    python -m benchmarks.step_time --out benchmarks/results/step-time/step-time.csv
    python -m benchmarks.step_time --previous ../previous-checkout --out ...   # adds the previous commit

Levers: ``fused`` (Adam's fused kernel), ``channels_last`` (memory format of the convolutions),
``bfloat16`` (autocast of the convolutions and matrix products; emulated, slowly, on a CPU without BF16),
``compile`` (``torch.compile`` of the module), ``batch128`` (128 images a step).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CONFIGURATIONS = {
    "default": {},
    "fused": {"fused": True},
    "channels_last": {"channels_last": True},
    "bfloat16": {"bfloat16": True},
    "compile": {"compile": True},
    "batch128": {"batch_size": 128},
    "fused+batch128": {"fused": True, "batch_size": 128},
}


def time_steps(n_steps=60, warmup=10, fused=False, channels_last=False, bfloat16=False, compile=False,
               batch_size=64, threads=2, data_dir=None):
    """Median milliseconds of a training step after ``warmup`` steps."""
    import torch

    from skgmvae.nn import GMVAE, gmvae_loss
    from skgmvae.nn.augment import RandomAffine

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    try:
        from skgmvae.datasets import load_dataset

        X = torch.as_tensor(load_dataset("emnist", data_dir)["X_pool"][: (n_steps + warmup) * batch_size],
                            dtype=torch.float32)
    except (FileNotFoundError, ValueError):
        X = torch.rand((n_steps + warmup) * batch_size, 784)
    module = GMVAE(784, 200, 32, (512, 256), "conv")
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, **({"fused": True} if fused else {}))
    forward = torch.compile(module) if compile else module
    augmenter = RandomAffine((28, 28))
    generator = torch.Generator().manual_seed(0)
    times = []
    for step in range(n_steps + warmup):
        x = X[step * batch_size:(step + 1) * batch_size]
        tick = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            loss, _ = gmvae_loss(forward, x, generator, augmenter, 1.0, 1.0, 10.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - tick)
    return 1000 * float(np.median(times[warmup:]))


def _run(repo, settings, args):
    """One configuration in a fresh process that imports skgmvae from ``repo``."""
    worker = json.dumps({**settings, "n_steps": args.steps, "data_dir": args.data_dir})
    env = {**os.environ, "PYTHONPATH": str(repo)}
    output = subprocess.run([sys.executable, __file__, "--worker", worker], check=True, capture_output=True,
                            text=True, env=env)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", default=None, help="another checkout to time beside this one")
    parser.add_argument("--levers", nargs="+", default=list(CONFIGURATIONS), choices=list(CONFIGURATIONS))
    parser.add_argument("--rounds", type=int, default=2, help="each configuration runs this many times, interleaved")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="CSV to write")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(time_steps(**json.loads(args.worker))))
        return
    here = Path(__file__).resolve().parents[1]
    runs = [("this checkout", here, name, CONFIGURATIONS[name]) for name in args.levers]
    if args.previous:
        runs.insert(0, ("previous checkout", Path(args.previous).resolve(), "default", {}))
    rows = []
    for round_number in range(args.rounds):
        for version, repo, name, settings in runs:
            milliseconds = _run(repo, settings, args)
            rows.append({"version": version, "lever": name, "round": round_number, "ms_per_step": milliseconds,
                         "batch_size": settings.get("batch_size", 64),
                         "machine": f"{platform.machine()}, {os.cpu_count()} cores"})
            print(rows[-1], flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        # Imported here: the workers run this file against other checkouts, whose benchmarks lack it.
        from benchmarks._protocol import write_csv

        write_csv(args.out, rows)


if __name__ == "__main__":
    main()
