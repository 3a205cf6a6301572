"""Loaders for sklearn's digits, EMNIST Letters and Fashion-MNIST, as flat images in [0, 1].

Nothing is downloaded unless ``download=True`` is passed. The folder comes
from the ``data_dir`` argument, else the ``SKGMVAE_DATA`` environment
variable, else a few usual places (``../shared/data``, ``~/skgmvae_data``,
and for Fashion-MNIST the Debian package's ``/usr/share/datasets/fashion-mnist``).
"""

import gzip
import os
import string
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

DATASET_NAMES = ("digits", "emnist", "fashion-mnist")
DATA_ENV_VAR = "SKGMVAE_DATA"
EMNIST_PARTIAL_FILES = ("emnist-letters-train-partial.npz", "emnist-letters-test-partial.npz")
FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def data_dirs(data_dir=None, extra=()):
    """Folders searched for data, in order.

    Parameters
    ----------
    data_dir : str or Path, optional
        When given, the only folder searched.
    extra : sequence of str
        Further default folders.

    Returns
    -------
    list of Path
    """
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    folders = [os.environ[DATA_ENV_VAR]] if os.environ.get(DATA_ENV_VAR) else []
    folders += ["../shared/data", "~/skgmvae_data", *extra]
    return [Path(folder).expanduser() for folder in folders]


def read_idx(path):
    """Read an IDX file (the MNIST format), gzipped or not.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray
        Shape and dtype as the file's header says.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    n_dims = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=n_dims, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * n_dims)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {data.size} values.")
    return data.reshape(shape)


def _find_file(folders, names):
    for folder in folders:
        for name in names:
            for candidate in (folder / name, folder / (name + ".gz")):
                if candidate.is_file():
                    return candidate
    return None


def _flat_unit(images):
    images = np.asarray(images)
    return (images.reshape(len(images), -1) / 255.0).astype(np.float32)


def _missing(what, folders, how):
    looked = ", ".join(str(folder) for folder in folders)
    return FileNotFoundError(f"{what} not found; looked in: {looked}. {how}")


def load_digits_dataset():
    """scikit-learn's 8x8 digits, scaled to [0, 1].

    Returns
    -------
    Bunch
        ``X_train`` (1797, 64) float32, ``y_train`` (1797,), ``X_test`` and
        ``y_test`` None, ``target_names``, ``image_shape`` (8, 8).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return Bunch(X_train=(digits.data / 16.0).astype(np.float32), y_train=digits.target, X_test=None,
                 y_test=None, target_names=[str(d) for d in range(10)], image_shape=(8, 8), source="sklearn")


def load_emnist_letters(data_dir=None, *, download=False):
    """EMNIST Letters, upright, pixels in [0, 1], labels 0..25 for a..z.

    Reads, in this order: the partial offline copy (``emnist-letters-train-partial.npz``
    and ``emnist-letters-test-partial.npz``, in the folder or its
    ``emnist-letters/`` subfolder); a torchvision root holding the EMNIST
    files; or, with ``download=True``, downloads through torchvision.

    Parameters
    ----------
    data_dir : str or Path, optional
        Folder to read from; see the module docstring for the defaults.
    download : bool, default=False
        Download the full data set through torchvision when not found.

    Returns
    -------
    Bunch
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (images as rows of
        784 float32 values), ``target_names`` ('a'..'z'), ``image_shape``
        (28, 28), ``source`` ('partial' or 'torchvision').
    """
    folders = data_dirs(data_dir)
    search = [sub for folder in folders for sub in (folder, folder / "emnist-letters")]
    train_npz = _find_file(search, [EMNIST_PARTIAL_FILES[0]])
    if train_npz is not None:
        test_npz = train_npz.parent / EMNIST_PARTIAL_FILES[1]
        parts = [np.load(train_npz)] + ([np.load(test_npz)] if test_npz.is_file() else [])
        arrays = [(_flat_unit(part["X"]), part["y"].astype(np.int64) - 1) for part in parts]
        X_test, y_test = arrays[1] if len(arrays) > 1 else (None, None)
        return Bunch(X_train=arrays[0][0], y_train=arrays[0][1], X_test=X_test, y_test=y_test,
                     target_names=list(string.ascii_lowercase), image_shape=(28, 28), source="partial")
    return _load_torchvision_emnist(folders, download)


def _torchvision_datasets():
    try:
        from torchvision import datasets
    except ImportError as error:
        raise ImportError("Reading or downloading through torchvision needs it: pip install 'skgmvae[datasets]' "
                          "(or pip install torchvision).") from error
    return datasets


def _load_torchvision_emnist(folders, download):
    EMNIST = _torchvision_datasets().EMNIST

    for folder in folders:
        try:
            splits = [EMNIST(str(folder), split="letters", train=train, download=download) for train in (True, False)]
        except RuntimeError:
            continue
        # torchvision returns EMNIST images transposed; turn them upright.
        arrays = [(_flat_unit(s.data.numpy().transpose(0, 2, 1)), s.targets.numpy().astype(np.int64) - 1)
                  for s in splits]
        return Bunch(X_train=arrays[0][0], y_train=arrays[0][1], X_test=arrays[1][0], y_test=arrays[1][1],
                     target_names=list(string.ascii_lowercase), image_shape=(28, 28), source="torchvision")
    raise _missing("EMNIST Letters", folders,
                   "Pass data_dir (or --data-dir, or set SKGMVAE_DATA) to a folder holding the partial "
                   "npz files or a torchvision EMNIST root, or use download=True with internet access.")


def load_fashion_mnist(data_dir=None, *, download=False):
    """Fashion-MNIST, pixels in [0, 1], labels 0..9.

    Reads the four IDX files (gzipped or not) from the folder, its
    ``fashion-mnist/`` subfolder, or a torchvision root
    (``FashionMNIST/raw/``); the Debian package ``dataset-fashion-mnist``
    puts them in ``/usr/share/datasets/fashion-mnist``. With
    ``download=True`` it downloads them through torchvision when absent.

    Parameters
    ----------
    data_dir : str or Path, optional
    download : bool, default=False

    Returns
    -------
    Bunch
        ``X_train`` (60000, 784), ``y_train``, ``X_test`` (10000, 784),
        ``y_test``, ``target_names``, ``image_shape`` (28, 28), ``source``.
    """
    folders = data_dirs(data_dir, extra=("/usr/share/datasets/fashion-mnist",))
    search = [sub for folder in folders
              for sub in (folder, folder / "fashion-mnist", folder / "FashionMNIST" / "raw")]
    if download and _find_file(search, [FASHION_FILES["train"][0]]) is None:
        FashionMNIST = _torchvision_datasets().FashionMNIST
        FashionMNIST(str(folders[0]), train=True, download=True)
        FashionMNIST(str(folders[0]), train=False, download=True)
    arrays = {}
    for split, (images_name, labels_name) in FASHION_FILES.items():
        images_path, labels_path = _find_file(search, [images_name]), _find_file(search, [labels_name])
        if images_path is None or labels_path is None:
            raise _missing("Fashion-MNIST", folders,
                           "Install it with 'apt-get install dataset-fashion-mnist' (Debian), pass data_dir "
                           "(or --data-dir, or set SKGMVAE_DATA) to a folder with the four IDX files, or use "
                           "download=True with internet access.")
        arrays[split] = (_flat_unit(read_idx(images_path)), read_idx(labels_path).astype(np.int64))
    return Bunch(X_train=arrays["train"][0], y_train=arrays["train"][1], X_test=arrays["test"][0],
                 y_test=arrays["test"][1], target_names=list(FASHION_CLASSES), image_shape=(28, 28),
                 source=str(images_path.parent))


def load_dataset(name, data_dir=None):
    """A data set arranged for the label-efficiency protocol.

    Parameters
    ----------
    name : {'digits', 'emnist', 'fashion-mnist'}
    data_dir : str or Path, optional

    Returns
    -------
    dict
        ``X_pool``, ``y_pool``: the images the GMVAE trains on (without
        labels); ``label_candidates``: indices into the pool that labels are
        drawn from, accuracy being measured on the candidates not drawn;
        ``X_test``, ``y_test``: a held-out test set or None;
        ``image_shape``, ``target_names``.

        - digits: pool = candidates = all 1,797 images.
        - emnist, partial copy: pool = both npz files (19,358 images);
          candidates = the 8,879 balanced train-sample images. Full copy:
          pool = candidates = all 145,600 images, as in the article.
        - fashion-mnist: pool = candidates = the 60,000 training images;
          test = the 10,000 test images.
    """
    if name == "digits":
        bunch = load_digits_dataset()
    elif name == "emnist":
        bunch = load_emnist_letters(data_dir)
    elif name == "fashion-mnist":
        bunch = load_fashion_mnist(data_dir)
    else:
        raise ValueError(f"Unknown dataset {name!r}; expected one of {DATASET_NAMES}.")
    held_out = name == "fashion-mnist"
    if bunch.X_test is None or held_out:
        X_pool, y_pool = bunch.X_train, bunch.y_train
    else:
        X_pool = np.concatenate([bunch.X_train, bunch.X_test])
        y_pool = np.concatenate([bunch.y_train, bunch.y_test])
    n_candidates = len(bunch.X_train) if bunch.get("source") == "partial" else len(X_pool)
    return {"X_pool": X_pool, "y_pool": y_pool, "label_candidates": np.arange(n_candidates),
            "X_test": bunch.X_test if held_out else None, "y_test": bunch.y_test if held_out else None,
            "image_shape": bunch.image_shape, "target_names": bunch.target_names}


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def list_image_files(folder, extensions=IMAGE_EXTENSIONS):
    """Image files below ``folder`` (nested folders included), sorted by their path relative to it.

    Parameters
    ----------
    folder : str or Path
    extensions : tuple of str
        Lower-case suffixes that count as images.

    Returns
    -------
    list of Path
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of images.")
    files = sorted((path for path in folder.rglob("*") if path.is_file() and path.suffix.lower() in extensions),
                   key=lambda path: path.relative_to(folder).as_posix())
    if not files:
        raise ValueError(f"No image files ({', '.join(extensions)}) found below {folder}.")
    return files


def _read_grey(path, side):
    """One image file as a (side * side,) uint8 row: grey levels, resized with antialiasing."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        grey = image.convert("L").resize((side, side), Image.Resampling.BILINEAR, reducing_gap=None)
    return np.asarray(grey, dtype=np.uint8).reshape(-1)


def load_image_folder(folder, *, side=28, invert="auto", on_error="raise", memmap_path=None, chunk_size=4096):
    """Read a folder of image files into rows, one image per row, for :class:`~skgmvae.GMVAETransformer`.

    Pillow decodes each image, turns it to grey levels and resizes it to
    ``side`` x ``side``. The likelihood expects bright strokes on a dark
    background (MNIST); ``invert='auto'`` inverts every image when the median
    image of the folder is mostly bright, as scans and drawings are.

    Parameters
    ----------
    folder : str or Path
        Searched recursively for PNG, JPEG, BMP, GIF, TIFF and WebP files.
    side : int, default=28
        Width and height the images are resized to.
    invert : bool or 'auto', default='auto'
        Store ``1 - value`` instead of ``value``.
    on_error : {'raise', 'skip'}, default='raise'
        What to do with files that cannot be read: one ValueError listing
        all of them, or leave them out and list them in ``skipped``.
    memmap_path : str or Path, optional
        Write the rows as uint8 into a NumPy memmap at this path, chunk by
        chunk, instead of building them in memory (for folders larger than
        memory); ``X`` is then that memmap, which the transformer reads as
        ``value / 255``.
    chunk_size : int, default=4096
        Images read between two writes to the memmap.

    Returns
    -------
    Bunch
        ``X``: ndarray of shape (n_images, side * side), float32 in [0, 1]
        (or the uint8 memmap); ``paths``: list of str, each file's path
        relative to ``folder`` with '/' separators, in row order; ``skipped``:
        (path, reason) of the files left out; ``side``, ``inverted``.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    if not isinstance(invert, bool) and invert != "auto":
        raise ValueError(f"invert must be True, False or 'auto', got {invert!r}.")
    folder = Path(folder)
    files = list_image_files(folder)
    rows, paths, skipped = _read_images(folder, files, side, memmap_path, chunk_size)
    if skipped and on_error == "raise":
        raise _unreadable_error(folder, skipped, len(files))
    if not paths:
        raise ValueError(f"None of the {len(files)} image files below {folder} could be read.")
    if memmap_path is not None:
        X = np.memmap(memmap_path, dtype=np.uint8, mode="r+", shape=(len(paths), side * side))
    else:
        X = np.stack(rows)
    inverted = _should_invert(X) if invert == "auto" else invert
    if memmap_path is None:
        X = X.astype(np.float32) / 255.0
        X = 1.0 - X if inverted else X
    elif inverted:
        for start in range(0, len(X), chunk_size):
            X[start:start + chunk_size] = 255 - X[start:start + chunk_size]
        X.flush()
    return Bunch(X=X, paths=paths, skipped=skipped, side=side, inverted=bool(inverted))


def _unreadable_error(folder, skipped, n_files, shown=20):
    listing = "\n".join(f"  {path}: {reason}" for path, reason in skipped[:shown])
    more = f"\n  ... and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return ValueError(f"{len(skipped)} of {n_files} files below {folder} could not be read as images:\n"
                      f"{listing}{more}\nFix or remove them, or pass on_error='skip' to leave them out.")


def _read_images(folder, files, side, memmap_path, chunk_size):
    """Rows of the readable files (or, with ``memmap_path``, none: they are appended to that file)."""
    rows, paths, skipped = [], [], []
    raw = None if memmap_path is None else open(memmap_path, "wb")  # noqa: SIM115 (closed below)
    try:
        for path in files:
            try:
                rows.append(_read_grey(path, side))
                paths.append(path.relative_to(folder).as_posix())
            except Exception as error:  # Pillow raises several types for broken files
                skipped.append((path.relative_to(folder).as_posix(), f"{type(error).__name__}: {error}"))
            if raw is not None and len(rows) >= chunk_size:
                raw.write(np.stack(rows).tobytes())
                rows = []
        if raw is not None and rows:
            raw.write(np.stack(rows).tobytes())
            rows = []
    finally:
        if raw is not None:
            raw.close()
    return rows, paths, skipped


def _should_invert(X, sample=2048):
    """Whether the typical image is mostly bright (light background), from up to ``sample`` rows."""
    rows = X[np.linspace(0, len(X) - 1, min(sample, len(X))).astype(int)]
    return bool(np.median(rows.reshape(len(rows), -1).mean(axis=1)) > 0.5 * (255 if rows.dtype == np.uint8 else 1))


def idx_to_memmap(idx_path, memmap_path, *, chunk_rows=65_536):
    """Copy the images of a uint8 IDX file (gzipped or not) into a NumPy memmap, chunk by chunk.

    Only ``chunk_rows`` images are in memory at a time, so files larger than
    memory convert too. The result is what
    :class:`~skgmvae.GMVAETransformer` reads without a copy (uint8 is read as
    ``value / 255``).

    Parameters
    ----------
    idx_path : str or Path
        An IDX file of uint8 images, shape (n, height, width) or (n, n_features).
    memmap_path : str or Path
        Raw file to write (overwritten).
    chunk_rows : int, default=65536

    Returns
    -------
    numpy.memmap of shape (n, n_features), dtype uint8, opened read-only
    """
    opener = gzip.open if str(idx_path).endswith(".gz") else open
    with opener(idx_path, "rb") as source, open(memmap_path, "wb") as target:
        magic = source.read(4)
        if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] != 0x08:
            raise ValueError(f"{idx_path} is not an IDX file of uint8 values (bad magic number).")
        shape = tuple(int(d) for d in np.frombuffer(source.read(4 * magic[3]), dtype=">u4"))
        n_features = int(np.prod(shape[1:]))
        for start in range(0, shape[0], chunk_rows):
            wanted = min(chunk_rows, shape[0] - start) * n_features
            chunk = source.read(wanted)
            if len(chunk) != wanted:
                raise ValueError(f"{idx_path} is truncated: header says {shape}, the data ends at row {start}.")
            target.write(chunk)
    return np.memmap(memmap_path, dtype=np.uint8, mode="r", shape=(shape[0], n_features))
