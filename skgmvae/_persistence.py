"""The file format of a fitted GMVAETransformer: versioned, read back with ``torch.load(weights_only=True)``."""

import copy
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._fitting import effective_components, resolve_architecture
from ._runtime import resolve_device
from .nn.modules import GMVAE

FORMAT = "skgmvae.GMVAETransformer"
VERSION = 2
READABLE_VERSIONS = (1, 2)
# Parameters added after a file was written take the value that reproduces how it was trained
# (`output` and `n_jobs` do not change training, so their defaults serve).
_MISSING_PARAMS = {"contrastive_weight": 0.0, "architecture": "mlp"}


def save_transformer(transformer, path, metadata=None):
    """Write the parameters and trained weights of a fitted transformer to ``path``.

    The file holds only tensors, numbers, strings and lists, so no code runs
    when it is read back.

    Parameters
    ----------
    transformer : fitted GMVAETransformer
    path : str or path-like
    metadata : dict of str to str, int, float or bool, optional
        Stored beside the model (e.g. how its images were read); see
        :func:`read_metadata`.
    """
    check_is_fitted(transformer)
    params = transformer.get_params()
    if not isinstance(params["random_state"], (Integral, type(None))):
        params["random_state"] = None  # a RandomState instance cannot be stored safely
    params["device"] = str(params["device"])
    params["hidden_sizes"] = list(params["hidden_sizes"])
    torch.save({
        "format": FORMAT,
        "format_version": VERSION,
        "params": params,
        "state_dict": {name: tensor.cpu() for name, tensor in transformer.module_.state_dict().items()},
        "n_features_in": transformer.n_features_in_,
        "feature_names_in": [str(name) for name in getattr(transformer, "feature_names_in_", [])],
        "history": transformer.history_,
        "pretrain_history": transformer.pretrain_history_,
        "component_usage": torch.as_tensor(transformer.component_usage_),
        "augment": transformer.augment_,
        "metadata": dict(metadata or {}),
    }, path)


def _read_payload(path):
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt files
        raise ValueError(f"{path} could not be read as a saved GMVAETransformer: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a file written by GMVAETransformer.save.")
    if payload.get("format_version") not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} was written in format version {payload.get('format_version')}, but this "
            f"version of skgmvae reads versions {READABLE_VERSIONS}; refit the model or use the skgmvae "
            "version that wrote it."
        )
    return payload


def load_transformer(cls, path, device):
    """Rebuild a fitted ``cls`` (GMVAETransformer) from a file written by :func:`save_transformer`.

    Parameters
    ----------
    cls : type
    path : str or path-like
    device : str or torch.device
        Device for inference.

    Returns
    -------
    GMVAETransformer
    """
    payload = _read_payload(path)
    params = {**_MISSING_PARAMS, **payload["params"], "hidden_sizes": tuple(payload["params"]["hidden_sizes"]),
              "device": device}
    model = cls(**params)
    module = GMVAE(payload["n_features_in"], model.k, model.latent_dim, model.hidden_sizes,
                   resolve_architecture(model.architecture, payload["n_features_in"]))
    module.load_state_dict(payload["state_dict"])
    model._set_fitted_state(
        module=module,
        n_features_in=payload["n_features_in"],
        feature_names_in=payload["feature_names_in"] or None,
        history=payload["history"],
        pretrain_history=payload["pretrain_history"],
        component_usage=payload["component_usage"].numpy().astype(np.float64),
        augment=payload["augment"],
    )
    return model


def read_metadata(path):
    """The ``metadata`` dict a model file was saved with (empty when none).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict
    """
    return dict(_read_payload(path).get("metadata", {}))


class GMVAEPersistenceMixin:
    """Saving, loading and pickling of :class:`GMVAETransformer` (the module goes to the CPU)."""

    def save(self, path, *, metadata=None):
        """Write the parameters and trained weights to ``path`` in a format that loads safely.

        The file holds only tensors, numbers, strings and lists, so :meth:`load`
        reads it with ``torch.load(weights_only=True)``: no code runs on load.

        Parameters
        ----------
        path : str or path-like
        metadata : dict, optional
            Strings and numbers kept with the model (e.g. how the images
            were read), returned by ``skgmvae.read_model_metadata(path)``.
        """
        save_transformer(self, path, metadata)

    @classmethod
    def load(cls, path, *, device="auto"):
        """Load a transformer written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
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
        return load_transformer(cls, path, device)

    def __getstate__(self):
        state = super().__getstate__()
        if "module_" in state:
            # Stored on the CPU so that a model fitted on a GPU unpickles anywhere.
            state["module_"] = copy.deepcopy(self.module_).to("cpu")
        return state

    def _set_fitted_state(self, *, module, n_features_in, feature_names_in, history, pretrain_history,
                          component_usage, augment):
        """Restore the fitted attributes (used by :meth:`load`)."""
        self.device_ = resolve_device(self.device)
        self.module_ = module.to(self.device_)
        self.n_features_in_ = n_features_in
        if feature_names_in is not None:
            self.feature_names_in_ = np.asarray(feature_names_in, dtype=object)
        self.history_, self.pretrain_history_ = history, pretrain_history
        self.n_epochs_ = len(history)
        self.component_usage_ = component_usage
        self.n_components_used_ = effective_components(component_usage)
        self.augment_ = augment
        self.architecture_ = resolve_architecture(self.architecture, n_features_in)
        self.interrupted_ = False
        self.n_threads_ = None

