"""Images on disk the way a user keeps them: one folder per class, read back with Keras.

A folder tree such as ``root/face/00001.png``, ``root/not_face/00002.png`` is what
``keras.utils.image_dataset_from_directory`` reads: the folder names are the class names, sorted
alphabetically into labels 0, 1, ... . :func:`write_class_folders` writes arrays into such a tree,
:func:`cached_class_folders` does it once under the book's cache (and checks every file on
reuse), and :func:`folder_dataset` reads a tree into a ``tf.data`` pipeline. With your own
photographs, skip the writing: point :func:`folder_dataset` at your folder.

Taught in: *Applications: images*.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tutorial_lib import cache
from tutorial_lib.data import Split, check_labels

MANIFEST = "manifest.json"


def _check_class_names(class_names: Sequence[str], n_classes: int) -> tuple[str, ...]:
    names = tuple(class_names)
    if len(names) < n_classes:
        raise ValueError(f"labels go up to {n_classes - 1} but only {len(names)} class names "
                         f"were given: {names}")
    for name in names:
        if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
            raise ValueError(f"class names must be non-empty folder names, got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"class names must be distinct, got {names}")
    if list(names) != sorted(names):
        # image_dataset_from_directory numbers the folders in sorted order.
        raise ValueError(f"class names must be in sorted order so that folder i holds label i, "
                         f"got {names}")
    return names


def write_class_folders(
    root: str | os.PathLike, images: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> Path:
    """Write ``images`` as PNG files into ``root/<class name>/<index>.png``.

    Parameters
    ----------
    root
        The folder to write into (created; it must not hold other class folders).
    images
        ``(n, height, width)`` grey or ``(n, height, width, 3)`` colour images in [0, 1].
    labels
        Integer labels; label ``i`` goes into the folder ``class_names[i]``.
    class_names
        Folder names in sorted order (Keras numbers the folders alphabetically).

    Returns
    -------
    Path
        ``root``.

    Raises
    ------
    ValueError
        If the images are not in [0, 1] or have the wrong shape, the labels do not match them,
        or the class names cannot be folder names in label order.
    """
    import keras

    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4 and images.shape[-1] in (1, 3):
        pass
    elif images.ndim == 3:
        images = images[..., None]
    else:
        raise ValueError(f"images must have shape (n, height, width) or (n, height, width, 1 or 3), "
                         f"got {images.shape}")
    if len(images) == 0:
        raise ValueError("got no images to write")
    if not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1:
        raise ValueError("image values must lie in [0, 1]")
    labels = check_labels(labels, len(images))
    names = _check_class_names(class_names, int(labels.max()) + 1)
    root = Path(root)
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        pixels = np.round(image * 255).astype(np.uint8)
        keras.utils.save_img(root / names[label] / f"{index:05d}.png", pixels, scale=False)
    return root


def _manifest(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): cache.file_sha256(path)
            for path in sorted(root.rglob("*.png"))}


def cached_class_folders(
    kind: str, recipe: Mapping[str, Any], splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str],
) -> Path:
    """Write each split into ``<cache>/<kind>-<hash>/<split>/<class>/``, once.

    The folder's ``manifest.json`` holds the recipe and the SHA-256 of every file; a folder whose
    files are missing, extra or altered is written again, never used.

    Parameters
    ----------
    kind
        Starts the folder's name, e.g. ``"lfw-faces"``.
    recipe
        Everything the images depend on (JSON-serialisable); its hash names the folder.
    splits
        ``{"train": (images, labels), "validation": ..., "test": ...}``.
    class_names
        Folder names in sorted label order.

    Returns
    -------
    Path
        The folder that holds one sub-folder per split.
    """
    if not splits:
        raise ValueError("splits must name at least one split, e.g. {'train': (x, y)}")
    root = cache.cache_dir() / f"{kind}-{cache.recipe_hash(recipe)}"
    manifest_path = root / MANIFEST
    recipe = json.loads(json.dumps(recipe))
    try:
        stored = json.loads(manifest_path.read_text())
        if stored.get("recipe") == recipe and stored.get("files") == _manifest(root):
            return root
    except (OSError, ValueError):
        pass
    temporary = root.with_name(f".{root.name}-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    for split, (images, labels) in splits.items():
        write_class_folders(temporary / split, images, labels, class_names)
    (temporary / MANIFEST).write_text(json.dumps({"recipe": recipe, "files": _manifest(temporary)},
                                                 indent=1, sort_keys=True))
    shutil.rmtree(root, ignore_errors=True)
    os.replace(temporary, root)
    return root


def folder_dataset(
    folder: str | os.PathLike,
    *,
    image_size: tuple[int, int] = (32, 32),
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
):
    """A class-per-folder tree as a ``tf.data.Dataset`` of ``(images in [0, 1], labels)``.

    ``keras.utils.image_dataset_from_directory`` reads and resizes the images (as RGB, so grey
    files get three equal channels); the pipeline then scales them to [0, 1], keeps them in memory
    after the first pass (``cache``) and prepares the next batch while one is used (``prefetch``).

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist.
    """
    import keras
    import tensorflow as tf

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    dataset = keras.utils.image_dataset_from_directory(
        folder, labels="inferred", label_mode="int", color_mode="rgb", image_size=image_size,
        batch_size=batch_size, shuffle=shuffle, seed=seed, verbose=False)
    class_names = tuple(dataset.class_names)
    dataset = dataset.map(lambda x, y: (x / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.cache().prefetch(tf.data.AUTOTUNE)
    dataset.class_names = class_names
    return dataset


def dataset_arrays(dataset) -> Split:
    """All the batches of a ``(images, labels)`` dataset as two NumPy arrays, in order."""
    xs, ys = [], []
    for x, y in dataset:
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    if not xs:
        raise ValueError("the dataset is empty")
    return Split(np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64))
