"""Faces or not? scikit-image's ``lfw_subset``: 100 faces and 100 other picture patches.

scikit-image ships 200 grey 25x25 images (``skimage.data.lfw_subset()``): the first 100 are faces
from the *Labeled Faces in the Wild* data set, the last 100 are patches of other photographs. No
network is needed. :func:`lfw_faces_splits` splits them, stratified and seeded, into a training
pool (labels are drawn from it), a validation split (for early stopping) and a test split (touched
once); :func:`lfw_faces_folders` writes the splits as class folders under the book's cache.

Taught in: *Applications: images*.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tutorial_lib import cache, image_folders
from tutorial_lib.checks import check_int
from tutorial_lib.data import Split

#: Folder names, in label order (Keras sorts the folders alphabetically).
CLASS_NAMES = ("face", "not_face")
N_PER_CLASS = 100
SPLITS = ("train", "validation", "test")


def load_lfw_subset() -> Split:
    """The 200 images as float32 ``(200, 25, 25)`` in [0, 1] and labels (0 = face, 1 = not a face)."""
    import skimage.data

    images = np.asarray(skimage.data.lfw_subset(), dtype=np.float32)
    labels = np.repeat(np.arange(len(CLASS_NAMES)), N_PER_CLASS)
    if images.shape != (len(labels), 25, 25):
        raise ValueError(f"unexpected lfw_subset shape {images.shape}")
    return Split(np.clip(images, 0.0, 1.0), labels)


def lfw_faces_splits(
    *, validation_per_class: int = 10, test_per_class: int = 50, seed: int = 0
) -> dict[str, Split]:
    """Disjoint ``train`` (the pool), ``validation`` and ``test`` splits, the same share per class.

    Raises
    ------
    ValueError
        If the validation and test splits leave fewer than one image per class for training.
    """
    validation_per_class = check_int("validation_per_class", validation_per_class)
    test_per_class = check_int("test_per_class", test_per_class)
    if validation_per_class + test_per_class >= N_PER_CLASS:
        raise ValueError(f"validation_per_class + test_per_class must be below {N_PER_CLASS}, "
                         f"got {validation_per_class} + {test_per_class}")
    full = load_lfw_subset()
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for label in range(len(CLASS_NAMES)):
        members = rng.permutation(np.flatnonzero(full.y == label))
        parts["test"].append(members[:test_per_class])
        parts["validation"].append(members[test_per_class : test_per_class + validation_per_class])
        parts["train"].append(members[test_per_class + validation_per_class :])
    return {split: Split(full.x[np.sort(np.concatenate(index))], full.y[np.sort(np.concatenate(index))])
            for split, index in parts.items()}


def lfw_faces_folders(*, validation_per_class: int = 10, test_per_class: int = 50,
                      seed: int = 0) -> Path:
    """The splits as PNG files in ``<cache>/lfw-faces-<hash>/<split>/<face|not_face>/``.

    Written once (and checked file by file on reuse) by
    :func:`tutorial_lib.image_folders.cached_class_folders`.
    """
    splits = lfw_faces_splits(validation_per_class=validation_per_class,
                              test_per_class=test_per_class, seed=seed)
    recipe = {"source": "skimage.data.lfw_subset", "version": 1,
              "validation_per_class": validation_per_class, "test_per_class": test_per_class,
              "seed": seed, "code": cache.code_hash(lfw_faces_splits, image_folders)}
    return image_folders.cached_class_folders("lfw-faces", recipe, splits, CLASS_NAMES)
