"""Write the intersphinx inventories the docs link out with (the CI build has no network).

Each inventory lists the public names of an installed package (scikit-learn,
NumPy, PyTorch; and the Python built-ins numpydoc's type aliases link to) with
the page its online documentation gives each of them, in the Sphinx inventory
format (four header lines, then zlib-compressed ``name domain:role priority
uri display`` lines). Run it again after a major
upgrade of one of these packages::

    python docs/_inventories/write_inventories.py
"""

import importlib
import inspect
import platform
import zlib
from pathlib import Path

HERE = Path(__file__).parent


def _public(module):
    names = getattr(module, "__all__", None) or [name for name in dir(module) if not name.startswith("_")]
    for name in names:
        try:
            obj = getattr(module, name, None)
        except ImportError:  # experimental names that need an explicit enable import
            continue
        if inspect.isclass(obj):
            yield name, "py:class"
        elif callable(obj):
            yield name, "py:function"


def sklearn_entries():
    """API pages are ``modules/generated/<name>.html``, module pages ``api/<module>.html``."""
    import sklearn

    for submodule in sklearn.__all__:
        if submodule.startswith("_") or submodule in ("clone", "config_context", "get_config", "set_config",
                                                      "show_versions"):
            continue
        module_name = f"sklearn.{submodule}"
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        yield module_name, "py:module", f"api/{module_name}.html"
        public = list(_public(module))
        class_names = {name.lower() for name, role in public if role == "py:class"}
        for name, role in public:
            full = f"{module_name}.{name}"
            # A function named like a class of its module (dbscan, DBSCAN) gets its own page name.
            page = f"{name}-function" if role == "py:function" and name in class_names else full
            yield full, role, f"modules/generated/{page}.html#{full}"
    for name in ("clone", "config_context", "get_config", "set_config"):
        yield f"sklearn.{name}", "py:function", f"modules/generated/sklearn.{name}.html#sklearn.{name}"


def numpy_entries():
    """Top-level names are ``reference/generated/numpy.<name>.html``; the random generators have their own pages."""
    import numpy

    for name, role in _public(numpy):
        full = f"numpy.{name}"
        yield full, role, f"reference/generated/{full}.html#{full}"
    yield "numpy.random.Generator", "py:class", "reference/random/generator.html#numpy.random.Generator"
    # numpydoc's type aliases link "array-like" and "scalar" to these.
    yield "array_like", "std:term", "reference/glossary.html#term-array_like"
    yield "arrays.scalars", "std:label", "reference/arrays.scalars.html#arrays-scalars"
    yield "numpy.random.RandomState", "py:class", "reference/random/legacy.html#numpy.random.RandomState"


def torch_entries():
    """Most names are ``generated/<name>.html``; tensors, devices and dtypes have their own pages."""
    for module_name in ("torch", "torch.nn", "torch.optim"):
        module = importlib.import_module(module_name)
        for name, role in _public(module):
            full = f"{module_name}.{name}"
            yield full, role, f"generated/{full}.html#{full}"
    yield "torch.device", "py:class", "tensor_attributes.html#torch.device"
    yield "torch.dtype", "py:class", "tensor_attributes.html#torch.dtype"
    yield "torch.Tensor", "py:class", "tensors.html#torch.Tensor"
    yield "torch.utils.data.Dataset", "py:class", "data.html#torch.utils.data.Dataset"


def python_entries():
    """The built-in types and constants numpydoc's type aliases link to."""
    for name in ("int", "float", "str", "list", "dict", "tuple", "bool", "bytes", "object", "type", "range",
                 "slice", "set", "frozenset", "complex"):
        yield name, "py:class", f"library/functions.html#{name}"
    for name in ("None", "True", "False", "Ellipsis"):
        yield name, "py:data", f"library/constants.html#{name}"
    yield "bltin-boolean-values", "std:label", "library/stdtypes.html#boolean-type-bool"
    for term in ("sequence", "iterable", "mapping", "callable", "hashable", "file-like object"):
        yield term, "std:term", f"glossary.html#term-{term.replace(' ', '-')}"


def write_inventory(path, project, version, entries):
    seen, lines = set(), []
    for name, role, uri in entries:
        if name in seen:
            continue
        seen.add(name)
        priority = -1 if role.startswith("std:") else 1
        display = "Boolean Type - bool" if name == "bltin-boolean-values" else "-"
        lines.append(f"{name} {role} {priority} {uri} {display}\n")
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n")
    path.write_bytes(header.encode() + zlib.compress("".join(sorted(lines)).encode()))
    print(f"{path.name}: {len(lines)} names")


def main():
    import numpy
    import sklearn
    import torch

    write_inventory(HERE / "sklearn.inv", "scikit-learn", sklearn.__version__, sklearn_entries())
    write_inventory(HERE / "numpy.inv", "NumPy", numpy.__version__, numpy_entries())
    write_inventory(HERE / "torch.inv", "PyTorch", torch.__version__.split("+")[0], torch_entries())
    write_inventory(HERE / "python.inv", "Python", platform.python_version(), python_entries())


if __name__ == "__main__":
    main()
