"""The file format of a fitted GMVAETransformer: versioned, read back with ``torch.load(weights_only=True)``.

A file holds the estimator's parameters, its fitted record
(:class:`~skgmvae.nn.NetworkSpec`), the module's weights and the other fitted
attributes, as tensors, numbers, strings and lists only, so no code runs when
it is read. The estimator turns itself into such a payload and back
(:meth:`GMVAETransformer.save` / :meth:`GMVAETransformer.load`); this module
only writes, reads, checks and upgrades payloads.
"""

import io

import torch

from ._fitting import resolve_architecture
from ._io import write_atomic

FORMAT = "skgmvae.GMVAETransformer"
VERSION = 3
READABLE_VERSIONS = (2, 3)
# Parameters added after a version-2 file was written take the value that reproduces how it was trained
# (`output` and `n_jobs` do not change training, so their defaults serve).
_MISSING_PARAMS = {"contrastive_weight": 0.0, "architecture": "mlp"}


def write_payload(payload, path):
    """Write a payload to a path (atomically: the old file stays whole until the new one is) or a binary file.

    Parameters
    ----------
    payload : dict
    path : str, path-like or binary file object
    """
    if hasattr(path, "write"):
        torch.save(payload, path)
        return
    with io.BytesIO() as buffer:
        torch.save(payload, buffer)
        write_atomic(path, buffer.getvalue(), force=True)


def read_payload(path):
    """The payload of a model file, checked and upgraded to the current version.

    Parameters
    ----------
    path : str, path-like or binary file object

    Returns
    -------
    dict
        With the keys ``params``, ``spec``, ``state_dict``, ``fitted`` and
        ``metadata``.

    Raises
    ------
    ValueError
        If the file is not a saved GMVAETransformer, is corrupt, or comes from
        a version of skgmvae this one cannot read.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt files
        raise ValueError(f"{path} could not be read as a saved GMVAETransformer: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a file written by GMVAETransformer.save.")
    version = payload.get("format_version")
    if version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} was written in format version {version}, but this version of skgmvae reads versions "
            f"{READABLE_VERSIONS}; refit the model or use the skgmvae version that wrote it."
        )
    if version == 2:
        return _from_version_2(payload)
    # Files of this version written before the precision parameter trained in float32.
    payload["fitted"].setdefault("precision_", "float32")
    return payload


def _from_version_2(payload):
    """A version-2 payload (parameters and fitted attributes side by side) in the version-3 layout."""
    params = {**_MISSING_PARAMS, **payload["params"]}
    n_features = payload["n_features_in"]
    spec = {"n_features": n_features, "n_components": params["k"], "latent_dim": params["latent_dim"],
            "hidden_sizes": list(params["hidden_sizes"]),
            "architecture": resolve_architecture(params["architecture"], n_features)}
    fitted = {"n_features_in_": n_features, "feature_names_in_": payload["feature_names_in"],
              "history_": payload["history"], "pretrain_history_": payload["pretrain_history"],
              "component_usage_": payload["component_usage"], "augment_": payload["augment"],
              "interrupted_": False, "n_threads_": None, "precision_": "float32"}
    return {"format": FORMAT, "format_version": VERSION, "params": params, "spec": spec,
            "state_dict": payload["state_dict"], "fitted": fitted, "metadata": payload.get("metadata", {})}


def read_metadata(path):
    """The ``metadata`` dict a model file was saved with (empty when none).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict
    """
    return dict(read_payload(path).get("metadata", {}))
