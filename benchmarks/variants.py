"""Compare GMVAETransformer settings on the development split: soft and hard accuracy, fit time, components.

Each variant is a JSON object of GMVAETransformer parameters; the script fits it once on the data set's
unlabeled pool and prints one Markdown row: soft / hard accuracy at each count of random labels (mean of
``--seeds`` draws), fit time and components in use. Labels are drawn, and accuracy measured, on the
development split of ``benchmarks/_protocol.py`` (``--split report`` only to re-measure a decision on the
report rows, never to make one):

- ``--dataset emnist`` (partial copy): fit on the 19,358-image pool, labels at 73, 291 and 1000 drawn
  from the development half of the 8,879 train-sample images, accuracy on the rest of that half.
- ``--dataset fashion-mnist``: fit on the 60,000 training images, labels at 10, 30, 100, 300 and 1000
  drawn from the 50,000 outside the validation set, accuracy on the 10,000 validation images.

``--csv PATH`` appends one row per variant, mode and count to a CSV (with the split and the schema's
provenance), so that a figure quoted from a run can be checked. ``--reuse-model`` takes a variant's model
from the model cache when it is there (``'{}'``, the package default, is the model ``label_efficiency``
caches), else fits and caches it.

Example::

    python -m benchmarks variants --data-dir ../shared/data \\
        --csv benchmarks/results/emnist-partial/development/variants.csv '{"max_epochs": 30}' '{"augment": false}'
"""

import json
import sys
from pathlib import Path

from benchmarks._protocol import (
    accuracy_over_draws,
    add_split_argument,
    cache_path,
    command_line,
    load_or_fit_gmvae,
    parser,
    protocol_split,
    provenance,
    recorded_fit_seconds,
    write_csv,
)
from skgmvae.datasets import load_dataset

NAME = "variants"

COUNTS = {"emnist": (73, 291, 1000), "fashion-mnist": (10, 30, 100, 300, 1000), "digits": (10, 30, 100)}


def evaluate(Q, y, counts, n_seeds=3, Q_test=None, y_test=None, draw_seed=0):
    """Mean soft and hard accuracy for each count of random labels drawn from the rows of ``Q``.

    Accuracy is measured on ``Q_test`` when given, else on the rows not drawn.
    """
    scores = {}
    for n_labels in counts:
        for mode in ("soft", "hard"):
            scores[(mode, n_labels)] = 100 * accuracy_over_draws(Q, y, n_labels, n_seeds, mode, Q_test, y_test,
                                                                 draw_seed).mean()
    return scores


def smallest(out):
    """The smallest configuration: two small variants on digits, two draws."""
    return ["--dataset", "digits", "--seeds", "2", "--csv", str(Path(out) / "variants.csv"),
            '{"k": 5, "max_epochs": 1, "pretrain_epochs": 1}', '{"k": 5, "max_epochs": 1, "pretrain_epochs": 0}']


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("variants", nargs="+", help="JSON objects of GMVAETransformer parameters")
    arguments.add_argument("--dataset", choices=sorted(COUNTS), default="emnist")
    arguments.add_argument("--data-dir", default=None)
    add_split_argument(arguments, "development")
    arguments.add_argument("--seeds", type=int, default=3, help="random label draws per count (default: 3)")
    arguments.add_argument("--device", default="auto")
    arguments.add_argument("--save-dir", default=None, help="folder to save each fitted model in (variant-<i>.pt)")
    arguments.add_argument("--csv", default=None, help="CSV file to append the scores to")
    arguments.add_argument("--reuse-model", action="store_true",
                           help="take each variant's model (training seed 0) from the model cache when there; "
                                "'{}' is the package default that label_efficiency caches")
    args = arguments.parse_args(argv)
    data = load_dataset(args.dataset, args.data_dir)
    part = protocol_split(data, args.split)
    X, y = data["X_pool"], data["y_pool"]
    counts = COUNTS[args.dataset]
    scored_on = part.held_out or "rest"
    run = provenance(command_line(NAME, argv), protocol_split=args.split,
                     seeds=f"training seed as each variant's random_state (default 0); label draw seeds "
                           f"{part.draw_seed}-{part.draw_seed + args.seeds - 1}")
    for index, text in enumerate(args.variants):
        params = json.loads(text)
        shape = {name: value for name, value in params.items() if name not in ("k", "random_state", "device")}
        seed, device = params.get("random_state", 0), params.get("device", args.device)
        # Without --reuse-model the variant is fitted afresh and the cache (the report's models) left alone.
        gmvae, seconds = load_or_fit_gmvae(args.dataset, X, params.get("k"), random_state=seed, device=device,
                                           refit=not args.reuse_model, cache=args.reuse_model, **shape)
        if seconds is None:  # from the cache: the time recorded when it was fitted, if any
            seconds = recorded_fit_seconds(cache_path(args.dataset, gmvae.k, seed, **shape))
        if args.save_dir:
            Path(args.save_dir).mkdir(parents=True, exist_ok=True)
            gmvae.save(Path(args.save_dir) / f"variant-{index}.pt")
        Q_test = gmvae.transform(part.X_test) if part.X_test is not None else None
        scores = evaluate(gmvae.transform(X[part.candidates]), y[part.candidates], counts, args.seeds,
                          Q_test, part.y_test, part.draw_seed)
        cells = " | ".join(f"{scores[('soft', n)]:.1f} / {scores[('hard', n)]:.1f}" for n in counts)
        trace = ", ".join(f"{entry['components_used']:.0f}/{entry['components_moved']}" for entry in gmvae.history_)
        print(f"components used / moved after each epoch: {trace}", file=sys.stderr, flush=True)
        fit_time = "not recorded" if seconds is None else f"{seconds:.0f} s"
        print(f"| `{json.dumps(params)}` | {cells} | {fit_time} | {gmvae.n_components_used_:.0f} |", flush=True)
        if args.csv:
            write_csv(args.csv, [{"dataset": args.dataset, "protocol_split": args.split, "split": scored_on,
                                  "variant": json.dumps(params, sort_keys=True), "mode": mode, "n_labels": n,
                                  "n_draws": args.seeds, "accuracy": scores[(mode, n)] / 100,
                                  "fit_seconds": None if seconds is None else round(seconds, 1),
                                  "components_used": round(float(gmvae.n_components_used_), 1)}
                                 for n in counts for mode in ("soft", "hard")], run, append=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
