"""Timings of two checkouts side by side: every measurement in a fresh process, the checkouts interleaved.

A timing benchmark names a *worker*, a function of one of its modules that measures one configuration
through the package's public API and returns a dict of figures. :func:`interleave` runs it for every
configuration, every round and every checkout, each time in a new Python process whose ``skgmvae`` is
imported from that checkout while the benchmark's own code comes from this one; within a round the checkouts
alternate which goes first, so that a drift of the machine's speed does not favour one of them. The
baseline is any other working tree of the repository, for instance the previous commit::

    git worktree add ../baseline HEAD~1
    python -m benchmarks step_time --baseline ../baseline --rounds 3

This module imports nothing of the package at load time: a worker process imports it before it knows which
``skgmvae`` it will get.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parent
THIS_CHECKOUT = SUITE.parent

# Run by ``python -c`` in the checkout under test: this suite's ``benchmarks`` package from its own folder, then
# ``skgmvae`` from the working directory (the checkout, first on sys.path), then the worker.
_BOOTSTRAP = r"""
import importlib, importlib.util, json, sys
from pathlib import Path
spec = json.loads(sys.argv[1])
found = importlib.util.spec_from_file_location("benchmarks", Path(spec["suite"]) / "__init__.py",
                                               submodule_search_locations=[spec["suite"]])
suite = importlib.util.module_from_spec(found)
sys.modules["benchmarks"] = suite
found.loader.exec_module(suite)
import skgmvae
checkout = Path(spec["checkout"]).resolve()
if checkout not in Path(skgmvae.__file__).resolve().parents:
    raise SystemExit(f"skgmvae was imported from {skgmvae.__file__}, not from the checkout {checkout}")
result = getattr(importlib.import_module(spec["module"]), spec["function"])(**spec["kwargs"])
print("RESULT " + json.dumps(result))
"""


def add_arguments(parser, rounds=3):
    """``--baseline PATH`` (another checkout to time beside this one) and ``--rounds N``."""
    parser.add_argument("--baseline", default=None,
                        help="another checkout of the repository to time beside this one, interleaved "
                             "(e.g. `git worktree add ../baseline HEAD~1`)")
    parser.add_argument("--rounds", type=int, default=rounds,
                        help=f"measurements of each configuration and checkout (default: {rounds})")


def checkouts(baseline=None):
    """``[(name, folder)]``: this checkout, and the baseline when given.

    Raises
    ------
    ValueError
        When the baseline holds no ``skgmvae`` package.
    """
    found = [("this checkout", THIS_CHECKOUT)]
    if baseline is not None:
        folder = Path(baseline).resolve()
        if not (folder / "skgmvae" / "__init__.py").is_file():
            raise ValueError(f"--baseline {baseline} holds no skgmvae package: give the root of another "
                             "checkout (git worktree add ../baseline <commit>).")
        found.append(("baseline", folder))
    return found


def run_worker(checkout, module, function, kwargs, timeout=None):
    """Run ``module.function(**kwargs)`` in a fresh process that imports ``skgmvae`` from ``checkout``.

    Parameters
    ----------
    checkout : path-like
        Root of the checkout whose package is timed.
    module, function : str
        The worker, in this suite (``'benchmarks.step_time'``, ``'worker'``).
    kwargs : dict
        Its arguments, JSON-serialisable.
    timeout : float, optional
        Seconds before the process is killed.

    Returns
    -------
    dict
        What the worker returned.

    Raises
    ------
    RuntimeError
        When the worker fails; the message holds the end of its error output.
    """
    spec = {"suite": str(SUITE), "checkout": str(Path(checkout).resolve()), "module": module, "function": function,
            "kwargs": kwargs}
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", _BOOTSTRAP, json.dumps(spec)], cwd=spec["checkout"], env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{module}.{function} failed in {checkout} (exit {done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def interleave(folders, configurations, rounds, module, function, kwargs_of, around=None, verbose=True):
    """Every configuration on every checkout, ``rounds`` times, in fresh processes, the checkouts alternating.

    Parameters
    ----------
    folders : list of (str, path-like)
        Output of :func:`checkouts`.
    configurations : dict of str to dict
        Name to the settings of a configuration.
    rounds : int
    module, function : str
        The worker (see :func:`run_worker`).
    kwargs_of : callable
        ``kwargs_of(settings) -> dict``: the worker's arguments for one configuration.
    around : callable, optional
        ``around(settings)`` returns a context manager each measurement runs inside (e.g. another process
        loading the machine).
    verbose : bool, default=True
        Print each measurement.

    Returns
    -------
    list of dict
        One row per measurement: ``round``, ``order`` (its place in the round), ``checkout``,
        ``checkout_commit``, ``configuration``, then the worker's figures.
    """
    from contextlib import nullcontext

    from benchmarks._protocol import git_commit

    commits = {name: git_commit(folder) for name, folder in folders}
    rows = []
    for round_number in range(rounds):
        # Alternate which checkout goes first, so that neither always runs on the colder (or warmer) machine.
        order = folders if round_number % 2 == 0 else folders[::-1]
        for name, settings in configurations.items():
            for checkout_name, folder in order:
                with around(settings) if around is not None else nullcontext():
                    result = run_worker(folder, module, function, kwargs_of(settings))
                rows.append({"round": round_number, "order": len(rows), "checkout": checkout_name,
                             "checkout_commit": commits[checkout_name], "configuration": name, **result})
                if verbose:
                    print(rows[-1], flush=True)
    return rows


def medians(rows, value, keys=("configuration",)):
    """Median of ``value`` per ``keys`` and checkout, with this checkout's ratio to the baseline's.

    Returns
    -------
    list of dict
        One row per ``keys`` and checkout: the keys, ``checkout``, ``checkout_commit``, ``median_<value>``,
        ``runs`` (every measurement, space-separated), ``n_runs`` and ``ratio_to_baseline`` (this median over
        the baseline's for the same keys; empty without a baseline).
    """
    import numpy as np

    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in keys) + (row["checkout"],), []).append(row)
    summary = []
    for key, group in groups.items():
        values = [float(row[value]) for row in group]
        summary.append({**dict(zip(keys, key)), "checkout": key[-1], "checkout_commit": group[0]["checkout_commit"],
                        f"median_{value}": float(np.median(values)), "runs": " ".join(f"{v:.6g}" for v in values),
                        "n_runs": len(values)})
    for row in summary:
        baseline = [other for other in summary if other["checkout"] == "baseline"
                    and all(other[key] == row[key] for key in keys)]
        row["ratio_to_baseline"] = (row[f"median_{value}"] / baseline[0][f"median_{value}"]
                                    if baseline and baseline[0][f"median_{value}"] else "")
    return summary


def identify():
    """A worker that measures nothing: where its ``skgmvae`` came from, and its version."""
    import skgmvae

    return {"skgmvae_file": skgmvae.__file__, "skgmvae_version": getattr(skgmvae, "__version__", "unknown")}
