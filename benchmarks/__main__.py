"""The benchmark suite: ``python -m benchmarks NAME [options]``; ``python -m benchmarks --help`` lists them.

Each benchmark is a module of this package with a ``main(argv)`` and a ``smallest(out)``, the arguments of its
smallest configuration (what ``tests/test_benchmarks.py`` runs). They share one protocol and one results
schema (``benchmarks/_protocol.py``); the timing benchmarks time this checkout beside another one
(``--baseline``, ``benchmarks/_timing.py``).
"""

import ast
import importlib
import sys
from pathlib import Path

# Name to group, in the order of the listing. A name whose module is absent is left out of it.
SUITE = {
    "label_efficiency": "accuracy",
    "suggest_labels": "accuracy",
    "label_selection": "accuracy",
    "audit_estimate": "accuracy",
    "cluster_anchor": "accuracy",
    "labeling_loop": "accuracy",
    "labeling_actions": "accuracy",
    "variants": "decisions (development split)",
    "latent_pipelines": "decisions (development split)",
    "choose_k": "decisions (development split)",
    "step_time": "timing (this checkout beside --baseline)",
    "inference_time": "timing (this checkout beside --baseline)",
    "route_search_time": "timing (this checkout beside --baseline)",
    "scale": "timing (this checkout beside --baseline)",
    "selection_time": "timing (one checkout)",
    "compare_runs": "reports",
    "summarize": "reports",
    "training_figure": "reports",
    "readme_table": "reports",
}
HERE = Path(__file__).resolve().parent


def available():
    """The benchmarks of :data:`SUITE` whose module is present, in its order."""
    return [name for name in SUITE if (HERE / f"{name}.py").is_file()]


def summary(name):
    """The first line of a benchmark's docstring, read without importing it."""
    doc = ast.get_docstring(ast.parse((HERE / f"{name}.py").read_text()))
    return doc.strip().splitlines()[0] if doc else ""


def listing():
    lines = ["usage: python -m benchmarks NAME [options]   (python -m benchmarks NAME --help: its options)", ""]
    group = None
    for name in available():
        if SUITE[name] != group:
            group = SUITE[name]
            lines += ["" if len(lines) > 2 else None, f"{group}:"]
        lines.append(f"  {name:<18} {summary(name)}")
    lines += ["", "Results: benchmarks/results/, every CSV with the columns of the schema (benchmarks/_protocol.py).",
              "Decision records that are no benchmark: experiments/."]
    return "\n".join(line for line in lines if line is not None)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(listing())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in available():
        print(f"python -m benchmarks: no benchmark named {name!r}.\n\n{listing()}", file=sys.stderr)
        return 2
    return importlib.import_module(f"benchmarks.{name}").main(rest) or 0


if __name__ == "__main__":
    raise SystemExit(main())
