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
import html
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ._validation import UNLABELED

LABELS_COLUMNS = ("path", "label")


def write_atomic(path, text, *, force=False):
    """Write ``text`` to ``path`` through a temporary file in the same folder, then move it into place.

    Parameters
    ----------
    path : str or Path
    text : str or bytes
    force : bool, default=False
        Replace an existing file; without it an existing file is an error.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``force`` is False.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists already; pass --force to replace it, or choose another --out.")
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(text, bytes) else "w"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode, **({} if mode == "wb" else {"newline": "", "encoding": "utf-8"})) as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["order", *LABELS_COLUMNS])
    for order, path in enumerate(paths, start=1):
        writer.writerow([order, path, ""])
    return buffer.getvalue()


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
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in LABELS_COLUMNS if name not in columns]
        if missing:
            raise ValueError(f"{csv_path} has the columns {columns}, but a labels file needs the columns "
                             f"{list(LABELS_COLUMNS)} (others are ignored); missing: {missing}.")
        entries = [({key.strip(): (value or "") for key, value in row.items() if key}, number)
                   for number, row in enumerate(reader, start=2)]
    position = {path: index for index, path in enumerate(paths)}
    unknown = [row["path"] for row, _ in entries if row["path"].strip() not in position]
    if unknown:
        raise ValueError(f"{len(unknown)} path(s) in {csv_path} are not images of the folder, e.g. {unknown[:5]}; "
                         "paths are relative to the image folder, as `skgmvae suggest` writes them.")
    labels = np.full(len(paths), UNLABELED, dtype=object)
    for row, line in entries:
        label = row["label"].strip()
        if not label:
            continue
        label = label.lower() if ignore_case else label
        index = position[row["path"].strip()]
        if labels[index] != UNLABELED and labels[index] != label:
            raise ValueError(f"{row['path']} is labeled both {labels[index]!r} and {label!r} in {csv_path} "
                             f"(line {line}); keep one.")
        labels[index] = label
    _check_case_variants(labels, csv_path)
    return labels


def _check_case_variants(labels, csv_path):
    given = sorted({label for label in labels if label != UNLABELED})
    by_folded = {}
    for label in given:
        by_folded.setdefault(label.casefold(), []).append(label)
    clashes = [variants for variants in by_folded.values() if len(variants) > 1]
    if clashes:
        raise ValueError(f"{csv_path} spells some labels in different cases: {clashes}. Correct them, or pass "
                         "--ignore-case to treat them as one (every label is then lower-cased).")


def _png_data_uri(image, side):
    """A grey image row in [0, 1] (bright strokes) as a PNG data URI, drawn dark on light."""
    from PIL import Image

    pixels = np.clip(255 * (1.0 - np.asarray(image, dtype=np.float64).reshape(side, side)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def labeling_page(paths, images, side, *, csv_name="labels.csv", title="Label these images"):
    """A self-contained HTML page that shows each image large with a text box and saves the filled CSV.

    Enter moves to the next image, Shift+Enter to the previous; the "Save"
    button downloads the labels as ``csv_name`` (columns order, path, label),
    the file ``skgmvae predict --labels`` reads. Images are embedded, so the
    page works offline and can be moved.

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
    items = [{"path": path, "src": _png_data_uri(image, side)} for path, image in zip(paths, images)]
    return (_PAGE.replace("__TITLE__", html.escape(title))
            .replace("__CSV_NAME__", json.dumps(csv_name))
            .replace("__ITEMS__", json.dumps(items)))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 46em; color: #222; }
#frame { display: flex; gap: 2em; align-items: center; }
#image { width: 280px; height: 280px; image-rendering: pixelated; border: 1px solid #bbb; }
#label { font-size: 2em; width: 6em; }
.muted { color: #666; } button { font-size: 1em; margin-right: .5em; }
</style></head>
<body>
<h1>__TITLE__</h1>
<p class="muted">Type the label and press Enter for the next image (Shift+Enter goes back). Leave a box empty to
skip an image. Save downloads the labels as a CSV for <code>skgmvae predict --labels</code>.</p>
<div id="frame"><img id="image" alt="image to label"><div>
<p id="position" class="muted"></p><p id="path" class="muted"></p>
<input id="label" autocomplete="off" autofocus>
<p><button id="previous">Previous</button><button id="next">Next</button><button id="save">Save</button></p>
<p id="status" class="muted"></p></div></div>
<script>
const items = __ITEMS__;
const csvName = __CSV_NAME__;
const labels = items.map(() => "");
let current = 0;
const box = document.getElementById("label");
function show(index) {
  labels[current] = box.value.trim();
  current = Math.max(0, Math.min(items.length - 1, index));
  document.getElementById("image").src = items[current].src;
  document.getElementById("path").textContent = items[current].path;
  document.getElementById("position").textContent = `image ${current + 1} of ${items.length}, ` +
    `${labels.filter((label) => label).length} labeled`;
  box.value = labels[current];
  box.focus();
}
function quote(text) { return /[",\\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text; }
function save() {
  labels[current] = box.value.trim();
  const lines = ["order,path,label"].concat(items.map((item, i) => `${i + 1},${quote(item.path)},${quote(labels[i])}`));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([lines.join("\\n") + "\\n"], {type: "text/csv"}));
  link.download = csvName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  const count = labels.filter((label) => label).length;
  document.getElementById("status").textContent = `saved ${count} labels to ${csvName}`;
}
box.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); show(current + (event.shiftKey ? -1 : 1)); }
});
document.getElementById("previous").onclick = () => show(current - 1);
document.getElementById("next").onclick = () => show(current + 1);
document.getElementById("save").onclick = save;
show(0);
</script></body></html>
"""
