"""Where a fit runs: the torch device and the number of torch threads."""

import contextlib
import os
import sys

import torch

DEVICE_HELP = "'auto', 'cpu', 'cuda', 'cuda:<index>', 'mps' or a torch.device"


def resolve_device(device):
    """The torch device that ``device`` names, checked to exist here.

    Parameters
    ----------
    device : str or torch.device
        'auto' picks CUDA when available, else the CPU.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the name is not a torch device, or names CUDA where there is none.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a torch device; use {DEVICE_HELP}.") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available here; use 'cpu' or 'auto'.")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was asked for, but MPS is not available here; use 'cpu' or 'auto'.")
    return resolved


def available_cores():
    """Cores this process may run on (its CPU affinity where the system reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def in_dask_worker():
    """Whether the calling thread runs a task of a ``distributed`` worker."""
    if "distributed" not in sys.modules:  # never import dask just to ask
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def resolve_threads(n_jobs):
    """Torch intra-op threads for ``n_jobs`` (see ``GMVAETransformer.n_jobs``).

    Parameters
    ----------
    n_jobs : int or None
        A positive count, -1 for every available core, or None for the
        default: the fewest of torch's current setting (which follows
        ``OMP_NUM_THREADS`` and ``threadpoolctl`` limits), the available
        cores, and 1 inside a Dask worker.

    Returns
    -------
    int
    """
    if n_jobs == -1:
        return available_cores()
    if n_jobs is not None:
        return int(n_jobs)
    limits = [torch.get_num_threads(), available_cores()]
    if in_dask_worker():
        limits.append(1)
    return max(1, min(limits))


@contextlib.contextmanager
def torch_threads(n_jobs):
    """Run the block with :func:`resolve_threads` torch threads, then restore the global setting.

    Yields
    ------
    int
        The number of threads in use.
    """
    previous = torch.get_num_threads()
    wanted = resolve_threads(n_jobs)
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
