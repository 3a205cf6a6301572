"""Where a fit runs: the torch device and the number of torch threads."""

import contextlib
import os
import sys
import time

import numpy as np
import threadpoolctl
import torch
from sklearn.utils import check_random_state

# How long the load of the other processes is measured before a fit starts (/proc/stat ticks are 10 ms).
_START_SAMPLE_SECONDS = 0.05
DEVICE_HELP = "'auto', 'cpu', 'cuda', 'cuda:<index>', 'mps' or a torch.device"


def draw_seed(random_state):
    """An int seed for torch (or a nested estimator) drawn from ``random_state``, as scikit-learn draws them.

    Parameters
    ----------
    random_state : int, RandomState instance or None

    Returns
    -------
    int
        In [0, 2**31 - 1).
    """
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


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


def allowed_cpus():
    """Indices of the CPUs this process may run on (its affinity set where the system reports it, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def native_bfloat16(device):
    """Whether ``device`` computes in bfloat16 natively (AVX-512 BF16 or AMX on a CPU; Ampere or newer on CUDA)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(cpu, check, lambda: False)() for check in checks)
    return False


def resolve_precision(precision, device, native=None):
    """'bfloat16' or 'float32': the compute type of training's convolutions and matrix products.

    Parameters
    ----------
    precision : {'auto', 'float32', 'bfloat16'}
        'auto' is 'bfloat16' where the device has it natively, else 'float32'.
    device : torch.device
    native : bool, optional
        Whether the device has bfloat16 natively; detected when None.

    Returns
    -------
    str
    """
    native = native_bfloat16(device) if native is None else native
    if precision == "bfloat16" and device.type != "cpu" and not native:
        raise ValueError(f"precision='bfloat16' was asked for, but {device} cannot compute in bfloat16; use "
                         "'float32' or 'auto'.")
    if precision != "auto":
        return precision
    return "bfloat16" if native else "float32"


def adam(parameters, learning_rate):
    """Adam with its fused kernel (one pass over all parameters per step) where this torch has one.

    Parameters
    ----------
    parameters : iterable of torch.nn.Parameter
        On one device.
    learning_rate : float

    Returns
    -------
    torch.optim.Adam
    """
    parameters = list(parameters)
    try:
        return torch.optim.Adam(parameters, lr=learning_rate, fused=True)
    except (RuntimeError, TypeError):  # older torch, or a device without the fused kernel
        return torch.optim.Adam(parameters, lr=learning_rate)


def available_cores():
    """How many cores this process may run on."""
    return len(allowed_cpus())


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


class ThreadBudget:
    """The torch threads of one fit stage, given back to other processes as they take cores.

    :meth:`adapt` measures how busy the *other* processes kept the cores
    this process may run on since the last call (the busy time of those CPUs
    minus this process's own, over the wall time) and sets torch's threads
    (and NumPy's BLAS threads) to the cores left, between 1 and the starting
    number. Only the CPUs of this process's affinity set count: a process
    pinned to two cores of a busy 64-core host looks at its two cores.
    Torch's OpenMP threads spin while they wait for each other, so a thread
    whose core is taken by another process stalls all of them. What
    :class:`skgmvae.callbacks.YieldCores` runs.

    Parameters
    ----------
    threads : int
        Threads at the start (and the most it will use).
    """

    def __init__(self, threads):
        self.threads = threads
        self._cpus = allowed_cpus()
        self._mark = self._read() if threads > 1 else None

    def start(self):
        """Measure the other processes' load for a moment and set the threads by it; returns the number."""
        if self.threads > 1:
            time.sleep(_START_SAMPLE_SECONDS)
        return self.adapt()

    def _read(self):
        """(wall clock, busy seconds of the allowed CPUs, this process's CPU seconds)."""
        import psutil

        per_cpu = psutil.cpu_times(percpu=True)
        own = psutil.Process().cpu_times()
        # On Linux, guest time is already counted in user time, so it is not added again.
        busy = sum(getattr(per_cpu[cpu], field, 0.0) for cpu in self._cpus if cpu < len(per_cpu)
                   for field in ("user", "nice", "system", "irq", "softirq", "steal"))
        return time.monotonic(), busy, own.user + own.system

    def adapt(self):
        """Set the threads from the load since the last call; returns the number in use."""
        if self.threads <= 1:
            return torch.get_num_threads()
        mark = self._read()
        wall = mark[0] - self._mark[0]
        if wall > 0.05:  # too short a time says nothing
            others = max(0.0, (mark[1] - self._mark[1]) - (mark[2] - self._mark[2])) / wall
            wanted = int(min(self.threads, max(1, round(len(self._cpus) - others))))
            if wanted != torch.get_num_threads():
                torch.set_num_threads(wanted)
                threadpoolctl.threadpool_limits(limits=wanted, user_api="blas")
            self._mark = mark
        return torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n_jobs):
    """Run the block with :func:`resolve_threads` torch threads, then restore the global settings.

    Parameters
    ----------
    n_jobs : int or None
        See :func:`resolve_threads`.

    Yields
    ------
    int
        The number of threads, fixed for the block unless a
        :class:`ThreadBudget` changes it.
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
