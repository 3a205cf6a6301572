"""The labeling loop on the command line: from a folder of unlabeled images to a classifier.

::

    skgmvae fit IMAGES --out model.pt
    skgmvae suggest model.pt IMAGES -n 100 --out to_label.csv      # also writes to_label.html
    skgmvae predict model.pt IMAGES --labels to_label.csv --out predictions.csv

``fit`` trains a GMVAE on the images without labels; ``suggest`` lists the
images to label first (:func:`skgmvae.suggest_labels`) in a CSV and a page to
fill it in; ``predict`` names the clusters with the labels given
(soft decoding) and writes a label for every image.
"""

import argparse
import csv
import io
import sys
import time
from pathlib import Path

import numpy as np

from . import ClusterLabelDecoder, GMVAETransformer, suggest_labels
from ._persistence import read_metadata
from ._validation import labeled_mask
from .datasets import load_image_folder
from .labeling import labeling_page, read_labels, suggestions_csv, write_atomic

COMMANDS = ("fit", "suggest", "predict")
EXAMPLES = """examples:
  skgmvae fit scans/ --out model.pt
  skgmvae suggest model.pt scans/ -n 100 --out to_label.csv   (open to_label.html, label, Save)
  skgmvae predict model.pt scans/ --labels labels.csv --out predictions.csv
"""


def build_parser():
    parser = argparse.ArgumentParser(prog="skgmvae", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    fit = commands.add_parser("fit", help="train a GMVAE on a folder of images, without labels",
                              epilog="example:\n  skgmvae fit scans/ --out model.pt --k 100",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    fit.add_argument("images", help="folder of PNG/JPEG images (nested folders allowed)")
    fit.add_argument("--out", required=True, help="model file to write (e.g. model.pt)")
    fit.add_argument("--k", type=int, default=None,
                     help="number of clusters (default: 200, or a fifth of the images when there are fewer than 1000)")
    fit.add_argument("--side", type=int, default=28, help="images are resized to side x side pixels (default 28)")
    fit.add_argument("--invert", choices=["auto", "yes", "no"], default="auto",
                     help="store 1 - grey level, for dark strokes on a light background (default: auto)")
    fit.add_argument("--max-epochs", type=int, default=None, help="GMVAE epochs (default: the estimator's 'auto')")
    fit.add_argument("--device", default="auto", help="torch device: auto, cpu or cuda")
    fit.add_argument("--seed", type=int, default=0, help="random_state of the fit")
    fit.add_argument("--skip-unreadable", action="store_true",
                     help="leave out files that cannot be read (suggest and predict then skip them too)")
    fit.add_argument("--force", action="store_true", help="replace the output files if they exist")

    suggest = commands.add_parser("suggest", help="list the images to label first, with a page to label them",
                                  epilog="example:\n  skgmvae suggest model.pt scans/ -n 100 --out to_label.csv",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    suggest.add_argument("model", help="model file written by `skgmvae fit`")
    suggest.add_argument("images", help="the image folder the model was fitted on (or one read the same way)")
    suggest.add_argument("-n", type=int, default=100, help="how many images to suggest (default 100)")
    suggest.add_argument("--out", required=True, help="CSV to write; the page goes beside it as .html")
    suggest.add_argument("--strategy", choices=["representative", "uncertain"], default="representative")
    suggest.add_argument("--force", action="store_true", help="replace the output files if they exist")

    predict = commands.add_parser("predict", help="label every image from the labels given",
                                  epilog="example:\n  skgmvae predict model.pt scans/ --labels labels.csv "
                                         "--out predictions.csv",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    predict.add_argument("model", help="model file written by `skgmvae fit`")
    predict.add_argument("images", help="the image folder")
    predict.add_argument("--labels", required=True, help="CSV with columns path and label (blank = unlabeled)")
    predict.add_argument("--out", required=True, help="CSV of predictions to write")
    predict.add_argument("--ignore-case", action="store_true", help="treat 'A' and 'a' as one label (lower-cased)")
    predict.add_argument("--flag", type=int, default=None,
                         help="how many of the least certain images to flag as worth labeling next "
                              "(default: 5%% of the images, at most 100)")
    predict.add_argument("--force", action="store_true", help="replace the output file if it exists")
    return parser


def _read_folder(folder, metadata):
    """The images of ``folder``, read as the model's metadata says (size, inversion, unreadable files)."""
    invert = {"yes": True, "no": False}.get(metadata.get("invert", "auto"), "auto")
    data = load_image_folder(folder, side=int(metadata.get("side", 28)), invert=invert,
                             on_error=metadata.get("on_error", "raise"))
    for path, reason in data.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return data


def contact_sheet(gmvae, side, path, n_components=40, n_samples=8):
    """PNG of ``n_samples`` generated images for each of the ``n_components`` most used components."""
    from matplotlib.figure import Figure

    from .plotting import plot_image_grid

    order = np.argsort(-gmvae.component_usage_)[:n_components]
    images = np.vstack([gmvae.sample(n_samples, component=int(c), random_state=0)[0] for c in order])
    fig = Figure(figsize=(n_samples * 0.5 + 1, len(order) * 0.5 + 0.6), layout="tight")
    plot_image_grid(images, (side, side), ax=fig.subplots(), n_columns=n_samples,
                    title=f"{len(order)} most used of {gmvae.k} clusters, {n_samples} samples each")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def run_fit(args):
    out = Path(args.out)
    sheet = out.with_name(out.stem + "-clusters.png")
    for target in (out, sheet):
        if target.exists() and not args.force:
            raise FileExistsError(f"{target} exists already; pass --force to replace it.")
    metadata = {"side": args.side, "invert": args.invert, "on_error": "skip" if args.skip_unreadable else "raise"}
    data = _read_folder(args.images, metadata)
    n_images = len(data.paths)
    k = args.k or (200 if n_images >= 1000 else max(2, n_images // 5))
    params = {"k": k, "random_state": args.seed, "device": args.device, "verbose": True}
    if args.max_epochs is not None:
        params["max_epochs"] = args.max_epochs
    print(f"{n_images} images of {args.side}x{args.side} from {args.images}"
          f"{' (inverted: light background)' if data.inverted else ''}; fitting a GMVAE with k={k}")
    start = time.perf_counter()
    gmvae = GMVAETransformer(**params).fit(data.X)
    metadata["invert"] = "yes" if data.inverted else "no"
    with io.BytesIO() as buffer:
        gmvae.save(buffer, metadata={**metadata, "images": str(args.images), "n_images": n_images})
        write_atomic(out, buffer.getvalue(), force=args.force)
    write_atomic(sheet, contact_sheet(gmvae, args.side, sheet), force=args.force)
    print(f"fitted in {time.perf_counter() - start:.0f} s: {gmvae.n_components_used_:.0f} of {k} clusters in "
          f"effective use")
    print(f"wrote {out} (the model) and {sheet} (samples of the clusters)")


def run_suggest(args):
    out = Path(args.out)
    page = out.with_suffix(".html")
    for target in (out, page):
        if target.exists() and not args.force:
            raise FileExistsError(f"{target} exists already; pass --force to replace it, or choose another --out.")
    gmvae = GMVAETransformer.load(args.model)
    metadata = read_metadata(args.model)
    data = _read_folder(args.images, metadata)
    chosen = suggest_labels(gmvae, data.X, min(args.n, len(data.paths)), strategy=args.strategy)
    paths = [data.paths[index] for index in chosen]
    write_atomic(out, suggestions_csv(paths), force=args.force)
    side = int(metadata.get("side", 28))
    write_atomic(page, labeling_page(paths, np.asarray(data.X[chosen], dtype=np.float64), side, csv_name=out.name),
                 force=args.force)
    print(f"wrote {out} ({len(paths)} images to label, most useful first) and {page} (open it in a browser, "
          f"type the labels, Save)")


def _cross_validated_accuracy(Q, y):
    from sklearn.model_selection import KFold, cross_val_score

    labeled = labeled_mask(y)
    n_labeled = int(labeled.sum())
    if n_labeled < 10:
        return None
    cv = KFold(min(5, n_labeled // 2), shuffle=True, random_state=0)
    return cross_val_score(ClusterLabelDecoder(), Q[labeled], y[labeled].astype(str), cv=cv)


def run_predict(args):
    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists already; pass --force to replace it, or choose another --out.")
    gmvae = GMVAETransformer.load(args.model)
    data = _read_folder(args.images, read_metadata(args.model))
    y = read_labels(args.labels, data.paths, ignore_case=args.ignore_case)
    labeled = labeled_mask(y)
    if not labeled.any():
        raise ValueError(f"{args.labels} labels no image yet: fill in the label column (e.g. with the page "
                         "`skgmvae suggest` wrote) and run predict again.")
    Q = gmvae.transform(data.X)
    decoder = ClusterLabelDecoder(mode="soft").fit(Q, y)
    proba = decoder.predict_proba(Q)
    top = np.argsort(-proba, axis=1)[:, :3]
    certainty = proba[np.arange(len(Q)), top[:, 0]] - (proba[np.arange(len(Q)), top[:, 1]] if proba.shape[1] > 1
                                                       else 0.0)
    n_flag = args.flag if args.flag is not None else min(100, max(1, len(Q) // 20))
    unlabeled_rows = np.flatnonzero(~labeled)
    flagged = set(unlabeled_rows[np.argsort(certainty[unlabeled_rows], kind="stable")[:n_flag]].tolist())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label", "given", *[f"{kind}_{rank}" for rank in (1, 2, 3) for kind in ("label", "score")],
                     "label_next"])
    for row, path in enumerate(data.paths):
        ranked = [value for column in top[row] for value in (decoder.classes_[column], f"{proba[row, column]:.3f}")]
        ranked += [""] * (6 - len(ranked))
        given = y[row] if labeled[row] else ""
        writer.writerow([path, given or ranked[0], given, *ranked, "yes" if row in flagged else ""])
    write_atomic(out, buffer.getvalue(), force=args.force)
    scores = _cross_validated_accuracy(Q, y)
    estimate = ("too few labels for a cross-validated estimate (10 needed)" if scores is None else
                f"estimated accuracy {100 * scores.mean():.1f}% ± {100 * scores.std():.1f} "
                f"({len(scores)}-fold cross-validation on the {int(labeled.sum())} labeled images)")
    print(f"{int(labeled.sum())} labeled images, {len(decoder.classes_)} classes; {estimate}")
    print(f"wrote {out}: a label for each of the {len(Q)} images, the three likeliest with their scores, and "
          f"{len(flagged)} of the least certain flagged in the label_next column")


def main(argv=None):
    args = build_parser().parse_args(argv)
    runner = {"fit": run_fit, "suggest": run_suggest, "predict": run_predict}[args.command]
    try:
        runner(args)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"skgmvae {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0
