"""Shared fixtures. Importing tutorial_lib first quiets TensorFlow's log lines."""

import numpy as np
import pytest

import tutorial_lib  # noqa: F401  (sets TensorFlow's log level before TensorFlow loads)
from tutorial_lib import data, repro, transfer


@pytest.fixture(autouse=True)
def _seeded():
    repro.seed_everything(0)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """An empty cache folder for one test."""
    monkeypatch.setenv("TUTORIAL_LIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def task():
    """The book's default digits task (built once per test session)."""
    return data.shifted_digits_task()


@pytest.fixture(scope="session")
def source(task):
    """The book's default source model, from the same cache the chapters use."""
    return transfer.train_source_model(task)


@pytest.fixture
def tiny_images():
    """40 random 24x24 grey images in 2 classes that differ in brightness."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    x = rng.uniform(0, 0.5, (40, 24, 24, 1)).astype(np.float32) + 0.5 * y[:, None, None, None]
    return x, y
