"""Running a module over many rows in batches, without gradients.

Inputs are anything that slices like a NumPy array (ndarray, memmap) or a
Tensor; only one batch at a time is turned into a float tensor on the device,
so an array larger than memory is read chunk by chunk.
"""

import mmap

import numpy as np
import torch

EVAL_BATCH_SIZE = 2048
# Batches read from a memmap between two releases of its pages (see release_mapped_pages).
RELEASE_EVERY = 256


def release_mapped_pages(X):
    """Drop the pages of a read memmap from this process's resident memory (they stay on disk).

    Reading a memmap maps each page it touches into the process; without
    this, a pass over a file larger than memory would keep all of it
    resident. The pages are clean (only read), so the kernel drops them and
    reads them again on the next access. A no-op for anything but a NumPy
    memmap, and where ``madvise`` is not available.
    """
    mapping = getattr(X, "_mmap", None)
    if mapping is not None and hasattr(mapping, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def to_float_tensor(rows, device, dtype=torch.float32):
    """One batch of rows as a float tensor on ``device``; uint8 images are scaled by 1/255.

    Parameters
    ----------
    rows : ndarray or Tensor of shape (batch, n_features)
    device : torch.device
    dtype : torch.dtype, default=torch.float32

    Returns
    -------
    Tensor of shape (batch, n_features)
    """
    if isinstance(rows, torch.Tensor):
        tensor = rows
    else:
        array = np.asarray(rows)
        if not (array.flags.writeable and array.flags.c_contiguous):
            array = np.array(array, order="C")  # one batch: torch cannot wrap a read-only memmap slice
        tensor = torch.from_numpy(array)
    if tensor.dtype == torch.uint8:
        return tensor.to(device=device, dtype=dtype, non_blocking=True).div_(255.0)
    return tensor.to(device=device, dtype=dtype, non_blocking=True)


@torch.no_grad()
def batched_apply(fn, X, device, batch_size=EVAL_BATCH_SIZE, dtype=torch.float32):
    """Apply ``fn`` to consecutive batches of rows of ``X`` and concatenate the results.

    The caller sets the module's mode (``eval()`` for inference).

    Parameters
    ----------
    fn : callable
        Maps a float tensor of shape (batch, n_features) on ``device`` to a
        tensor of shape (batch, ...) or a tuple of such tensors.
    X : array-like or Tensor of shape (n_samples, n_features)
    device : torch.device
    batch_size : int, default=2048
    dtype : torch.dtype, default=torch.float32
        Floating type of the batches given to ``fn``.

    Returns
    -------
    Tensor or tuple of Tensors of shape (n_samples, ...)
        On ``device``.
    """
    outputs = []
    for number, start in enumerate(range(0, len(X), batch_size), start=1):
        outputs.append(fn(to_float_tensor(X[start:start + batch_size], device, dtype)))
        if number % RELEASE_EVERY == 0:
            release_mapped_pages(X)
    if not outputs:
        raise ValueError("batched_apply needs at least one row.")
    if isinstance(outputs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outputs))
    return torch.cat(outputs)
