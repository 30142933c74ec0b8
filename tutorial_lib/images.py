"""A 10-class image task made of photographs and textures that ship with scikit-image and
scikit-learn: which picture does a small crop come from?

Training crops come from the left part of each picture, validation crops (optional) from a band
in the middle and test crops from the right part, so no test pixel was ever seen in training or
validation (the crop boxes are returned, and a test checks it).
Pictures are turned grey, so that the task is about texture and shape rather than mean colour.

Taught in: *The VGG16 example*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tutorial_lib.checks import check_int
from tutorial_lib.data import Split, TransferTask

#: The ten pictures of the default task (scikit-image names, and two of scikit-learn's).
DEFAULT_PICTURES = ("brick", "grass", "gravel", "coins", "moon",
                    "astronaut", "chelsea", "coffee", "rocket", "china")

_SKLEARN_PICTURES = {"china": "china.jpg", "flower": "flower.jpg"}


def available_pictures() -> tuple[str, ...]:
    """Names :func:`load_picture` accepts: scikit-image's bundled pictures and scikit-learn's."""
    return ("astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel",
            "horse", "hubble_deep_field", "immunohistochemistry", "moon", "page", "rocket",
            "text", *_SKLEARN_PICTURES)


def load_picture(name: str) -> np.ndarray:
    """One bundled picture as a grey float32 array with values in [0, 1].

    Raises
    ------
    ValueError
        If ``name`` is not one of :func:`available_pictures`.
    """
    if name not in available_pictures():
        raise ValueError(f"unknown picture {name!r}; choose from {list(available_pictures())}")
    if name in _SKLEARN_PICTURES:
        from sklearn.datasets import load_sample_image

        image = load_sample_image(_SKLEARN_PICTURES[name])
    else:
        import skimage.data

        image = getattr(skimage.data, name)()
    image = np.asarray(image, dtype=np.float32)
    if image.max() > 1.0:
        image = image / 255.0
    if image.ndim == 3:
        from skimage.color import rgb2gray

        image = rgb2gray(image[..., :3]).astype(np.float32)
    return np.clip(image, 0.0, 1.0)


def _resize_short_side(image: np.ndarray, short_side: int) -> np.ndarray:
    from skimage.transform import resize

    scale = short_side / min(image.shape[:2])
    shape = (round(image.shape[0] * scale), round(image.shape[1] * scale))
    return resize(image, shape, anti_aliasing=True).astype(np.float32)


@dataclass(frozen=True)
class PictureTask:
    """Crops of pictures; label ``i`` means "from picture ``class_names[i]``".

    Attributes
    ----------
    train, validation, test
        RGB crops (grey replicated to three channels) with values in [0, 1] and their labels
        (``validation`` is empty unless validation crops were asked for).
    train_boxes, validation_boxes, test_boxes
        ``(top, left, height, width)`` of each crop in its resized picture.
    split_columns
        For each picture, the column where the training region ends.
    test_columns
        For each picture, the column where the test region starts (the validation region lies
        between the two).
    class_names
        The picture behind each label.
    """

    train: Split
    validation: Split
    test: Split
    train_boxes: np.ndarray
    validation_boxes: np.ndarray
    test_boxes: np.ndarray
    split_columns: tuple[int, ...]
    test_columns: tuple[int, ...]
    class_names: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        """Number of classes (pictures)."""
        return len(self.class_names)


def _crops(image: np.ndarray, columns: tuple[int, int], n: int, size: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    first, last = columns
    if last - first < size or image.shape[0] < size:
        raise ValueError(f"a region of {last - first} columns cannot hold crops of {size} pixels")
    tops = rng.integers(0, image.shape[0] - size + 1, n)
    lefts = rng.integers(first, last - size + 1, n)
    crops = np.stack([image[t : t + size, s : s + size] for t, s in zip(tops, lefts, strict=True)])
    boxes = np.stack([tops, lefts, np.full(n, size), np.full(n, size)], axis=1)
    return crops, boxes


def picture_crops_task(
    pictures: Sequence[str] = DEFAULT_PICTURES,
    *,
    train_per_class: int = 20,
    test_per_class: int = 20,
    validation_per_class: int = 0,
    crop_size: int = 64,
    short_side: int = 256,
    train_fraction: float = 0.6,
    validation_fraction: float = 0.0,
    seed: int = 0,
) -> PictureTask:
    """Crops of bundled pictures, from disjoint regions for training, validation and testing.

    Each picture is turned grey and resized so that its short side is ``short_side`` pixels;
    the left ``train_fraction`` of its columns give the training crops, the next
    ``validation_fraction`` the validation crops, the rest the test crops.

    Raises
    ------
    ValueError
        If a picture is unknown or repeated, a count or fraction is out of range, validation
        crops are asked for without a validation region (or the reverse), or a region is too
        narrow for the crops.
    """
    pictures = tuple(pictures)
    if len(set(pictures)) != len(pictures) or len(pictures) < 2:
        raise ValueError(f"need at least two distinct pictures, got {pictures}")
    if not (0.0 < train_fraction < 1.0 and 0.0 <= validation_fraction < 1.0 - train_fraction):
        raise ValueError(f"train_fraction must be in (0, 1) and validation_fraction in "
                         f"[0, 1 - train_fraction), got {train_fraction} and {validation_fraction}")
    for name, value, least in (("train_per_class", train_per_class, 1),
                               ("test_per_class", test_per_class, 1),
                               ("validation_per_class", validation_per_class, 0)):
        check_int(name, value, minimum=least)
    if (validation_per_class > 0) != (validation_fraction > 0):
        raise ValueError(f"validation crops need a validation region and the reverse: got "
                         f"validation_per_class={validation_per_class} and "
                         f"validation_fraction={validation_fraction}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {f"{part}{kind}": [] for part in ("train", "validation", "test")
                              for kind in ("", "_boxes", "_y")}
    splits, test_starts = [], []
    for label, name in enumerate(pictures):
        image = _resize_short_side(load_picture(name), short_side)
        split = round(image.shape[1] * train_fraction)
        test_start = split + round(image.shape[1] * validation_fraction)
        splits.append(split)
        test_starts.append(test_start)
        regions = [("train", (0, split), train_per_class), ("test", (test_start, image.shape[1]),
                                                            test_per_class)]
        if validation_per_class:
            regions.append(("validation", (split, test_start), validation_per_class))
        for part, columns, n in regions:
            crops, boxes = _crops(image, columns, n, crop_size, rng)
            parts[part].append(crops)
            parts[f"{part}_boxes"].append(boxes)
            parts[f"{part}_y"].append(np.full(n, label, dtype=np.int64))

    def split_of(part: str) -> Split:
        if not parts[part]:
            return Split(np.zeros((0, crop_size, crop_size, 3), np.float32), np.zeros(0, np.int64))
        return Split(np.repeat(np.concatenate(parts[part])[..., None], 3, axis=-1),
                     np.concatenate(parts[f"{part}_y"]))

    def boxes_of(part: str) -> np.ndarray:
        return np.concatenate(parts[f"{part}_boxes"]) if parts[part] else np.zeros((0, 4), np.int64)

    return PictureTask(
        train=split_of("train"), validation=split_of("validation"), test=split_of("test"),
        train_boxes=boxes_of("train"), validation_boxes=boxes_of("validation"),
        test_boxes=boxes_of("test"), split_columns=tuple(splits), test_columns=tuple(test_starts),
        class_names=pictures,
    )


#: Five pictures whose 24-pixel crops a small network tells apart well: textures and surfaces,
#: no strokes on a dark background.
SOURCE_PICTURES = ("brick", "grass", "gravel", "coins", "moon")


def picture_source(
    task: TransferTask,
    pictures: Sequence[str] = SOURCE_PICTURES,
    *,
    train_per_class: int = 800,
    test_per_class: int = 100,
    short_side: int = 128,
    seed: int = 0,
) -> TransferTask:
    """``task`` with its source replaced by a *dissimilar* one: which picture a grey crop comes from.

    The crops (:func:`picture_crops_task`) have the size of ``task``'s images and one channel,
    so a source model trained on them has the architecture of the digits source model. The
    target splits of ``task`` are kept unchanged. Label ``i`` of the new source means
    "a crop of ``pictures[i]``" (the picture names are in the returned task's ``recipe``).

    Raises
    ------
    ValueError
        If ``task``'s images are not square grey images, or the pictures are not valid for
        :func:`picture_crops_task`.
    """
    height, width, channels = task.target_test.x.shape[1:]
    if height != width or channels != 1:
        raise ValueError(f"the task's images must be square and grey, got {(height, width, channels)}")
    crops = picture_crops_task(pictures, train_per_class=train_per_class,
                               test_per_class=test_per_class, crop_size=height,
                               short_side=short_side, seed=seed)
    return TransferTask(
        source_train=Split(crops.train.x[..., :1], crops.train.y),
        source_test=Split(crops.test.x[..., :1], crops.test.y),
        target_pool=task.target_pool, target_test=task.target_test,
        source_classes=tuple(range(crops.n_classes)), target_classes=task.target_classes,
        recipe={**task.recipe, "picture_source": {
            "pictures": list(crops.class_names), "train_per_class": int(train_per_class),
            "test_per_class": int(test_per_class), "short_side": int(short_side), "seed": int(seed)}},
    )
