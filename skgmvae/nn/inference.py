"""Running a module over many rows in batches, without gradients.

Inputs are anything that slices like a NumPy array (ndarray, memmap) or a
Tensor; only one batch at a time is turned into a float tensor on the device,
so an array larger than memory is read chunk by chunk.
"""

import mmap
import os

import numpy as np
import torch

EVAL_BATCH_SIZE = 2048


def _file_backed(X):
    """Whether ``X`` is a whole C-ordered 2-D memmap whose file holds its values, so rows can be read from it.

    A copy-on-write memmap (mode 'c') is not: its changes live in memory only.
    """
    return (isinstance(X, np.memmap) and isinstance(X.base, mmap.mmap) and X.ndim == 2 and X.flags.c_contiguous
            and bool(getattr(X, "filename", None)) and getattr(X, "mode", "c") != "c")


def _pread_into(descriptor, array, offset):
    """Fill ``array`` from the file at ``offset``, however many reads that takes."""
    buffer, done = memoryview(array).cast("B"), 0
    while done < len(buffer):
        count = os.preadv(descriptor, [buffer[done:]], offset + done)
        if count == 0:
            raise OSError(f"the memmap's file ends before byte {offset + len(buffer)}; was it truncated?")
        done += count


def read_rows(X, rows):
    """``X[rows]`` as an in-memory array; a memmap's rows are read from its file, leaving nothing mapped.

    Reading through the mapping would map every page touched (and, through
    the kernel's fault-around, its neighbours) into this process, so a pass
    over a file larger than memory would show as resident memory; reading
    the file with ``pread`` keeps the pages in the system's cache only.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    rows : slice or ndarray of int
        A slice with step 1, or row indices (read fastest when sorted).

    Returns
    -------
    ndarray of shape (n_rows, n_features)
    """
    if not _file_backed(X):
        return X[rows]
    row_bytes = X.shape[1] * X.itemsize
    with open(X.filename, "rb", buffering=0) as handle:
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(len(X))
            out = np.empty((max(0, stop - start), X.shape[1]), dtype=X.dtype)
            _pread_into(handle.fileno(), out, X.offset + start * row_bytes)
            return out
        out = np.empty((len(rows), X.shape[1]), dtype=X.dtype)
        for position, row in enumerate(rows):
            _pread_into(handle.fileno(), out[position], X.offset + int(row) * row_bytes)
        return out


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
    outputs = [fn(to_float_tensor(read_rows(X, slice(start, start + batch_size)), device, dtype))
               for start in range(0, len(X), batch_size)]
    if not outputs:
        raise ValueError("batched_apply needs at least one row.")
    if isinstance(outputs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outputs))
    return torch.cat(outputs)
