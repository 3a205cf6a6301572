"""Sphinx configuration of the skgmvae documentation (builds offline)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import skgmvae  # noqa: E402

project = "skgmvae"
author = "the skgmvae developers"
copyright = "2026, the skgmvae developers"
version = release = skgmvae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "**/sg_execution_times.rst", "sg_execution_times.rst"]
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    # scikit-learn's generated metadata-routing setters link to its own glossary.
    "exclude-members": "set_fit_request,set_predict_request,set_score_request,set_transform_request,"
                       "set_predict_proba_request,set_output,set_partial_fit_request,"
                       "set_decision_function_request,set_split_request,set_inverse_transform_request,get_metadata_routing",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Every public parameter documented and none documented that does not exist.
numpydoc_validation_checks = {"PR01", "PR02", "PR10"}
numpydoc_validation_exclude = {r"\.__init__$", r"^skgmvae\.nn\.", r"\.set_\w+_request$"}
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "Tensor": "torch.Tensor",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "BaseEstimator": "sklearn.base.BaseEstimator",
    "Generator": "torch.Generator",
    "LongTensor": "torch.Tensor",
    "BoolTensor": "torch.Tensor",
}
numpydoc_xref_ignore = {"of", "shape", "or", "optional", "default", "array-like", "sparse", "matrix", "callable",
                        "dict", "list", "tuple", "str", "int", "float", "bool", "None", "path-like", "ndarray",
                        "type", "object", "sequence", "function", "estimator", "iterable", "array", "scalar",
                        "instance", "Path", "file-like", "bytes"}

# Links to the packages the docs name, from inventories kept in the repo: the CI build has no network.
# docs/_inventories/write_inventories.py writes them from the installed packages.
intersphinx_mapping = {
    "sklearn": ("https://scikit-learn.org/stable/", "_inventories/sklearn.inv"),
    "numpy": ("https://numpy.org/doc/stable/", "_inventories/numpy.inv"),
    "torch": ("https://docs.pytorch.org/docs/stable/", "_inventories/torch.inv"),
    "python": ("https://docs.python.org/3/", "_inventories/python.inv"),
}
suppress_warnings = ["config.cache"]

html_theme = "pydata_sphinx_theme"
html_title = "skgmvae"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    # Gallery pages give their width to the code (no "on this page" column).
    "secondary_sidebar_items": {"auto_examples/*": []},
}
html_static_path = ["_static"]
html_css_files = ["skgmvae.css"]  # wide tables scroll instead of being clipped
templates_path = ["_templates"]

# MathJax from a local copy when one was installed (the CI build has no network for the CDN):
# `npm install mathjax@3` and copy node_modules/mathjax/es5 to docs/_mathjax/es5 (git-ignored).
if (Path(__file__).parent / "_mathjax" / "es5" / "tex-chtml.js").is_file():
    html_static_path = ["_static", "_mathjax"]
    mathjax_path = "es5/tex-chtml.js"

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    # Each API page lists the examples that use it (the .. minigallery:: of docs/_templates/autosummary).
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skgmvae",),
    "reference_url": {"skgmvae": None},
}
