"""Loaders on tiny files built in a temporary folder; nothing needs the network or the real data."""

import gzip
import struct

import numpy as np
import pytest

from skgmvae.datasets import load_dataset, load_digits_dataset, load_emnist_letters, load_fashion_mnist, read_idx


def write_idx(path, array, compress=True):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as handle:
        handle.write(payload)


@pytest.fixture
def fashion_dir(tmp_path):
    rng = np.random.RandomState(0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.randint(0, 256, (6, 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(6) % 10)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.randint(0, 256, (3, 28, 28)), compress=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 2, 3]), compress=False)
    return tmp_path


@pytest.fixture
def emnist_dir(tmp_path):
    folder = tmp_path / "emnist-letters"
    folder.mkdir()
    image = np.zeros((28, 28), dtype=np.uint8)
    image[0, 5] = 255  # row 0, column 5: the upright orientation must keep it there
    np.savez(folder / "emnist-letters-train-partial.npz", X=np.stack([image, image]), y=np.array([1, 26]),
             idx=np.array([0, 1]))
    np.savez(folder / "emnist-letters-test-partial.npz", X=np.stack([image] * 3), y=np.array([2, 3, 4]),
             idx=np.array([0, 1, 2]))
    return tmp_path


def test_read_idx_round_trip(tmp_path):
    array = np.arange(24).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


def test_fashion_mnist_from_flat_folder_gz_and_raw(fashion_dir):
    data = load_fashion_mnist(fashion_dir)
    assert data.X_train.shape == (6, 784) and data.X_test.shape == (3, 784)
    assert data.X_train.dtype == np.float32
    assert 0.0 <= data.X_train.min() and data.X_train.max() <= 1.0
    np.testing.assert_array_equal(data.y_test, [1, 2, 3])
    assert len(data.target_names) == 10


def test_fashion_mnist_from_torchvision_root(fashion_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for file in fashion_dir.iterdir():
        (raw / file.name).write_bytes(file.read_bytes())
    assert load_fashion_mnist(root).X_train.shape == (6, 784)


def test_emnist_partial_is_upright_with_zero_based_labels(emnist_dir):
    data = load_emnist_letters(emnist_dir)
    assert data.source == "partial"
    np.testing.assert_array_equal(data.y_train, [0, 25])
    image = data.X_train[0].reshape(28, 28)
    assert image[0, 5] == 1.0 and image[5, 0] == 0.0
    assert data.target_names[0] == "a"


def test_emnist_protocol_pool_and_candidates(emnist_dir):
    data = load_dataset("emnist", emnist_dir)
    assert data["X_pool"].shape == (5, 784)
    np.testing.assert_array_equal(data["label_candidates"], [0, 1])
    assert data["X_test"] is None


def test_missing_data_says_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)) as excinfo:
        load_fashion_mnist(tmp_path / "nowhere")
    assert "apt-get install dataset-fashion-mnist" in str(excinfo.value)
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_emnist_letters(tmp_path / "nowhere")


def test_digits_and_unknown_name():
    data = load_digits_dataset()
    assert data.X_train.shape == (1797, 64) and data.X_train.max() == 1.0
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_dataset("mnist")


def test_environment_variable_sets_data_folder(fashion_dir, monkeypatch):
    monkeypatch.setenv("SKGMVAE_DATA", str(fashion_dir))
    assert load_fashion_mnist().X_train.shape == (6, 784)


@pytest.mark.skipif(not (__import__("pathlib").Path("../shared/data/emnist-letters").is_dir()),
                    reason="the partial EMNIST copy (../shared/data/emnist-letters) is not on this machine")
def test_real_emnist_partial_copy():
    data = load_dataset("emnist", "../shared/data")
    assert data["X_pool"].shape == (19358, 784)
    assert len(data["label_candidates"]) == 8879
    assert set(np.unique(data["y_pool"][data["label_candidates"]])) == set(range(26))
