"""The files of the labeling loop: what a label is, the labels CSV a person fills, the page to fill it in.

The loop (``skgmvae fit / suggest / label / predict``, see :mod:`skgmvae.cli`)
names images by their path relative to the image folder. A labels file is a
CSV with the columns ``path`` and ``label`` (others, such as ``order``, are
ignored). Blank labels mark images not labeled yet, so a partly filled file
is valid.

What a label is
---------------
One rule, :func:`clean_label`, used by every command that reads a labels
file, by the server of ``skgmvae label`` before it writes, and mirrored by
the labeling page's script (tested against this one on the same cases):

1. The text is put in Unicode normalisation form NFC, so that an accent typed
   as one character or as a letter and a combining mark is one label.
2. The characters of :data:`TRIMMED` (the Unicode White_Space characters:
   spaces of every width, tabs, line breaks) are trimmed from both ends;
   what is left empty means "no label".
3. A label holding a control character, an invisible format character
   (zero-width space or joiner, direction marks, byte order mark), a lone
   surrogate or a line or paragraph separator is refused, as is one longer
   than :data:`MAX_LABEL_LENGTH` characters, and ``-1`` (the marker of
   unlabeled rows, :mod:`skgmvae._labels`).

Two labels that differ only in case (:func:`label_key`: "Cat", "cat",
"CAT") are one label, written in its first spelling: the server stores
"Cat" as "cat" when "cat" is already in the file, and says so. A file that
holds two such spellings anyway (edited by hand, or written by an older
version) stops every command with the lines named and one way out,
``skgmvae labels --fix FILE`` (:func:`fix_label_files`), which rewrites it with
the first spelling of each label.
"""

import csv
import hashlib
import io
import unicodedata
from pathlib import Path

import numpy as np

from ._io import write_atomic  # noqa: F401  (re-exported: the labeling loop writes through it)
from ._label_clusters import cluster_grid, cluster_order, next_cluster  # noqa: F401  (re-exported: the cluster view)
from ._label_page import page_html, png_data_uri
from ._label_rule import (  # noqa: F401  (re-exported: what a label is)
    MAX_LABEL_LENGTH,
    REFUSED_CATEGORIES,
    TRIMMED,
    LabelSpellings,
    clean_label,
    label_key,
    rule_config,
)
from ._validation import UNLABELED

LABELS_COLUMNS = ("path", "label")
#: What the ``audit`` column may hold, and what it means.
AUDIT_VALUES = {"": False, "0": False, "1": True}
FIX_COMMAND = "skgmvae labels --fix"


def suggestions_csv(paths, audit=None):
    """A labels CSV to fill: ``order``, ``path`` and an empty ``label`` per image, in labeling order.

    Parameters
    ----------
    paths : list of str
        The images to label, first to label first.
    audit : list of bool, optional
        One per path: True for an image of the audit sample (an ``audit``
        column, ``1`` on those rows).

    Returns
    -------
    str
        The CSV text, header included.
    """
    return labels_csv(paths, [""] * len(paths), order=True, audit=audit)


def read_labels(csv_path, paths):
    """The labels of a (partly) filled labels file, aligned with the images' ``paths``.

    Parameters
    ----------
    csv_path : str or Path
    paths : list of str
        The images' paths relative to their folder, in row order.

    Returns
    -------
    ndarray of object, shape (len(paths),)
        The label of each image as :func:`clean_label` reads it, -1 where
        none is given.

    Raises
    ------
    ValueError
        When the columns are not ``path`` and ``label``, a path is not one of
        the images, a label is refused by :func:`clean_label`, an image is
        labeled twice with different labels, or one label is spelled in two
        cases (``skgmvae labels --fix`` rewrites the file with the first).
    """
    return read_label_files([csv_path], paths).labels


def read_label_files(csv_paths, paths):
    """The labels of one or more labels files, merged and aligned with the images' ``paths``.

    An image may appear in several files with the same label; two different
    labels for one image are an error that names both files. A label spelled
    in two cases, in one file or across them, is an error that names both
    lines and :func:`fix_label_files` (``skgmvae labels --fix``).

    Parameters
    ----------
    csv_paths : list of str or Path
    paths : list of str
        The images' paths relative to their folder, in row order.

    Returns
    -------
    Bunch
        ``labels``: ndarray of object, shape (len(paths),), -1 where no file
        gives a label; ``chosen``: ndarray of bool, shape (len(paths),), True
        where the label was given to an image the model picked (a file written
        by ``skgmvae suggest``, which has an ``order`` column, or a row labeled
        in the cluster view, ``view`` = ``cluster``), the most typical images
        of their clusters; ``audit``: ndarray of bool, shape (len(paths),),
        True for the images of an audit sample (``audit`` = ``1``: drawn at
        random, labeled or not), which are never ``chosen``.

    Raises
    ------
    ValueError
        As :func:`read_labels`, for any of the files or across them.
    """
    from sklearn.utils import Bunch

    position = {path: index for index, path in enumerate(paths)}
    labels = np.full(len(paths), UNLABELED, dtype=object)
    chosen = np.zeros(len(paths), dtype=bool)
    audit = np.zeros(len(paths), dtype=bool)
    where, first_spelling, clashes = {}, {}, []
    for csv_path in csv_paths:
        columns, entries = read_table(csv_path)
        unknown = [row["path"] for row, _ in entries if row["path"].strip() not in position]
        if unknown:
            raise ValueError(f"{len(unknown)} path(s) in {csv_path} are not images of the folder, e.g. "
                             f"{unknown[:5]}; paths are relative to the image folder, as `skgmvae suggest` "
                             "writes them.")
        for row, line in entries:
            in_audit = _read_audit(row.get("audit", ""), csv_path, line)
            audit[position[row["path"].strip()]] |= in_audit
            label = _read_label(row["label"], csv_path, line)
            if not label:
                continue
            spelled = first_spelling.setdefault(label_key(label), (label, csv_path, line))
            if spelled[0] != label:
                clashes.append((spelled, (label, csv_path, line)))
                continue
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
    if clashes:
        raise ValueError(_clash_message(clashes, csv_paths))
    return Bunch(labels=labels, chosen=chosen & ~audit, audit=audit)


def fix_label_files(csv_paths, *, write=True):
    """Rewrite labels files so that every command reads them: one spelling per label, no ``-1``.

    Each label spelled in several cases becomes its first spelling (in row
    order, the files in the order given), a ``-1`` becomes blank (it marks
    an unlabeled image anyway), and every label is written as
    :func:`clean_label` reads it. Other columns and the row order are kept;
    a file with nothing to change is left as it is.

    Parameters
    ----------
    csv_paths : list of str or Path
    write : bool, default=True
        Rewrite the files (each whole, :func:`write_atomic`); False only
        lists what would change.

    Returns
    -------
    list of (str, int, str, str)
        ``(file, line, label before, label after)`` of each label changed.

    Raises
    ------
    ValueError
        When a label is refused for another reason (a control character,
        too long): those need a person's choice, and the message names their
        lines; nothing is written then. Also when a file changed while it was
        being fixed.
    """
    first_spelling, plans, changes, problems = {}, [], [], []
    for csv_path in csv_paths:
        before = Path(csv_path).read_bytes()
        columns, entries = read_table(csv_path)
        rows, changed = [], False
        for row, line in entries:
            raw = row["label"]
            try:
                label = clean_label(raw)
            except ValueError as error:
                if unicodedata.normalize("NFC", raw).strip(TRIMMED) != str(UNLABELED):
                    problems.append(f"{csv_path} (line {line}): {error}")
                    continue
                label = ""
            if label:
                label = first_spelling.setdefault(label_key(label), label)
            if label != unicodedata.normalize("NFC", raw).strip(TRIMMED):
                changes.append((str(csv_path), line, raw, label))
                changed = True
            rows.append({**row, "label": label})
        if changed:
            plans.append((csv_path, before, columns, rows))
    if problems:
        raise ValueError(f"{len(problems)} label(s) need correcting by hand (nothing was rewritten): "
                         + " ".join(problems[:5]))
    if write:
        for csv_path, before, columns, rows in plans:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([row.get(name, "") for name in columns] for row in rows)
            if Path(csv_path).read_bytes() != before:
                raise ValueError(f"{csv_path} changed while it was being fixed (is `skgmvae label` running on it?); "
                                 "run the command again.")
            write_atomic(csv_path, buffer.getvalue(), force=True)
    return changes


def _read_audit(raw, csv_path, line):
    """Whether an ``audit`` cell marks its row as one of the audit sample."""
    value = raw.strip().lower()
    if value not in AUDIT_VALUES:
        raise ValueError(f"{csv_path}, line {line}: the audit column holds {raw!r}; it is 1 for an image of the audit "
                         "sample and empty (or 0) otherwise.")
    return AUDIT_VALUES[value]


def _read_label(raw, csv_path, line):
    try:
        return clean_label(raw)
    except ValueError as error:
        hint = (f" `{FIX_COMMAND} {csv_path}` blanks them." if "marks unlabeled" in str(error)
                else " Correct it in the file.")
        raise ValueError(f"{csv_path} (line {line}): {error}{hint}") from None


def _clash_message(clashes, csv_paths):
    (first, first_file, first_line), (other, other_file, other_line) = clashes[0]
    more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
    files = " ".join(map(str, csv_paths))
    return (f"one label is spelled in two cases: {first!r} ({first_file}, line {first_line}) and {other!r} "
            f"({other_file}, line {other_line}){more}. Labels that differ only in case are one label in skgmvae, "
            f"in its first spelling: run `{FIX_COMMAND} {files}` to rewrite the files with the first spelling of "
            "each label, or correct them by hand.")


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


def labels_csv(paths, labels, *, order=False, views=None, audit=None):
    """A labels CSV: ``path`` and ``label`` per image, with ``order``, ``view`` and ``audit`` when given.

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
    audit : list of bool, optional
        One per path: True for an image of the audit sample. The ``audit``
        column is written only when one is True.

    Returns
    -------
    str
    """
    audit = audit if audit is not None and any(audit) else None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((["order"] if order else []) + list(LABELS_COLUMNS) + (["view"] if views is not None else [])
                    + (["audit"] if audit is not None else []))
    for index, (path, label) in enumerate(zip(paths, labels)):
        writer.writerow(([index + 1] if order else []) + [path, label] + ([views[index]] if views is not None else [])
                        + (["1" if audit[index] else ""] if audit is not None else []))
    return buffer.getvalue()


def saved_labels_name(csv_name):
    """The name the offline page's Save gives the labels: never the blank file ``suggest --force`` rewrites."""
    return f"{Path(csv_name).stem}-labels.csv"


def labeling_page(paths, images, side, *, csv_name="labels.csv", title="Label these images", audit=None):
    """A self-contained HTML page that shows each image large with a text box and saves the filled CSV.

    Enter moves to the next image, Shift+Enter to the previous. Every label
    is checked by the label rule (:func:`clean_label`, one spelling per
    label) as the person moves on: a refused one stays in its box, marked not
    saved with the reason, and is not kept. The others are kept in the
    browser's ``localStorage`` (under the CSV name and a hash of the image
    list) and restored when the page is opened again; "Open labels" reads a
    labels CSV to go on from it. "Save" downloads the kept labels (columns
    order, path, label, and audit where there is an audit sample) as ``<csv stem>-labels.csv``, a file that
    ``skgmvae predict --labels`` and ``skgmvae label --labels`` read.
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
    audit : list of bool, optional
        One per path: True for an image of the audit sample, which the page
        marks as a random check and saves with ``audit`` = 1.

    Returns
    -------
    str
    """
    digest = hashlib.sha256("\n".join(paths).encode("utf-8")).hexdigest()[:16]
    config = {
        "mode": "offline",
        "saveName": saved_labels_name(csv_name),
        "storageKey": f"skgmvae-labels:{csv_name}:{digest}",
        "items": [{"path": path, "src": png_data_uri(image, side)} for path, image in zip(paths, images)],
        "auditPaths": [path for path, in_audit in zip(paths, audit or [False] * len(paths)) if in_audit],
    }
    return page_html({**config, "rule": rule_config()}, title=title)
