"""Domain shift: the same digits in a shifted domain, and an unsupervised fix on frozen features.

A model trained on one domain (the book's digits on their canvas) meets a shifted one: more
noise, a grey fog that lowers the contrast, or inverted colours. :func:`shift_images` makes the
shifted domain; :func:`coral_align` is CORAL (Sun, Feng & Saenko, 2016) turned around: it maps
the target domain's frozen features so that their mean and covariance match the source
domain's, and the source model's own top layers read them unchanged (no label needed).

Data code here does not train and does not plot; :func:`split_at` only rearranges layers.

Taught in: *Trends and challenges*.
"""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np

from tutorial_lib.data import Split, TransferTask, check_images
from tutorial_lib.training import predict_proba

SHIFTS = ("noise", "fog", "invert")


def shift_images(images: np.ndarray, kind: str, strength: float = 0.5, *, seed: int = 0) -> np.ndarray:
    """The same images in a shifted domain (values stay in [0, 1]).

    Parameters
    ----------
    images
        ``(n, height, width, channels)`` with values in [0, 1].
    kind
        ``"noise"``: add Gaussian noise of standard deviation ``strength``; ``"fog"``: blend with
        mid grey, ``(1 - strength) * x + strength * 0.5`` (lower contrast, brighter background);
        ``"invert"``: ``1 - x`` (``strength`` is ignored).
    strength
        How strong the shift is; 0 leaves the images unchanged (except for ``"invert"``).
    seed
        Seed of the noise.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``strength`` is negative (or above 1 for ``"fog"``).
    """
    images = check_images(images)
    if kind not in SHIFTS:
        raise ValueError(f"kind must be one of {list(SHIFTS)}, got {kind!r}")
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a non-negative number, got {strength}")
    if kind == "noise":
        noise = np.random.default_rng(seed).standard_normal(images.shape).astype(np.float32)
        shifted = images + float(strength) * noise
    elif kind == "fog":
        if strength > 1:
            raise ValueError(f"a fog's strength is a blend weight in [0, 1], got {strength}")
        shifted = (1.0 - strength) * images + 0.5 * strength
    else:
        shifted = 1.0 - images
    return np.clip(shifted, 0.0, 1.0).astype(np.float32)


def _matrix_power(covariance: np.ndarray, power: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(covariance)
    return (vectors * np.clip(values, 1e-12, None) ** power) @ vectors.T


def coral_align(features: np.ndarray, reference: np.ndarray, *, regularization: float = 1e-3) -> np.ndarray:
    """Map ``features`` so that their mean and covariance become those of ``reference``.

    :math:`\\hat f = (f - \\mu_t)\\,C_t^{-1/2} C_s^{1/2} + \\mu_s`, with
    :math:`C = \\mathrm{cov} + \\lambda I` (``regularization`` :math:`\\lambda` keeps the
    inverse square root finite). This is CORAL's whitening and re-colouring, applied to the
    target features so that a model trained on the source domain can read them.

    Parameters
    ----------
    features
        ``(n, d)`` features of the shifted (target) domain; no labels are needed.
    reference
        ``(m, d)`` features of the domain the model was trained on.
    regularization
        Added to the diagonal of both covariance matrices.

    Raises
    ------
    ValueError
        If the arrays are not 2-D with the same number of columns and at least two rows, or
        ``regularization`` is negative.
    """
    features, reference = np.asarray(features, np.float64), np.asarray(reference, np.float64)
    if features.ndim != 2 or reference.ndim != 2 or features.shape[1] != reference.shape[1]:
        raise ValueError(f"features and reference must be (n, d) with the same d, got "
                         f"{features.shape} and {reference.shape}")
    if len(features) < 2 or len(reference) < 2:
        raise ValueError("need at least two rows of features and of reference to estimate a covariance")
    if regularization < 0:
        raise ValueError(f"regularization must be non-negative, got {regularization}")
    identity = regularization * np.eye(features.shape[1])
    source_cov = np.cov(reference, rowvar=False) + identity
    target_cov = np.cov(features, rowvar=False) + identity
    whitened = (features - features.mean(axis=0)) @ _matrix_power(target_cov, -0.5)
    return (whitened @ _matrix_power(source_cov, 0.5) + reference.mean(axis=0)).astype(np.float32)


def split_at(model: keras.Sequential, layer_name: str) -> tuple[keras.Sequential, keras.Sequential]:
    """Cut ``model`` after ``layer_name``: (images to features, features to class probabilities).

    Both halves share their layers (and so their weights) with ``model``.

    Raises
    ------
    ValueError
        If ``layer_name`` is not a layer of ``model`` or is its last layer.
    TypeError
        If ``model`` is not a ``keras.Sequential``.
    """
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"split_at expects a keras.Sequential model, got {type(model).__name__}")
    names = [layer.name for layer in model.layers]
    if layer_name not in names[:-1]:
        raise ValueError(f"layer_name must be one of {names[:-1]}, got {layer_name!r}")
    cut = names.index(layer_name) + 1
    bottom = keras.Sequential([keras.Input(model.input_shape[1:]), *model.layers[:cut]],
                              name=f"{model.name}_bottom")
    top = keras.Sequential([keras.Input(bottom.output_shape[1:]), *model.layers[cut:]],
                           name=f"{model.name}_top")
    return bottom, top


def shifted_target(task: TransferTask, kind: str, strength: float = 0.5, *, seed: int = 0) -> TransferTask:
    """The same task with its target images (pool and test) moved to a shifted domain.

    The source split is unchanged; the recipe records the shift, so caches keyed on it differ.
    """
    if not isinstance(task, TransferTask):
        raise TypeError(f"task must be a TransferTask, got {type(task).__name__}")
    pool = Split(shift_images(task.target_pool.x, kind, strength, seed=seed), task.target_pool.y)
    test = Split(shift_images(task.target_test.x, kind, strength, seed=seed + 1), task.target_test.y)
    return replace(task, target_pool=pool, target_test=test,
                   recipe={**task.recipe, "target_shift": [kind, float(strength), int(seed)]})


def coral_predict(
    model: keras.Sequential, images: np.ndarray, reference_images: np.ndarray, *,
    layer_name: str = "gap", regularization: float = 1e-3,
) -> np.ndarray:
    """Class probabilities of ``model`` for shifted ``images``, with CORAL at ``layer_name``.

    The features of ``images`` at ``layer_name`` are aligned (:func:`coral_align`) to those of
    ``reference_images`` (unlabelled images of the domain the model was trained on), then passed
    through the rest of the model. Nothing is trained and ``model`` is not changed.
    """
    bottom, top = split_at(model, layer_name)
    features = predict_proba(bottom, check_images(images))
    reference = predict_proba(bottom, check_images(reference_images))
    aligned = coral_align(features, reference, regularization=regularization)
    return predict_proba(top, aligned)
