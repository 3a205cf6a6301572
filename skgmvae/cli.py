"""The labeling loop on the command line: from a folder of unlabeled images to a classifier.

::

    skgmvae fit IMAGES --out model.pt
    skgmvae suggest model.pt IMAGES -n 100 --out to_label.csv      # also writes to_label.html
    skgmvae label IMAGES --labels to_label.csv --model model.pt     # label in the browser, saved as you go
    skgmvae predict model.pt IMAGES --labels to_label.csv --out predictions.csv

``fit`` trains a GMVAE on the images without labels; ``suggest`` lists the
images to label first (:func:`skgmvae.suggest_labels`), leaving out those
labeled in earlier rounds, in a CSV and an offline page to fill it in;
``label`` serves a page on 127.0.0.1 that writes each label to the CSV at
once, one image or a cluster at a time; ``predict`` names the clusters with
the labels given and writes a label for every image; ``labels`` checks
labels files and, with ``--fix``, rewrites them so that every command reads
them (one spelling per label, :mod:`skgmvae.labeling`).

Every command that writes settles its output names before its long work and
writes each file whole at the end; a file that appeared meanwhile is never
replaced (without ``--force``): the output goes beside it under a fresh name,
which the command prints.
"""

import argparse
import csv
import html
import io
import shutil
import sys
import tempfile
import threading
import time
import warnings
import webbrowser
from pathlib import Path

import numpy as np

from . import ClusterLabelDecoder, GMVAETransformer, audit_accuracy, draw_audit_rows, suggest_labels
from ._cli_args import COMMAND_HELP, COMMANDS, EXAMPLES, add_commands  # noqa: F401  (COMMAND_HELP, COMMANDS re-exported)
from ._io import fresh_name, settle_outputs, write_outputs
from ._persistence import read_metadata
from ._validation import labeled_mask
from .datasets import list_image_files, load_image_folder
from .labeling import (
    FIX_COMMAND,
    fix_label_files,
    labeling_page,
    read_label_files,
    saved_labels_name,
    suggestions_csv,
)

INTERRUPTED = 130


def build_parser():
    parser = argparse.ArgumentParser(prog="skgmvae", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_commands(parser)
    return parser


def _read_folder(folder, metadata):
    """The images of ``folder``, read as the model's metadata says (size, inversion, unreadable files)."""
    invert = {"yes": True, "no": False}.get(metadata.get("invert", "auto"), "auto")
    data = load_image_folder(folder, side=int(metadata.get("side", 28)), invert=invert,
                             on_error=metadata.get("on_error", "raise"))
    for path, reason in data.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return data


def contact_sheet(gmvae, side, n_components=40, n_samples=8):
    """PNG of ``n_samples`` generated images for each of the ``n_components`` most used components."""
    from matplotlib.figure import Figure

    from .plotting import plot_image_grid

    order = np.argsort(-gmvae.component_usage_)[:n_components]
    images = np.vstack([gmvae.sample(n_samples, component=int(c), random_state=0)[0] for c in order])
    fig = Figure(figsize=(n_samples * 0.5 + 1, len(order) * 0.5 + 0.6), layout="tight")
    plot_image_grid(images, (side, side), ax=fig.subplots(), n_columns=n_samples,
                    title=f"{len(order)} most used of {gmvae.spec_.k} clusters, {n_samples} samples each")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _sheet_of(model):
    return model.with_name(model.stem + "-clusters.png")


def _say_if_moved(asked, written):
    for wanted, target in zip(asked, written):
        if wanted != target:
            print(f"note: {wanted} appeared while this command ran; it is untouched, and this output was written "
                  f"as {target} instead", file=sys.stderr)


def run_fit(args):
    out = Path(args.out)
    sheet = _sheet_of(out)
    settle_outputs([out, sheet], force=args.force)
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
    gmvae = GMVAETransformer(**params)
    try:
        gmvae.fit(data.X)
    except KeyboardInterrupt:
        if not getattr(gmvae, "interrupted_", False):
            raise
    if gmvae.interrupted_ and not args.keep_partial:
        print(f"skgmvae fit: interrupted after {time.perf_counter() - start:.0f} s; nothing written ({out} is "
              "untouched). Run it again, or pass --keep-partial to save the model of the last completed epoch "
              "when interrupted.", file=sys.stderr)
        return INTERRUPTED
    if gmvae.interrupted_:
        print(f"interrupted: saving the model of the last completed epoch ({gmvae.n_epochs_} epochs), as "
              "--keep-partial asks", file=sys.stderr)
    metadata["invert"] = "yes" if data.inverted else "no"
    with io.BytesIO() as buffer:
        gmvae.save(buffer, metadata={**metadata, "images": str(args.images), "n_images": n_images})
        model = buffer.getvalue()
    samples = contact_sheet(gmvae, args.side)
    written = write_outputs(lambda attempt: (fresh_name(out, attempt), _sheet_of(fresh_name(out, attempt))),
                            lambda targets: (model, samples), force=args.force)
    _say_if_moved((out, sheet), written)
    print(f"fitted in {time.perf_counter() - start:.0f} s: {gmvae.n_components_used_:.0f} of {k} clusters in "
          f"effective use")
    print(f"wrote {written[0]} (the model) and {written[1]} (samples of the clusters)")


def _check_not_an_input(out, label_files):
    for labels in label_files:
        if Path(labels).resolve() == out.resolve():
            raise ValueError(f"--out {out} is also a --labels file: choose another --out, so that no label is lost.")


def run_suggest(args):
    out = Path(args.out)
    page = out.with_suffix(".html")
    _check_not_an_input(out, args.labels)
    settle_outputs([out, page], force=args.force)
    gmvae = GMVAETransformer.load(args.model)
    metadata = read_metadata(args.model)
    data = _read_folder(args.images, metadata)
    y = None
    if args.labels:
        y = read_label_files(args.labels, data.paths).labels
        labeled = labeled_mask(y)
        print(f"{int(labeled.sum())} images are labeled in {', '.join(args.labels)}; suggesting among the "
              f"{int((~labeled).sum())} others")
        if labeled.all():
            raise ValueError("every image is labeled already: nothing left to suggest.")
    n_unlabeled = len(data.paths) if y is None else int((~labeled).sum())
    n = min(args.n, n_unlabeled)
    n_audit = default_audit_size(n) if args.audit is None else args.audit
    if not 0 <= n_audit <= n:
        raise ValueError(f"--audit must be between 0 and the number of images suggested, {n}; got {n_audit}.")
    chosen = suggest_labels(gmvae, data.X, n - n_audit, y=y, strategy=args.strategy) if n > n_audit else []
    in_hand = np.full(len(data.paths), -1) if y is None else y
    rows, audit = interleave_audit(chosen, draw_audit_rows(in_hand, n_audit, exclude=chosen, random_state=args.seed))
    paths = [data.paths[index] for index in rows]
    side = int(metadata.get("side", 28))
    images = np.asarray(data.X[rows], dtype=np.float64)
    # The page names its CSV (the name Save gives the labels): both are rendered for the names they get.
    out, page = write_outputs(
        lambda attempt: (fresh_name(out, attempt), fresh_name(out, attempt).with_suffix(".html")),
        lambda targets: (suggestions_csv(paths, audit),
                         labeling_page(paths, images, side, csv_name=targets[0].name, audit=audit)),
        force=args.force)
    _say_if_moved((Path(args.out), Path(args.out).with_suffix(".html")), (out, page))
    print(f"wrote {out} ({len(paths)} images to label, most useful first) and {page}")
    if n_audit:
        print(f"{n_audit} of them are drawn at random, marked 1 in the audit column: predict measures the accuracy "
              "on them, so label them too, even the hard ones")
    print(f"to label them: skgmvae label {args.images} --labels {out} --model {args.model}  (saved as you go), or "
          f"open {page} in a browser (kept in the browser; Save downloads {saved_labels_name(out.name)})")


def default_audit_size(n):
    """The audit sample of a round of ``n`` suggestions: one in ten, none below 20.

    One audit image gives an interval of [0, 100%] whatever its label, and at
    one label per class it costs a class its label (6 points of the route's
    accuracy on the development rows of digits); two cost about a point at
    two labels per class (``benchmarks/audit_estimate.py``).
    """
    return 0 if n < 20 else round(n / 10)


def interleave_audit(chosen, audit_rows):
    """The rows in labeling order, the audit rows spread evenly among the chosen ones, and which are audit."""
    rows = list(chosen)
    for position, row in enumerate(audit_rows):
        rows.insert(int((position + 0.5) * (len(chosen) + len(audit_rows)) / len(audit_rows)), row)
    audit_set = set(np.asarray(audit_rows).tolist())
    return np.asarray(rows, dtype=int), [row in audit_set for row in rows]


def _redirect_file(folder, url):
    """A page that sends the browser to ``url``: opened instead of the address, whose key would show in ``ps``."""
    target = Path(folder) / "open-label-page.html"
    quoted = html.escape(url)
    target.write_text(f'<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={quoted}">'
                      f'<title>skgmvae label</title><p><a href="{quoted}">Open the labeling page</a></p>\n',
                      encoding="utf-8")
    target.chmod(0o600)
    return target


def _serve_label_session(session, port):
    from ._label_server import default_port, make_server

    if port is not None:
        return make_server(session, port)
    try:
        return make_server(session, default_port(session.csv_path))
    except OSError:  # taken (another server, or another program): any free port
        return make_server(session, 0)


def _coverage_order(gmvae, X, paths, labels_path, log_density):
    """Images in the order ``suggest_labels`` would pick them, one per cluster, given the labels on file."""
    y = read_label_files([labels_path], paths).labels if Path(labels_path).exists() else None
    n_unlabeled = len(paths) if y is None else int((~labeled_mask(y)).sum())
    n_clusters = len(np.unique(np.asarray(log_density).argmax(axis=1)))
    if min(n_clusters, n_unlabeled) == 0:
        return None
    return suggest_labels(gmvae, X, min(n_clusters, n_unlabeled), y=y)


def run_label(args):
    from ._label_server import session_url
    from ._label_session import LabelSession

    log_density = first_images = None
    if args.model is not None:
        gmvae = GMVAETransformer.load(args.model)
        data = _read_folder(args.images, read_metadata(args.model))
        paths = data.paths
        log_density = gmvae.component_log_density(data.X)
        first_images = _coverage_order(gmvae, data.X, paths, args.labels, log_density)
    else:
        folder = Path(args.images)
        paths = [path.relative_to(folder).as_posix() for path in list_image_files(folder)]
    session = LabelSession(args.images, paths, args.labels, log_density=log_density, grid_size=args.grid_size,
                           first_images=first_images)
    server = _serve_label_session(session, args.port)
    url = session_url(server)
    existed = Path(args.labels).exists()
    print(f"labeling {len(session.rows)} images of {args.images} "
          f"({'the rows of ' + args.labels if existed else 'all of them; ' + args.labels + ' is new'}, "
          f"{session.n_labeled()} labeled so far){'' if log_density is None else ', a cluster at a time too'}")
    print(f"open {url}  (each label is written to {args.labels} at once; Ctrl-C stops)", flush=True)
    print("the address holds this server's key: keep it to yourself. A tab still open from an earlier `skgmvae "
          "label` on this file: open this address in it; the labels it had not saved are sent then.", flush=True)
    folder = tempfile.mkdtemp(prefix="skgmvae-label-")
    try:
        if not args.no_browser:
            redirect = _redirect_file(folder, url)
            threading.Timer(0.5, webbrowser.open, args=(redirect.as_uri(),)).start()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"stopped: {session.n_labeled()} images labeled in {args.labels}")


def _search_routes(gmvae, X, y):
    """The route from the GMVAE to labels chosen by cross-validation, and what to print about the choice."""
    from sklearn.frozen import FrozenEstimator

    from ._selection import RouteSearchCV

    n_labeled = int(labeled_mask(y).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the fallback's warning: fallback_reason_ holds it, printed below
        search = RouteSearchCV(FrozenEstimator(gmvae), cv=5, random_state=0).fit(X, y)  # the loaded model, as it is
    if search.fallback_reason_ is not None:
        return search, ["route: taken without a cross-validated choice or accuracy estimate: "
                        f"{search.fallback_reason_}"]
    others = ", ".join(f"{name} {100 * scores.mean():.1f} ± {100 * scores.std():.1f}"
                       for name, scores in search.route_scores_.items())
    n_folds = len(next(iter(search.route_scores_.values())))
    lines = [f"route: {search.best_route_}, chosen by {n_folds}-fold cross-validation on the {n_labeled} labeled "
             f"images (the first route, in the order of preference, whose mean accuracy is within one standard error "
             "of the best)",
             f"estimated accuracy {100 * search.best_score_:.1f}% ± {100 * search.best_score_std_:.1f} (mean ± "
             f"standard deviation over the {n_folds} folds; each fold's labels scored by the route refitted on the "
             f"others; the best of {len(search.route_scores_)} routes, so slightly optimistic); every route: "
             f"{others}"]
    if search.skipped_routes_:
        skipped = search.skipped_routes_.items()
        lines.append("routes not tried: " + "; ".join(f"{name} ({why})" for name, why in skipped))
    return search, lines


def _audit_report(search, X, y, audit):
    """The audit estimate of the chosen route's accuracy on the unlabeled images, as a line to print."""
    features = search.best_estimator_[:-1].transform(X)
    try:
        estimate = audit_accuracy(search.best_estimator_[-1], features, y, audit, confidence_level=0.9)
    except ValueError as error:
        return f"no audit estimate: {error}"
    skipped = (f"; {estimate.n_skipped} audit images are not labeled, and the interval runs from all of them wrong "
               "to all of them right" if estimate.n_skipped else "")
    if not estimate.n_audit:
        return f"no audit estimate: none of the {estimate.n_skipped} audit images is labeled yet"
    return (f"accuracy on the {estimate.n_unlabeled} unlabeled images, estimated on the {estimate.n_audit} labeled "
            f"audit images (drawn at random; each predicted by the route refitted without it; "
            f"{estimate.method}): {100 * estimate.accuracy:.1f}%, 90% interval {100 * estimate.low:.1f}-"
            f"{100 * estimate.high:.1f}%{skipped}")


def run_predict(args):
    out = Path(args.out)
    if args.ignore_case:
        raise ValueError("--ignore-case is gone: labels that differ only in case are one label in every command, "
                         f"in their first spelling. A file that spells one in two cases: `{FIX_COMMAND} "
                         f"{' '.join(args.labels)}` rewrites it with the first spelling.")
    _check_not_an_input(out, args.labels)
    settle_outputs([out], force=args.force)
    gmvae = GMVAETransformer.load(args.model)
    data = _read_folder(args.images, read_metadata(args.model))
    merged = read_label_files(args.labels, data.paths)
    y = merged.labels
    labeled = labeled_mask(y)
    if not labeled.any():
        raise ValueError(f"{', '.join(args.labels)} label no image yet: fill in the label column (e.g. with "
                         "`skgmvae label` or the page `skgmvae suggest` wrote) and run predict again.")
    search, report = _search_routes(gmvae, data.X, y)
    predicted = search.predict(data.X)
    try:
        proba, classes = search.predict_proba(data.X), search.classes_
    except AttributeError:  # a route without probabilities: the scores and the flags come from soft decoding
        posterior = gmvae.predict_proba(data.X)
        decoder = ClusterLabelDecoder(mode="soft").fit(posterior, y)
        proba, classes = decoder.predict_proba(posterior), decoder.classes_
        report.append(f"the route {search.best_route_} gives no probabilities: the scores columns are those of "
                      "soft decoding")
    n_images = len(data.paths)
    top = np.argsort(-proba, axis=1)[:, :3]
    rows = np.arange(n_images)
    certainty = proba[rows, top[:, 0]] - (proba[rows, top[:, 1]] if proba.shape[1] > 1 else 0.0)
    n_flag = args.flag if args.flag is not None else min(100, max(1, n_images // 20))
    unlabeled_rows = np.flatnonzero(~labeled)
    flagged = set(unlabeled_rows[np.argsort(certainty[unlabeled_rows], kind="stable")[:n_flag]].tolist())
    text = predictions_csv(data.paths, y, predicted, proba, classes, flagged)
    (out,) = write_outputs(lambda attempt: (fresh_name(args.out, attempt),), lambda targets: (text,),
                           force=args.force)
    _say_if_moved((Path(args.out),), (out,))
    print(f"{int(labeled.sum())} labeled images, {len(search.classes_)} classes")
    for line in report:
        print(line)
    if search.fallback_reason_ is None and merged.chosen[labeled].any():
        print(f"note: {int(merged.chosen[labeled].sum())} of the labeled images were picked by the model (by "
              "suggest, or in the cluster view): the most typical images of their clusters, easier than the rest, "
              "so this estimate is optimistic"
              + (": the audit estimate below is made on random images." if merged.audit.any() else "."))
    if merged.audit.any():
        print(_audit_report(search, data.X, y, merged.audit))
    print(f"wrote {out}: a label for each of the {n_images} images, the three likeliest with their scores, and "
          f"{len(flagged)} of the least certain flagged in the label_next column")


def predictions_csv(paths, y, predicted, proba, classes, flagged):
    """The CSV ``predict`` writes: each image's label (the given one where there is one), the three likeliest.

    Parameters
    ----------
    paths : list of str
    y : ndarray of object, shape (n_images,)
        The labels given, -1 where none.
    predicted : ndarray of shape (n_images,)
    proba : ndarray of shape (n_images, n_classes)
    classes : ndarray of shape (n_classes,)
    flagged : set of int
        Rows flagged as worth labeling next.

    Returns
    -------
    str
    """
    labeled = labeled_mask(y)
    top = np.argsort(-proba, axis=1)[:, :3]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label", "given", *[f"{kind}_{rank}" for rank in (1, 2, 3) for kind in ("label", "score")],
                     "label_next"])
    for row, path in enumerate(paths):
        ranked = [value for column in top[row] for value in (classes[column], f"{proba[row, column]:.3f}")]
        ranked += [""] * (6 - len(ranked))
        given = y[row] if labeled[row] else ""
        writer.writerow([path, given or predicted[row], given, *ranked, "yes" if row in flagged else ""])
    return buffer.getvalue()


def run_labels(args):
    changes = fix_label_files(args.files, write=args.fix)
    for csv_path, line, before, after in changes:
        print(f"{csv_path} (line {line}): {before!r} -> {after!r}" if after else
              f"{csv_path} (line {line}): {before!r} -> blank ({before.strip()!r} marks an unlabeled image)")
    if not changes:
        print(f"{', '.join(args.files)}: every label reads as it is written; nothing to fix")
    elif args.fix:
        print(f"rewrote {len({change[0] for change in changes})} file(s): {len(changes)} label(s) changed")
    else:
        print(f"{len(changes)} label(s) to change: run `{FIX_COMMAND} {' '.join(args.files)}` to rewrite the files")
        return 1
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    runner = {"fit": run_fit, "suggest": run_suggest, "label": run_label, "predict": run_predict,
              "labels": run_labels}[args.command]
    try:
        return runner(args) or 0
    except (OSError, ValueError) as error:  # files that exist, are missing or unwritable; bad input
        print(f"skgmvae {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"skgmvae {args.command}: interrupted; every file is whole (each is written to a temporary file and "
              "moved into place), but this step may not have written all of its files.", file=sys.stderr)
        return INTERRUPTED
