"""Reading rows of image arrays and writing files whole: NumPy and the standard library only.

The estimators read their input through :func:`read_rows`, so that a memmap
larger than memory is read chunk by chunk without being mapped into this
process, and every file the package writes goes through
:func:`write_atomic` or :func:`write_outputs`, so that a crash or a full disk
never leaves half a file in place of a good one. A command settles its
output names before its long work (:func:`settle_outputs`) and writes them at
the end with :func:`write_outputs`, which never replaces a file that appeared
meanwhile: it writes beside it under a fresh name.
"""

import errno
import mmap
import os
import tempfile
from pathlib import Path

import numpy as np


def _file_backed(X):
    """Whether ``X`` is a whole C-ordered 2-D memmap whose file holds its values, so rows can be read from it.

    A copy-on-write memmap (mode 'c') is not: its changes live in memory only.
    """
    return (isinstance(X, np.memmap) and isinstance(X.base, mmap.mmap) and X.ndim == 2 and X.flags.c_contiguous
            and bool(getattr(X, "filename", None)) and getattr(X, "mode", "c") != "c")


def _pread_into(descriptor, array, offset):
    """Fill ``array`` from the file at ``offset``, however many reads that takes."""
    buffer, done = memoryview(array).cast("B"), 0
    while done < len(buffer):
        count = os.preadv(descriptor, [buffer[done:]], offset + done)
        if count == 0:
            raise OSError(f"the memmap's file ends before byte {offset + len(buffer)}; was it truncated?")
        done += count


def read_rows(X, rows):
    """``X[rows]`` as an in-memory array; a memmap's rows are read from its file, leaving nothing mapped.

    Reading through the mapping would map every page touched (and, through
    the kernel's fault-around, its neighbours) into this process, so a pass
    over a file larger than memory would show as resident memory; reading
    the file with ``pread`` keeps the pages in the system's cache only.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    rows : slice or ndarray of int
        A slice with step 1, or row indices (read fastest when sorted).

    Returns
    -------
    ndarray of shape (n_rows, n_features)
    """
    if not _file_backed(X):
        return X[rows]
    row_bytes = X.shape[1] * X.itemsize
    with open(X.filename, "rb", buffering=0) as handle:
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(len(X))
            out = np.empty((max(0, stop - start), X.shape[1]), dtype=X.dtype)
            _pread_into(handle.fileno(), out, X.offset + start * row_bytes)
            return out
        out = np.empty((len(rows), X.shape[1]), dtype=X.dtype)
        for position, row in enumerate(rows):
            _pread_into(handle.fileno(), out[position], X.offset + int(row) * row_bytes)
        return out


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_temporary(path, content):
    """``content`` in a new temporary file beside ``path``, flushed to disk, with the mode ``path`` will have."""
    mode = "wb" if isinstance(content, bytes) else "w"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode, **({} if mode == "wb" else {"newline": "", "encoding": "utf-8"})) as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp makes the file private; give it the mode of the file it replaces, or the usual one.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary


def write_atomic(path, content, *, force=False):
    """Write ``content`` to ``path`` through a temporary file in the same folder, then move it into place.

    The move is atomic: whatever happens during the write, ``path`` holds
    either its old content or the whole new one.

    Parameters
    ----------
    path : str or path-like
    content : str or bytes
    force : bool, default=False
        Replace an existing file; without it an existing file is an error.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``force`` is False.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists already; pass force=True (--force on the command line) to replace "
                              "it, or choose another path.")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _write_temporary(path, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _create(path, content):
    """Write ``path`` whole, only if it does not exist: FileExistsError when it does, even if it appears meanwhile."""
    temporary = _write_temporary(path, content)
    try:
        try:
            os.link(temporary, path)  # fails if path exists, atomically
        except OSError as error:
            if error.errno == errno.EEXIST:
                raise FileExistsError(errno.EEXIST, "exists already", str(path)) from None
            # A file system without hard links: check, then move (a far narrower window than the long work).
            if path.exists():
                raise FileExistsError(errno.EEXIST, "exists already", str(path)) from None
            os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def fresh_name(path, attempt):
    """``path`` for attempt 0, then ``stem-1.suffix``, ``stem-2.suffix``, ...: the names tried in turn."""
    path = Path(path)
    return path if attempt == 0 else path.with_name(f"{path.stem}-{attempt}{path.suffix}")


def settle_outputs(paths, *, force=False):
    """Check, before a command's long work, that its outputs can be written: names free, folders writable.

    Parameters
    ----------
    paths : list of str or path-like
    force : bool, default=False
        Existing files will be replaced; without it one is an error.

    Raises
    ------
    FileExistsError
        If one of ``paths`` exists and ``force`` is False.
    OSError
        If a folder cannot be created or written to.
    """
    for path in map(Path, paths):
        if path.exists() and not force:
            raise FileExistsError(f"{path} exists already; pass --force to replace it, or choose another name.")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".probe")
        os.close(handle)
        os.unlink(probe)


def write_outputs(names, render, *, force=False):
    """Write files that belong together, each whole, under the names asked for or, if taken, fresh ones.

    Without ``force`` no existing file is replaced: when one of the names
    was taken since :func:`settle_outputs` (another program wrote it during
    the long work), the whole group goes under the next fresh names, so that
    files naming each other stay a pair.

    Parameters
    ----------
    names : callable
        ``names(attempt)`` gives the paths of the group for attempt 0 (the
        names asked for), 1, 2, ... (e.g. built with :func:`fresh_name`).
    render : callable
        ``render(paths)`` gives the content (str or bytes) of each path, for
        files whose content names another of the group.
    force : bool, default=False
        Replace existing files under the names asked for.

    Returns
    -------
    tuple of Path
        The paths written.
    """
    for attempt in range(10_000):
        targets = tuple(map(Path, names(attempt)))
        if force and attempt == 0:
            for target, content in zip(targets, render(targets)):
                write_atomic(target, content, force=True)
            return targets
        if any(target.exists() for target in targets):
            continue
        created = []
        try:
            for target, content in zip(targets, render(targets)):
                target.parent.mkdir(parents=True, exist_ok=True)
                _create(target, content)
                created.append(target)
        except FileExistsError:
            for target in created:  # written a moment ago by this call: the group moves on together
                target.unlink(missing_ok=True)
            continue
        return targets
    raise FileExistsError(f"no free name left beside {targets[0]}")
