"""The files of the labeling loop: the labels CSV a person fills, the page to fill it in, safe writes.

The loop (``skgmvae fit / suggest / predict``, see :mod:`skgmvae.cli`) names
images by their path relative to the image folder. A labels file is a CSV
with the columns ``path`` and ``label`` (others, such as ``order``, are
ignored). Blank labels mark images not labeled yet, so a partly filled file
is valid. Labels are stripped of surrounding spaces; two labels that differ
only in case ("a" and "A") are an error unless case is ignored, which
lower-cases every label.
"""

import base64
import csv
import hashlib
import html
import io
import json
import secrets
from pathlib import Path

import numpy as np

from ._io import write_atomic  # noqa: F401  (re-exported: the labeling loop writes through it)
from ._label_page import PAGE as _PAGE
from ._validation import UNLABELED

LABELS_COLUMNS = ("path", "label")


def suggestions_csv(paths):
    """A labels CSV to fill: ``order``, ``path`` and an empty ``label`` per image, in labeling order.

    Parameters
    ----------
    paths : list of str
        The images to label, first to label first.

    Returns
    -------
    str
        The CSV text, header included.
    """
    return labels_csv(paths, [""] * len(paths), order=True)


def read_labels(csv_path, paths, *, ignore_case=False):
    """The labels of a (partly) filled labels file, aligned with the images' ``paths``.

    Parameters
    ----------
    csv_path : str or Path
    paths : list of str
        The images' paths relative to their folder, in row order.
    ignore_case : bool, default=False
        Lower-case every label, so that "A" and "a" are one class.

    Returns
    -------
    ndarray of object, shape (len(paths),)
        The label of each image, -1 where none is given.

    Raises
    ------
    ValueError
        When the columns are not ``path`` and ``label``, a path is not one of
        the images, an image is labeled twice with different labels, or two
        labels differ only in case without ``ignore_case``.
    """
    return read_label_files([csv_path], paths, ignore_case=ignore_case).labels


def read_label_files(csv_paths, paths, *, ignore_case=False):
    """The labels of one or more labels files, merged and aligned with the images' ``paths``.

    An image may appear in several files with the same label; two different
    labels for one image are an error that names both files.

    Parameters
    ----------
    csv_paths : list of str or Path
    paths : list of str
        The images' paths relative to their folder, in row order.
    ignore_case : bool, default=False
        Lower-case every label, so that "A" and "a" are one class.

    Returns
    -------
    Bunch
        ``labels``: ndarray of object, shape (len(paths),), -1 where no file
        gives a label; ``chosen``: ndarray of bool, shape (len(paths),), True
        where the label was given to an image the model picked (a file written
        by ``skgmvae suggest``, which has an ``order`` column, or a row labeled
        in the cluster view, ``view`` = ``cluster``), the most typical images
        of their clusters.

    Raises
    ------
    ValueError
        As :func:`read_labels`, for any of the files or across them.
    """
    from sklearn.utils import Bunch

    position = {path: index for index, path in enumerate(paths)}
    labels = np.full(len(paths), UNLABELED, dtype=object)
    chosen = np.zeros(len(paths), dtype=bool)
    where = {}
    for csv_path in csv_paths:
        columns, entries = read_table(csv_path)
        unknown = [row["path"] for row, _ in entries if row["path"].strip() not in position]
        if unknown:
            raise ValueError(f"{len(unknown)} path(s) in {csv_path} are not images of the folder, e.g. "
                             f"{unknown[:5]}; paths are relative to the image folder, as `skgmvae suggest` "
                             "writes them.")
        for row, line in entries:
            label = row["label"].strip()
            if not label:
                continue
            label = label.lower() if ignore_case else label
            if label == str(UNLABELED):
                raise ValueError(f"{csv_path} (line {line}) gives the label {label!r}, which marks unlabeled rows "
                                 "in skgmvae; leave the label empty for an image without one.")
            index = position[row["path"].strip()]
            if labels[index] != UNLABELED and labels[index] != label:
                first_file, first_line = where[index]
                if first_file == csv_path:
                    raise ValueError(f"{row['path']} is labeled both {labels[index]!r} and {label!r} in "
                                     f"{csv_path} (lines {first_line} and {line}); keep one.")
                raise ValueError(f"{row['path']} is labeled {labels[index]!r} in {first_file} (line {first_line}) "
                                 f"but {label!r} in {csv_path} (line {line}); correct one of the two files.")
            labels[index] = label
            where.setdefault(index, (csv_path, line))
            chosen[index] |= "order" in columns or row.get("view", "").strip() == "cluster"
    _check_case_variants(labels, ", ".join(map(str, csv_paths)))
    return Bunch(labels=labels, chosen=chosen)


def read_table(csv_path):
    """The columns and rows of a labels file, checked to have ``path`` and ``label``.

    Parameters
    ----------
    csv_path : str or Path

    Returns
    -------
    columns : list of str
    entries : list of (dict, int)
        Each row as {column: text} with its line number in the file.
    """
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in LABELS_COLUMNS if name not in columns]
        if missing:
            raise ValueError(f"{csv_path} has the columns {columns}, but a labels file needs the columns "
                             f"{list(LABELS_COLUMNS)} (others are ignored); missing: {missing}.")
        entries = [({key.strip(): (value or "") for key, value in row.items() if key}, number)
                   for number, row in enumerate(reader, start=2)]
    return columns, entries


def labels_csv(paths, labels, *, order=False, views=None):
    """A labels CSV: ``path`` and ``label`` per image, with ``order`` and ``view`` when given.

    Parameters
    ----------
    paths : list of str
    labels : list of str
        One per path, "" for an image not labeled yet.
    order : bool, default=False
        Number the rows from 1 in an ``order`` column (the column
        ``skgmvae suggest`` writes).
    views : list of str, optional
        One per path: the view the label was given in (``image`` or
        ``cluster``), "" where none.

    Returns
    -------
    str
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((["order"] if order else []) + list(LABELS_COLUMNS) + (["view"] if views is not None else []))
    for index, (path, label) in enumerate(zip(paths, labels)):
        writer.writerow(([index + 1] if order else []) + [path, label] + ([views[index]] if views is not None else []))
    return buffer.getvalue()


def _check_case_variants(labels, csv_path):
    given = sorted({label for label in labels if label != UNLABELED})
    by_folded = {}
    for label in given:
        by_folded.setdefault(label.casefold(), []).append(label)
    clashes = [variants for variants in by_folded.values() if len(variants) > 1]
    if clashes:
        raise ValueError(f"{csv_path} spells some labels in different cases: {clashes}. Correct them, or pass "
                         "--ignore-case to treat them as one (every label is then lower-cased).")


def cluster_order(log_density):
    """The components in the order the cluster view visits them: largest mass first.

    Parameters
    ----------
    log_density : ndarray of shape (n_samples, k)
        ``transformer.component_log_density(X)``; p(c) is uniform, so its
        softmax over components is q(c|x).

    Returns
    -------
    ndarray of int
        The components that are the most probable one of at least one image,
        by their mass (the sum of q(c|x) over the images), largest first.
    """
    from scipy.special import softmax

    log_density = np.asarray(log_density)
    mass = softmax(log_density, axis=1).sum(axis=0)
    present = np.bincount(log_density.argmax(axis=1), minlength=log_density.shape[1]) > 0
    order = np.argsort(-mass, kind="stable")
    return order[present[order]]


def cluster_grid(log_density, component, *, available=None, size=20):
    """The most typical images of one cluster: the grid the cluster view shows.

    Parameters
    ----------
    log_density : ndarray of shape (n_samples, k)
        ``transformer.component_log_density(X)``.
    component : int
    available : ndarray of bool, shape (n_samples,), optional
        Images that may be shown (not labeled yet, not excluded from this
        cluster before); all when None.
    size : int, default=20

    Returns
    -------
    ndarray of int
        Up to ``size`` row indices: the available images whose most probable
        component is ``component``, highest ``log_density[:, component]``
        first.
    """
    log_density = np.asarray(log_density)
    members = np.flatnonzero(log_density.argmax(axis=1) == component)
    if available is not None:
        members = members[np.asarray(available, dtype=bool)[members]]
    return members[np.argsort(-log_density[members, component], kind="stable")][:size]


def next_cluster(log_density, order, position, available, excluded=(), *, size=20):
    """The grid the cluster view shows next: the first cluster from ``position`` on with images to show.

    Parameters
    ----------
    log_density : ndarray of shape (n_samples, k)
        ``transformer.component_log_density(X)``.
    order : ndarray of int
        The components in visiting order (:func:`cluster_order`).
    position : int
        Where in ``order`` to start; the search wraps round to the start.
    available : ndarray of bool, shape (n_samples,)
        Images not labeled yet.
    excluded : collection of (int, int)
        ``(component, row)`` pairs: images the person took out of that
        cluster's grid, not shown for it again.
    size : int, default=20

    Returns
    -------
    tuple of (int, int, ndarray of int) or None
        ``(position, component, rows)`` of the grid (:func:`cluster_grid`),
        or None when no cluster has an image left to show.
    """
    available = np.asarray(available, dtype=bool)
    for step in range(len(order)):
        at = (position + step) % len(order)
        component = int(order[at])
        shown = available.copy()
        shown[[row for excluded_component, row in excluded if excluded_component == component]] = False
        rows = cluster_grid(log_density, component, available=shown, size=size)
        if len(rows):
            return at, component, rows
    return None


def script_json(value):
    """``value`` as JSON that can sit inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\u003c``-style escapes, so that no
    string (a file name holding ``</script>``, say) can close the element or
    open a comment, and U+2028/U+2029 are escaped for older JavaScript
    parsers. Those characters only occur inside JSON strings, where the
    escapes decode back to the same text.
    """
    text = json.dumps(value, ensure_ascii=False)
    for character in "<>&\u2028\u2029":
        text = text.replace(character, f"\\u{ord(character):04x}")
    return text


def _png_data_uri(image, side):
    """A grey image row in [0, 1] (bright strokes) as a PNG data URI, drawn dark on light."""
    from PIL import Image

    pixels = np.clip(255 * (1.0 - np.asarray(image, dtype=np.float64).reshape(side, side)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def saved_labels_name(csv_name):
    """The name the offline page's Save gives the labels: never the blank file ``suggest --force`` rewrites."""
    return f"{Path(csv_name).stem}-labels.csv"


def labeling_page(paths, images, side, *, csv_name="labels.csv", title="Label these images"):
    """A self-contained HTML page that shows each image large with a text box and saves the filled CSV.

    Enter moves to the next image, Shift+Enter to the previous. Every label
    is kept in the browser's ``localStorage`` (under the CSV name and a hash
    of the image list) as soon as the person moves on, and restored when the
    page is opened again; "Open labels" reads a labels CSV to go on from it.
    "Save" downloads the labels (columns order, path, label) as
    ``<csv stem>-labels.csv``, the file ``skgmvae predict --labels`` reads.
    Images are embedded, so the page works offline and can be moved. Paths
    are data: they reach the page as escaped JSON and are shown as text.

    Parameters
    ----------
    paths : list of str
        Paths of the images, in labeling order.
    images : ndarray of shape (len(paths), side * side)
        The images as the model reads them (values in [0, 1]).
    side : int
    csv_name : str, default='labels.csv'
    title : str

    Returns
    -------
    str
    """
    digest = hashlib.sha256("\n".join(paths).encode("utf-8")).hexdigest()[:16]
    config = {
        "mode": "offline",
        "saveName": saved_labels_name(csv_name),
        "storageKey": f"skgmvae-labels:{csv_name}:{digest}",
        "items": [{"path": path, "src": _png_data_uri(image, side)} for path, image in zip(paths, images)],
    }
    return page_html(config, title=title)


def page_html(config, *, title):
    """The labeling page around ``config`` (offline: the images inline; served: how to reach the server).

    A fresh nonce allows the page's own script and nothing else, so markup
    that slipped into the page could not run code.
    """
    nonce = secrets.token_urlsafe(16)
    policy = ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; connect-src 'self'; "
              f"script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'")
    return (_PAGE.replace("__POLICY__", html.escape(policy))
            .replace("__NONCE__", nonce)
            .replace("__TITLE__", html.escape(title))
            .replace("__CONFIG__", script_json(config)))
