"""Running a module over many rows in batches, without gradients.

Inputs are anything that slices like a NumPy array (ndarray, memmap) or a
Tensor; only one batch at a time is turned into a float tensor on the device,
so an array larger than memory is read chunk by chunk.
"""

import numpy as np
import torch

from .._io import read_rows

EVAL_BATCH_SIZE = 2048


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


@torch.no_grad()
def component_usage(model, X, device, dtype=torch.float32, batch_size=EVAL_BATCH_SIZE):
    """Each component's share of the posterior mass over ``X``: the mean of q(c|x).

    Parameters
    ----------
    model : GMVAE
        In the mode the caller set (``eval()`` for inference).
    X : array-like or Tensor of shape (n_samples, n_features)
    device : torch.device
    dtype : torch.dtype, default=torch.float32
    batch_size : int, default=2048

    Returns
    -------
    Tensor of shape (K,)
        Sums to 1.
    """
    sums = batched_apply(lambda batch: model(batch)[2].exp().sum(0, keepdim=True), X, device, batch_size, dtype)
    return sums.sum(0) / len(X)
