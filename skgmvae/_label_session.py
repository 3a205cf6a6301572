"""The labels file a ``skgmvae label`` server fills: its rows, their labels and the clusters, kept on disk."""

import hashlib
import os
import secrets
import threading
from pathlib import Path

import numpy as np

from .labeling import (
    LabelSpellings,
    clean_label,
    cluster_order,
    labels_csv,
    next_cluster,
    read_label_files,
    read_table,
    write_atomic,
)


class FileChangedError(OSError):
    """The labels file changed on disk since the server last wrote it: writing would lose that change."""


class LabelSession:
    """The rows of a labels file being filled, and the clusters to label from, shared by the request threads.

    Parameters
    ----------
    folder : str or Path
        The image folder; only its images are served.
    paths : list of str
        The images of the folder, relative to it with '/' separators (as
        :func:`~skgmvae.datasets.load_image_folder` lists them).
    csv_path : str or Path
        The labels file. When it exists it is read as every command reads it
        (:func:`~skgmvae.labeling.read_label_files`) and its rows are shown in
        its order; otherwise every image is a row, in ``paths`` order, and
        the file is created with the first label.
    log_density : ndarray of shape (len(paths), k), optional
        ``transformer.component_log_density(X)`` of the images: enables the
        cluster view.
    grid_size : int, default=20
        Images per cluster grid.
    first_images : array-like of int, optional
        Images (rows of ``paths``) in the order ``suggest_labels`` picks
        them: the cluster view visits their clusters first
        (:func:`~skgmvae.labeling.cluster_order`).

    Attributes
    ----------
    token : str
        The key of the address to print; a new one for each session.
    storage_key : str
        Names the labels file in the browser's storage (the same for every
        session on this file), where the page keeps what it could not send.
    """

    def __init__(self, folder, paths, csv_path, *, log_density=None, grid_size=20, first_images=None):
        self.folder = Path(folder).resolve()
        self.paths = list(paths)
        self.index = {path: row for row, path in enumerate(self.paths)}
        self.csv_path = Path(csv_path)
        self.grid_size = grid_size
        self.token = secrets.token_urlsafe(32)
        self.cookie = secrets.token_urlsafe(32)
        self.storage_key = "skgmvae-unsaved:" + hashlib.sha256(
            str(self.csv_path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        self.lock = threading.Lock()
        self.log_density = None if log_density is None else np.asarray(log_density)
        if self.log_density is not None and len(self.log_density) != len(self.paths):
            raise ValueError(f"log_density has {len(self.log_density)} rows for {len(self.paths)} images.")
        self.order = None if self.log_density is None else cluster_order(self.log_density, first_images)
        self.excluded = set()
        if self.csv_path.exists():
            merged = read_label_files([self.csv_path], self.paths)  # the same checks as predict, before anything
            columns, entries = read_table(self.csv_path)
            self.numbered = "order" in columns
            self.audit = {path for path, in_audit in zip(self.paths, merged.audit) if in_audit}
            self.rows, self.views = [], {}
            for row, _ in entries:
                path = row["path"].strip()
                if path not in self.views:
                    self.rows.append(path)
                    self.views[path] = row.get("view", "").strip()
            self.labels = {path: "" if merged.labels[self.index[path]] == -1 else merged.labels[self.index[path]]
                           for path in self.rows}
            self._on_disk = _signature(self.csv_path)
        else:
            self.numbered = False
            self.audit = set()
            self.rows = list(self.paths)
            self.labels = {path: "" for path in self.paths}
            self.views = {path: "" for path in self.paths}
            self._on_disk = None
        self.spellings = LabelSpellings(self.labels.values())

    def state(self):
        """The rows with their labels, for the page."""
        with self.lock:
            return {"items": [{"path": path, "label": self.labels[path]} for path in self.rows],
                    "clusters": self.order is not None, "csv": self.csv_path.name, "storageKey": self.storage_key,
                    "auditPaths": sorted(self.audit)}

    def n_labeled(self):
        return sum(bool(label) for label in self.labels.values())

    def set_labels(self, changes, *, view="image"):
        """Record ``[(path, label), ...]`` item by item and rewrite the labels file before returning.

        Each label goes through :func:`~skgmvae.labeling.clean_label` and
        takes the spelling in use by the other rows
        (:class:`~skgmvae.labeling.LabelSpellings`); an empty label removes
        the image's label.

        Returns
        -------
        dict
            ``results``: one ``{"path", "saved", "label"}`` per change, in
            order: ``saved`` True with the label as written (and a ``note``
            when its spelling was changed to the one in use), or False with
            the ``error``; ``n_labeled``: images labeled in the file after.

        Raises
        ------
        OSError
            When the file could not be written (nothing is recorded then);
            :class:`FileChangedError` when it changed on disk since the
            server last wrote it.
        """
        with self.lock:
            labels, views, rows = dict(self.labels), dict(self.views), list(self.rows)
            spellings = LabelSpellings(labels.values())
            results = []
            for path, label in changes:
                try:
                    path = _check_path(path, self.index)
                    label = clean_label(label)
                except ValueError as error:
                    results.append({"path": path if isinstance(path, str) else None, "saved": False,
                                    "error": str(error)})
                    continue
                spellings.remove(labels.get(path, ""))
                spelled = spellings.spelling(label)
                spellings.add(spelled)
                if path not in labels:
                    rows.append(path)
                labels[path], views[path] = spelled, view if spelled else ""
                result = {"path": path, "saved": True, "label": spelled}
                if spelled != label:
                    result["note"] = (f"saved as {spelled!r}, the spelling already in use (labels that differ only "
                                      "in case are one label)")
                results.append(result)
            if any(result["saved"] for result in results):
                self._write(rows, labels, views)
                self.rows, self.labels, self.views, self.spellings = rows, labels, views, spellings
            return {"results": results, "n_labeled": self.n_labeled()}

    def _write(self, rows, labels, views):
        if _signature(self.csv_path) != self._on_disk:
            raise FileChangedError(f"{self.csv_path} changed on disk since this server last wrote it (another "
                                   "program or a second `skgmvae label` on it?); writing would lose that change. "
                                   "Stop this server and start `skgmvae label` again to go on from the file.")
        text = labels_csv(rows, [labels[path] for path in rows], order=self.numbered,
                          views=[views[path] for path in rows], audit=[path in self.audit for path in rows])
        write_atomic(self.csv_path, text, force=True)
        self._on_disk = _signature(self.csv_path)

    def label_cluster(self, component, label, included, excluded):
        """Give ``label`` to the images ``included`` from a grid; ``excluded`` ones leave this cluster's grids.

        Returns
        -------
        dict
            ``label``: the label as written (the spelling in use),
            ``n_labeled``: images labeled in the file after.
        """
        if self.order is None:
            raise ValueError("the cluster view needs the model: start `skgmvae label` with --model.")
        if not isinstance(component, int) or component not in set(self.order.tolist()):
            raise ValueError(f"component must be one of the clusters shown, got {component!r}.")
        if not clean_label(label):
            raise ValueError("a cluster needs a non-empty label.")
        included = [_check_path(path, self.index) for path in check_list(included, "included")]
        excluded = [_check_path(path, self.index) for path in check_list(excluded, "excluded")]
        with self.lock:
            self.excluded.update((component, self.index[path]) for path in excluded)
        answer = self.set_labels([(path, label) for path in included], view="cluster")
        saved = [result["label"] for result in answer["results"]]
        return {"label": saved[0] if saved else clean_label(label), "n_labeled": answer["n_labeled"]}

    def cluster(self, position):
        """The grid of the first cluster at ``position`` or after (wrapping round) with images left to show."""
        if self.order is None:
            raise ValueError("the cluster view needs the model: start `skgmvae label` with --model.")
        with self.lock:
            available = np.array([not self.labels.get(path) for path in self.paths])
            found = next_cluster(self.log_density, self.order, position, available, self.excluded,
                                 size=self.grid_size)
            if found is None:
                return {"position": position, "component": None, "count": len(self.order), "available": 0,
                        "members": []}
            at, component, rows = found
            members = self.log_density.argmax(axis=1) == component
            hidden = [row for excluded_component, row in self.excluded if excluded_component == component]
            available[hidden] = False
            return {"position": at, "component": component, "count": len(self.order),
                    "available": int(np.sum(available & members)), "members": [self.paths[row] for row in rows]}

    def image_file(self, relative):
        """The file of the image ``relative``; None unless it is an image of the folder and lies inside it."""
        if relative not in self.index:
            return None
        path = (self.folder / relative).resolve()
        return path if path.is_relative_to(self.folder) and path.is_file() else None


def _signature(path):
    """What tells whether a file changed: None when absent."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def _check_path(path, index):
    if not isinstance(path, str) or path not in index:
        raise ValueError(f"{path!r} is not an image of the folder.")
    return path


def check_list(values, name):
    """``values`` when it is a JSON list, else a ValueError naming the field ``name``."""
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list.")
    return values
