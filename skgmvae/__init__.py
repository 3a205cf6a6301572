"""skgmvae: label-efficient classification with a Gaussian-mixture VAE, the scikit-learn way.

A :class:`GMVAETransformer` learns clusters without labels; a
:class:`ClusterLabelDecoder` names them from a few labeled rows (``y == -1``
marks the unlabeled ones). :class:`LabeledOnlyClassifier` lets stock
classifiers be compared on the same partly labeled data; :class:`UMAPMixture`
clusters the GMVAE's latent codes again in a UMAP embedding.
"""

from ._active import suggest_labels
from ._audit import audit_accuracy, draw_audit_rows
from ._decoder import ClusterLabelDecoder
from ._labeled import LabeledOnlyClassifier, labeled_accuracy_score, labeled_accuracy_scorer
from ._manifold import UMAPMixture
from ._persistence import read_metadata as read_model_metadata
from ._routes import builtin_routes
from ._selection import RouteSearchCV
from ._splitter import PartiallyLabeledKFold
from ._transformer import GMVAETransformer
from .exceptions import ComponentCollapseWarning, TrainingInterrupted

__version__ = "0.1.0"

__all__ = [
    "ClusterLabelDecoder",
    "ComponentCollapseWarning",
    "GMVAETransformer",
    "LabeledOnlyClassifier",
    "PartiallyLabeledKFold",
    "RouteSearchCV",
    "TrainingInterrupted",
    "UMAPMixture",
    "__version__",
    "audit_accuracy",
    "builtin_routes",
    "draw_audit_rows",
    "labeled_accuracy_score",
    "labeled_accuracy_scorer",
    "read_model_metadata",
    "suggest_labels",
]
