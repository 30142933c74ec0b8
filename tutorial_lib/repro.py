"""Reproducibility: one call that makes the book's numbers repeat.

Taught in: *What is transfer learning?*
"""

from __future__ import annotations

import os

from tutorial_lib.checks import check_int


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and Keras, and make TensorFlow's ops deterministic.

    Parameters
    ----------
    seed
        A non-negative integer. The same seed gives bit-identical results on the same
        machine and library versions.

    Raises
    ------
    TypeError
        If ``seed`` is not an integer.
    ValueError
        If ``seed`` is negative.
    """
    seed = check_int("seed", seed, minimum=0)
    os.environ["PYTHONHASHSEED"] = str(seed)

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel("ERROR")
