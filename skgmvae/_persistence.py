"""The file format of a fitted GMVAETransformer: versioned, read back with ``torch.load(weights_only=True)``.

A file holds the estimator's parameters, its fitted record
(:class:`~skgmvae.nn.NetworkSpec`), the module's weights and the other fitted
attributes, as tensors, numbers, strings and lists only, so no code runs when
it is read. The estimator turns itself into such a payload and back
(:meth:`GMVAETransformer.save` / :meth:`GMVAETransformer.load`); this module
only writes, reads, checks and upgrades payloads.
"""

import copy
import io
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._fitting import resolve_architecture
from ._io import write_atomic
from ._runtime import adam, resolve_device
from .nn.modules import NetworkSpec

FORMAT = "skgmvae.GMVAETransformer"
VERSION = 5
READABLE_VERSIONS = (2, 3, 4, 5)
# Parameters added after a version-2 file was written take the value that reproduces how it was trained
# (`output` and `n_jobs` do not change training, so their defaults serve).
_MISSING_PARAMS = {"contrastive_weight": 0.0, "architecture": "mlp"}
# Parameters newer than pickles of the current format; saved files get them as the constructor's defaults.
_PICKLE_MISSING_PARAMS = {"callbacks": None, "early_stopping": False, "tol": 0.01, "n_iter_no_change": 5}


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
        ``metadata``, and from version 4 ``optimizer`` (Adam's state dict;
        ``fitted`` then holds ``learning_rate_`` too).

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
    # Version-3 files written before the precision parameter trained in float32.
    payload["fitted"].setdefault("precision_", "float32")
    if version < 5:  # the spec's number of components was named n_components
        payload["spec"]["k"] = payload["spec"].pop("n_components")
    return payload


def _from_version_2(payload):
    """A version-2 payload (parameters and fitted attributes side by side) in the version-3 layout."""
    params = {**_MISSING_PARAMS, **payload["params"]}
    n_features = payload["n_features_in"]
    spec = {"n_features": n_features, "k": params["k"], "latent_dim": params["latent_dim"],
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


class Persistence:
    """Saving, loading and pickling a :class:`~skgmvae.GMVAETransformer`."""

    def save(self, path, *, metadata=None):
        """Write the parameters, the fitted record and the trained weights in a format that loads safely.

        The file holds only tensors, numbers, strings and lists, so :meth:`load`
        reads it with ``torch.load(weights_only=True)``: no code runs on load.
        A path is written atomically: a crash during the write leaves the
        previous file, never half of one.

        Parameters
        ----------
        path : str, path-like or binary file object
        metadata : dict, optional
            Strings and numbers kept with the model (e.g. how the images
            were read), returned by ``skgmvae.read_model_metadata(path)``.
        """
        check_is_fitted(self)
        params = self.get_params()
        if not isinstance(params["random_state"], (Integral, type(None))):
            params["random_state"] = None  # a RandomState instance cannot be stored safely
        params["device"] = str(params["device"])
        params["hidden_sizes"] = list(params["hidden_sizes"])
        params["callbacks"] = None  # objects of any class: not stored, so that loading runs no code
        stored_apart = ("spec_", "module_", "device_", "optimizer_")
        fitted = {name: getattr(self, name) for name in self._FITTED_STATE if name not in stored_apart}
        fitted["component_usage_"] = torch.as_tensor(self.component_usage_)
        fitted["feature_names_in_"] = [str(name) for name in getattr(self, "feature_names_in_", [])]
        write_payload({
            "format": FORMAT, "format_version": VERSION, "params": params, "spec": self.spec_.to_dict(),
            "state_dict": {name: tensor.cpu() for name, tensor in self.module_.state_dict().items()},
            "fitted": fitted, "metadata": dict(metadata or {}),
            "optimizer": _to_cpu(self.optimizer_.state_dict()),
        }, path)

    @classmethod
    def load(cls, path, *, device="auto"):
        """Load a transformer written by :meth:`save`.

        The network is rebuilt from the saved record, not from the
        parameters, so a file always loads into the shape it was saved with.

        Parameters
        ----------
        path : str, path-like or binary file object
        device : str, default='auto'
            Device for inference; 'auto' picks CUDA when present.

        Returns
        -------
        GMVAETransformer
            Fitted, with the saved parameters and weights.

        Raises
        ------
        ValueError
            If the file is not a saved GMVAETransformer, is corrupt, or comes from
            an incompatible version of skgmvae.
        """
        payload = read_payload(path)
        model = cls(**{**payload["params"], "hidden_sizes": tuple(payload["params"]["hidden_sizes"]), "device": device})
        spec = NetworkSpec.from_dict(payload["spec"])
        module = spec.build()
        module.load_state_dict(payload["state_dict"])
        fitted = dict(payload["fitted"])
        feature_names = fitted.pop("feature_names_in_")
        if feature_names:
            model.feature_names_in_ = np.asarray(feature_names, dtype=object)
        fitted["component_usage_"] = fitted["component_usage_"].numpy().astype(np.float64)
        # Files written before the optimizer was kept: fresh moments, the rate of the last epoch.
        history = fitted["history_"]
        fitted.setdefault("learning_rate_", history[-1]["learning_rate"] if history else model.learning_rate)
        model._set_fitted_state(spec_=spec, module_=module, device_=resolve_device(device),
                                optimizer_=payload.get("optimizer"), **fitted)
        return model

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ gives the instance's own __dict__
        if "module_" in state:
            # Stored on the CPU so that a model fitted on a GPU unpickles anywhere.
            state["module_"] = copy.deepcopy(self.module_).to("cpu")
        if state.get("optimizer_") is not None:
            # Its state alone: the optimizer is rebuilt over the unpickled module's parameters.
            state["optimizer_"] = _to_cpu(self.optimizer_.state_dict())
        return state

    def __setstate__(self, state):
        # A pickle from before a parameter existed gets the value that describes how it was trained.
        super().__setstate__({**_PICKLE_MISSING_PARAMS, **state})
        if isinstance(getattr(self, "optimizer_", None), dict):
            optimizer_state, self.optimizer_ = self.optimizer_, adam(self.module_.parameters(), self.learning_rate_)
            self.optimizer_.load_state_dict(optimizer_state)


def _to_cpu(state):
    """A copy of a (nested) state dict with its tensors on the CPU."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu().clone()
    if isinstance(state, dict):
        return {key: _to_cpu(value) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_to_cpu(value) for value in state)
    return state
