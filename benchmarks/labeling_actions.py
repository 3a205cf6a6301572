"""Actions a person spends labeling: a cluster at a time (a grid) against one image at a time.

A simulated person labels with the true classes. One image at a time, they label the images
``skgmvae suggest`` lists, in its order: one action (type the label, Enter) per image. A cluster at a
time, they are shown the grids ``skgmvae label --model`` shows (the same functions:
:func:`skgmvae.labeling.cluster_order` and :func:`skgmvae.labeling.next_cluster`), click away every
image whose class is not the grid's most common one (one action each), and type that class (one
action); the kept images become labels, all right. After every 100 actions the soft decoder
(:class:`skgmvae.ClusterLabelDecoder`) is fitted on the labels so far and scored on the images not
labeled. Printed and written to ``benchmarks/results/<dataset>/labeling-actions.md`` (and ``.csv``).

Commands::

    python -m benchmarks labeling_actions --dataset digits
    python -m benchmarks labeling_actions --dataset fashion-mnist --data-dir /usr/share/datasets/fashion-mnist
"""

from pathlib import Path

import numpy as np

from benchmarks._protocol import (
    RESULTS,
    command_line,
    load_or_fit_gmvae,
    model_arguments,
    model_params,
    parser,
    provenance,
    write_csv,
)
from skgmvae import ClusterLabelDecoder, suggest_labels
from skgmvae.datasets import load_dataset
from skgmvae.labeling import cluster_order, next_cluster

NAME = "labeling_actions"


def soft_accuracy(Q, y_true, labeled):
    """Soft decoding's accuracy on the images not labeled, and on all images with the given labels kept."""
    if not labeled.any() or labeled.all():
        return float("nan"), float(labeled.mean())
    y = np.where(labeled, y_true, -1)
    right = ClusterLabelDecoder(mode="soft").fit(Q, y).predict(Q[~labeled]) == y_true[~labeled]
    return float(right.mean()), float((labeled.sum() + right.sum()) / len(y_true))


def one_at_a_time(gmvae, X, y_true, max_actions, strategy="coverage"):
    """Labels after each action when every suggested image takes one action."""
    order = suggest_labels(gmvae, X, min(max_actions, len(X)), strategy=strategy)
    return [[int(row)] for row in order]


def cluster_at_a_time(log_density, y_true, max_actions, grid_size):
    """Per action, the rows labeled by it (empty for a click that leaves an image out)."""
    order = cluster_order(log_density)
    available = np.ones(len(y_true), dtype=bool)
    excluded = set()
    position, steps = 0, []
    while len(steps) < max_actions:
        found = next_cluster(log_density, order, position, available, excluded, size=grid_size)
        if found is None:
            break
        position, component, rows = found
        classes, counts = np.unique(y_true[rows], return_counts=True)
        label = classes[np.argmax(counts)]
        keep = rows[y_true[rows] == label]
        for row in rows[y_true[rows] != label]:
            steps.append([])  # one click per image that does not belong
            excluded.add((component, int(row)))
        steps.append(keep.tolist())  # type the label, Enter
        available[keep] = False
        position += 1
    return steps[:max_actions]


def curve(steps, Q, y_true, every):
    """Labels and accuracy after every ``every`` actions."""
    labeled = np.zeros(len(y_true), dtype=bool)
    points = []
    for action, rows in enumerate(steps, start=1):
        labeled[rows] = True
        if action % every == 0 or action == len(steps):
            rest, everything = soft_accuracy(Q, y_true, labeled)
            points.append({"actions": action, "labels": int(labeled.sum()), "accuracy": rest, "all": everything})
    return points


def smallest(out):
    """The smallest configuration: a small digits model, 40 actions."""
    return ["--dataset", "digits", "--k", "6", "--max-epochs", "1", "--pretrain-epochs", "1", "--max-actions", "40",
            "--every", "20", "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=["digits", "fashion-mnist"], default="digits")
    arguments.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST files")
    model_arguments(arguments)
    arguments.add_argument("--max-actions", type=int, default=500)
    arguments.add_argument("--strategy", default="coverage",
                           help="suggest_labels' strategy for one image at a time (the checked-in figures used "
                                "'representative')")
    arguments.add_argument("--every", type=int, default=100, help="actions between two accuracy measurements")
    arguments.add_argument("--grid-size", type=int, default=20, help="images per grid, as `skgmvae label`")
    arguments.add_argument("--out", default=None, help="output folder (default benchmarks/results/<dataset>)")
    arguments.add_argument("--refit", action="store_true",
                           help="fit the GMVAE even when the model cache holds it (the default model of "
                                "label_efficiency's training seed 0 is reused otherwise)")
    args = arguments.parse_args(argv)

    data = load_dataset(args.dataset, data_dir=args.data_dir)
    X, y_true = np.asarray(data["X_pool"]), np.asarray(data["y_pool"])
    gmvae, fit_seconds = load_or_fit_gmvae(args.dataset, X, args.k, random_state=0, refit=args.refit,
                                           **model_params(args))
    k = gmvae.spec_.k
    fitted = "taken from the model cache" if fit_seconds is None else f"fitted in {fit_seconds:.0f} s"
    print(f"{args.dataset}: {len(X)} images; GMVAE k={k} {fitted}")
    log_density = gmvae.component_log_density(X)
    Q = gmvae.predict_proba(X)

    results = {
        "one image at a time": curve(one_at_a_time(gmvae, X, y_true, args.max_actions, args.strategy), Q,
                                     y_true, args.every),
        "a cluster at a time": curve(cluster_at_a_time(log_density, y_true, args.max_actions, args.grid_size), Q,
                                     y_true, args.every),
    }
    out = Path(args.out) if args.out else RESULTS / args.dataset
    run = provenance(command_line(NAME, argv), seeds="training seed 0")
    write_csv(out / "labeling-actions.csv",
              [{"view": view, "actions": p["actions"], "labels": p["labels"], "accuracy_rest": round(p["accuracy"], 4),
                "accuracy_all": round(p["all"], 4)} for view, points in results.items() for p in points], run)
    lines = [f"# Labels and accuracy per action on {args.dataset} (K={k}, grids of {args.grid_size})", "",
             f"Command: `{run['command']}`. An action is a label typed (with Enter) or a click that leaves an "
             "image out of a grid. Accuracy (%) of soft decoding on the images not labeled (rest: the harder "
             "the more typical images were labeled) and on all images, the given labels kept (all: what "
             "`skgmvae predict` writes).", "",
             "| actions | one at a time: labels | rest | all | a cluster at a time: labels | rest | all |",
             "|---|---|---|---|---|---|---|"]
    single, grid = results.values()
    for index in range(max(len(single), len(grid))):
        cells = []
        for points in (single, grid):
            point = points[index] if index < len(points) else None
            cells += ["", "", ""] if point is None else [
                str(point["labels"]), f"{100 * point['accuracy']:.1f}", f"{100 * point['all']:.1f}"]
        actions = (single[index] if index < len(single) else grid[index])["actions"]
        lines.append(f"| {actions} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (out / "labeling-actions.md").write_text(text)
    print(text)
    print(f"wrote {out / 'labeling-actions.md'} and {out / 'labeling-actions.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
