"""Embedded data: scikit-learn's handwritten digits and the book's source/target tasks.

Everything here is arrays in, arrays out, generated deterministically from data that ships
inside scikit-learn, so no chapter needs a network. Data code does not train and does not plot.

Taught in: *What is transfer learning?* (the task) and *Parameter sharing vs feature sharing*
(the k-labels-per-class sampler).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from tutorial_lib import cache
from tutorial_lib.checks import check_int


class Split(NamedTuple):
    """Images and integer labels of one part of a data set."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class TransferTask:
    """A source task with plenty of labels and a target task whose labels are scarce.

    Attributes
    ----------
    source_train, source_test
        Images and labels ``0 .. n_source_classes - 1`` of the source task.
    target_pool
        The target images a few labels may be drawn from (see :func:`sample_per_class`).
    target_test
        Held-out target images that no training step touches.
    source_classes, target_classes
        The original digit behind each label.
    recipe
        The arguments that made the task; caches of models trained on it are keyed by them.
    """

    source_train: Split
    source_test: Split
    target_pool: Split
    target_test: Split
    source_classes: tuple[int, ...]
    target_classes: tuple[int, ...]
    recipe: dict = field(default_factory=dict)

    @property
    def n_source_classes(self) -> int:
        """Number of classes of the source task."""
        return len(self.source_classes)

    @property
    def n_target_classes(self) -> int:
        """Number of classes of the target task."""
        return len(self.target_classes)

    def few_labels(self, labels_per_class: int, seed: int = 0) -> Split:
        """The labelled target images a scarce-label experiment trains on.

        ``labels_per_class`` images of every target class, drawn from :attr:`target_pool` by
        :func:`sample_per_class` with ``seed`` (the same seed gives the same images).

        Raises
        ------
        ValueError
            If ``labels_per_class`` is below 1 or larger than a class of the pool.
        """
        chosen = sample_per_class(self.target_pool.y, labels_per_class, seed=seed)
        return Split(self.target_pool.x[chosen], self.target_pool.y[chosen])


def check_labels(y: np.ndarray, n_samples: int | None = None) -> np.ndarray:
    """Return ``y`` as a 1-D int64 array of class indices, or raise a clear error.

    Parameters
    ----------
    y
        Integer class labels, shape ``(n,)``.
    n_samples
        If given, the number of labels expected.

    Raises
    ------
    ValueError
        If ``y`` is one-hot (2-D), holds negative or non-integer values, or has the wrong length.
    TypeError
        If ``y`` is not array-like.
    """
    try:
        y = np.asarray(y)
    except Exception as error:  # pragma: no cover - numpy accepts nearly anything
        raise TypeError(f"labels must be array-like, got {type(y).__name__}") from error
    if y.ndim == 2:
        raise ValueError(
            f"labels must be integer class indices of shape (n,), got shape {y.shape}; "
            "if they are one-hot, pass y.argmax(axis=1)"
        )
    if y.ndim != 1:
        raise ValueError(f"labels must have shape (n,), got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"labels must be whole numbers, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"labels must be non-negative, got minimum {y.min()}")
    if n_samples is not None and len(y) != n_samples:
        raise ValueError(f"expected {n_samples} labels (one per image), got {len(y)}")
    return y


def check_images(x: np.ndarray, ndim: int = 4) -> np.ndarray:
    """Return ``x`` as a float32 array of ``ndim`` dimensions, or raise a clear error.

    Raises
    ------
    ValueError
        If ``x`` has the wrong number of dimensions, no samples, or non-finite values.
    """
    x = np.asarray(x)
    if x.ndim != ndim:
        expected = "(n, height, width, channels)" if ndim == 4 else f"{ndim} dimensions"
        raise ValueError(f"images must have shape {expected}, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("got an empty array of images")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or infinite values")
    return x


def load_digits() -> Split:
    """Load scikit-learn's 1,797 handwritten digits (8x8 pixels), scaled to [0, 1].

    Returns
    -------
    Split
        ``x`` of shape ``(1797, 8, 8)`` (float32) and ``y`` of shape ``(1797,)`` (int64, 0-9).
    """
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    return Split(bunch.images.astype(np.float32) / 16.0, bunch.target.astype(np.int64))


def place_on_canvas(
    images: np.ndarray,
    *,
    canvas_size: int = 24,
    scale: int = 2,
    noise: float = 0.15,
    clutter: int = 2,
    seed: int = 0,
) -> np.ndarray:
    """Enlarge small images and put each at a random place on a noisy, cluttered canvas.

    A digit that may sit anywhere, among stray strokes, cannot be learned from a handful of
    examples the way a centred digit can: the model must first learn what strokes look like
    wherever they are, and which ones to ignore. That is what a source model can pass on.

    Parameters
    ----------
    images
        Grey images of shape ``(n, h, w)`` with values in [0, 1].
    canvas_size
        Side of the square output, in pixels; must hold the enlarged image.
    scale
        Integer enlargement factor (each pixel becomes a ``scale x scale`` block).
    noise
        Standard deviation of the Gaussian noise added to every pixel (the result is clipped).
    clutter
        Number of stray fragments (a 3/8 x 3/8 piece of another enlarged image each) drawn at random
        places on every canvas.
    seed
        Seed of the positions and of the noise.

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(n, canvas_size, canvas_size, 1)`` with values in [0, 1].
    """
    images = check_images(images, ndim=3)
    scale = check_int("scale", scale, minimum=1)
    clutter = check_int("clutter", clutter, minimum=0)
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    height, width = images.shape[1] * scale, images.shape[2] * scale
    if height > canvas_size or width > canvas_size:
        raise ValueError(
            f"an enlarged image is {height}x{width} pixels and does not fit a canvas of "
            f"{canvas_size}x{canvas_size}"
        )
    rng = np.random.default_rng(seed)
    enlarged = np.kron(images, np.ones((1, scale, scale), dtype=np.float32))
    rows = rng.integers(0, canvas_size - height + 1, len(images))
    cols = rng.integers(0, canvas_size - width + 1, len(images))
    canvas = np.zeros((len(images), canvas_size, canvas_size), dtype=np.float32)
    piece_h, piece_w = 3 * height // 8, 3 * width // 8
    for i, (row, col) in enumerate(zip(rows, cols, strict=True)):
        canvas[i, row : row + height, col : col + width] = enlarged[i]
        for _ in range(clutter):
            donor = enlarged[rng.integers(len(images))]
            r0, c0 = rng.integers(0, height - piece_h + 1), rng.integers(0, width - piece_w + 1)
            r1, c1 = rng.integers(0, canvas_size - piece_h + 1), rng.integers(0, canvas_size - piece_w + 1)
            region = canvas[i, r1 : r1 + piece_h, c1 : c1 + piece_w]
            np.maximum(region, donor[r0 : r0 + piece_h, c0 : c0 + piece_w], out=region)
    canvas += noise * rng.standard_normal(canvas.shape).astype(np.float32)
    return np.clip(canvas, 0.0, 1.0)[..., None]


def select_classes(x: np.ndarray, y: np.ndarray, classes: Sequence[int]) -> Split:
    """Keep the samples of ``classes`` and relabel them ``0 .. len(classes) - 1``.

    Raises
    ------
    ValueError
        If ``classes`` is empty, repeats a class, or names a class that ``y`` does not hold.
    """
    y = check_labels(y, len(x))
    classes = tuple(int(c) for c in classes)
    if not classes:
        raise ValueError("classes must name at least one class")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct, got {classes}")
    missing = sorted(set(classes) - set(np.unique(y).tolist()))
    if missing:
        raise ValueError(f"unknown classes {missing}; the labels hold {np.unique(y).tolist()}")
    mask = np.isin(y, classes)
    lookup = {c: i for i, c in enumerate(classes)}
    return Split(np.asarray(x)[mask], np.array([lookup[c] for c in y[mask]], dtype=np.int64))


def stratified_split(
    y: np.ndarray, test_fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into train and test so that every class keeps its share.

    Returns
    -------
    (train_indices, test_indices)
        Disjoint, sorted index arrays that together cover ``range(len(y))``.

    Raises
    ------
    ValueError
        If ``test_fraction`` is not strictly between 0 and 1, or a class has fewer than two
        samples.
    """
    from sklearn.model_selection import train_test_split

    y = check_labels(y)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    labels, counts = np.unique(y, return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"class {labels[counts.argmin()]} has {counts.min()} sample; need at least 2")
    train, test = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y,
                                   random_state=seed)
    return np.sort(train), np.sort(test)


def sample_per_class(y: np.ndarray, labels_per_class: int, seed: int = 0) -> np.ndarray:
    """Draw ``labels_per_class`` indices of every class, without replacement.

    This is how the book simulates a target task with few labels: the same seed gives the same
    images, and a larger ``labels_per_class`` with the same seed is *not* guaranteed to contain
    the smaller draw.

    Raises
    ------
    ValueError
        If ``labels_per_class`` is below 1 or larger than the smallest class.
    """
    y = check_labels(y)
    labels_per_class = check_int("labels_per_class", labels_per_class, minimum=1)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if labels_per_class > len(members):
            raise ValueError(
                f"asked for {labels_per_class} labels per class but class {label} has only "
                f"{len(members)} samples"
            )
        chosen.append(rng.choice(members, labels_per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def shifted_digits_task(
    source_classes: Sequence[int] = (0, 1, 2, 3, 4),
    target_classes: Sequence[int] = (5, 6, 7, 8, 9),
    *,
    source_copies: int = 4,
    noise: float = 0.15,
    clutter: int = 2,
    seed: int = 0,
) -> TransferTask:
    """The book's running example: learn digits 0-4 well, then learn 5-9 from a few labels.

    The digits are placed at random positions on a noisy 24x24 canvas with stray fragments of
    other digits (:func:`place_on_canvas`). The source training images are rendered ``source_copies``
    times at different positions (more labelled source data is the premise of transfer).
    The target images are split in half, stratified: a pool to draw labels from and a
    held-out test set.

    Raises
    ------
    ValueError
        If the two class lists overlap or name a class that is not a digit.
    """
    overlap = set(source_classes) & set(target_classes)
    if overlap:
        raise ValueError(f"source and target classes must not overlap, both hold {sorted(overlap)}")
    source_copies = check_int("source_copies", source_copies, minimum=1)
    digits = load_digits()
    source = select_classes(digits.x, digits.y, source_classes)
    target = select_classes(digits.x, digits.y, target_classes)

    def render(images: np.ndarray, offset: int) -> np.ndarray:
        return place_on_canvas(images, noise=noise, clutter=clutter, seed=seed * 1000 + offset)

    train_idx, test_idx = stratified_split(source.y, 0.2, seed=seed)
    source_train = Split(
        np.concatenate([render(source.x[train_idx], copy) for copy in range(source_copies)]),
        np.tile(source.y[train_idx], source_copies),
    )
    source_test = Split(render(source.x[test_idx], 500), source.y[test_idx])

    target_x = render(target.x, 900)
    pool_idx, test_idx = stratified_split(target.y, 0.5, seed=seed + 1)
    return TransferTask(
        source_train=source_train,
        source_test=source_test,
        target_pool=Split(target_x[pool_idx], target.y[pool_idx]),
        target_test=Split(target_x[test_idx], target.y[test_idx]),
        source_classes=tuple(int(c) for c in source_classes),
        target_classes=tuple(int(c) for c in target_classes),
        recipe={"name": "shifted-digits", "code": cache.code_hash(shifted_digits_task),
                "source_classes": [int(c) for c in source_classes],
                "target_classes": [int(c) for c in target_classes],
                "source_copies": int(source_copies), "noise": float(noise),
                "clutter": int(clutter), "seed": int(seed)},
    )


def scrambled_source(task: TransferTask, seed: int = 0) -> TransferTask:
    """The same task, but with a *dissimilar* source: every source image's pixels are shuffled by
    one fixed permutation.

    The source task stays learnable (the same permutation is applied to every image, and a
    network can still separate the classes), but it no longer has strokes, edges or any spatial
    structure in common with the target task. The target split is unchanged.
    """
    permutation = np.random.default_rng(seed).permutation(int(np.prod(task.source_train.x.shape[1:])))

    def scramble(split: Split) -> Split:
        flat = split.x.reshape(len(split.x), -1)[:, permutation]
        return Split(flat.reshape(split.x.shape), split.y)

    return TransferTask(
        source_train=scramble(task.source_train), source_test=scramble(task.source_test),
        target_pool=task.target_pool, target_test=task.target_test,
        source_classes=task.source_classes, target_classes=task.target_classes,
        recipe={**task.recipe, "scrambled_source": int(seed),
                "scramble_code": cache.code_hash(scrambled_source)},
    )
