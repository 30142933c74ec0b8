"""Figures of the book: image grids, learning curves, accuracy against labels, bar charts.

Plotting code does not train (nor import TensorFlow); every function takes results and returns
a matplotlib ``Figure``, so a notebook can show it and a test can inspect it.

Taught in: *What is transfer learning?*
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from tutorial_lib.results import summarize

# One colour per method, the same in every chapter.
METHOD_COLORS = {
    "from scratch": "#7f7f7f",
    "parameter sharing": "#1f77b4",
    "feature sharing": "#ff7f0e",
}


def show_images(
    images: np.ndarray, labels: Sequence | None = None, *, columns: int = 8, size: float = 1.1
) -> Figure:
    """A grid of grey or colour images with optional titles.

    Parameters
    ----------
    images
        ``(n, h, w)``, ``(n, h, w, 1)`` or ``(n, h, w, 3)`` with values in [0, 1].
    labels
        One title per image, or ``None``.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must have shape (n, h, w[, channels]), got {images.shape}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(labels)} labels for {len(images)} images")
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.15),
                                squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(images):
            axis.imshow(images[index], cmap="gray" if images.ndim == 3 else None, vmin=0, vmax=1)
            if labels is not None:
                axis.set_title(str(labels[index]), fontsize=9)
    figure.tight_layout()
    return figure


def plot_learning_curves(history: Mapping[str, Sequence[float]], title: str = "") -> Figure:
    """Loss and accuracy curves of a training run.

    ``history`` is either :func:`tutorial_lib.training.train`'s (``step``, ``loss``,
    ``val_accuracy``) or a Keras ``History.history`` (``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy`` per epoch).
    """
    if "loss" not in history:
        raise ValueError(f"history must hold 'loss', got keys {sorted(history)}")
    x_label = "training step" if "step" in history else "epoch"
    xs = history.get("step") or list(range(1, len(history["loss"]) + 1))
    has_accuracy = "val_accuracy" in history or "accuracy" in history
    figure, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(9 if has_accuracy else 4.5, 3.2),
                                squeeze=False)
    axes[0, 0].plot(xs, history["loss"], marker=".", label="training")
    if "val_loss" in history:
        axes[0, 0].plot(xs, history["val_loss"], marker=".", label="validation")
        axes[0, 0].legend()
    axes[0, 0].set(xlabel=x_label, ylabel="loss", title="loss")
    if has_accuracy:
        for key, label, color in (("accuracy", "training", "C0"), ("val_accuracy", "held out", "C2")):
            if key in history:
                axes[0, 1].plot(xs, history[key], marker=".", label=label, color=color)
        axes[0, 1].set(xlabel=x_label, ylabel="accuracy", ylim=(0, 1.02), title="accuracy")
        axes[0, 1].legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_accuracy_vs_labels(
    rows: Iterable[dict], *, chance: float | None = None, title: str = "",
    xlabel: str = "labelled target images per class",
) -> Figure:
    """Mean accuracy (± one standard deviation over seeds) against labels per class, per method.

    Parameters
    ----------
    rows
        Rows as returned by :func:`tutorial_lib.transfer.compare_methods`.
    chance
        If given, a dashed line at the accuracy of guessing.
    """
    stats = summarize(rows)
    if not stats:
        raise ValueError("no rows to plot")
    figure, axis = plt.subplots(figsize=(6, 3.8))
    for method in dict.fromkeys(key[0] for key in stats):
        ks = sorted(key[1] for key in stats if key[0] == method)
        mean = np.array([stats[(method, k)][0] for k in ks])
        spread = np.array([stats[(method, k)][1] for k in ks])
        (line,) = axis.plot(ks, mean, marker="o", label=method, color=METHOD_COLORS.get(method))
        # The band takes the line's colour, also for methods without a fixed colour.
        axis.fill_between(ks, mean - spread, mean + spread, alpha=0.2, color=line.get_color())
    if chance is not None:
        axis.axhline(chance, linestyle="--", color="black", linewidth=1, label="chance")
    axis.set_xscale("log")
    ks = sorted({key[1] for key in stats})
    axis.set_xticks(ks, [str(k) for k in ks])
    axis.xaxis.set_minor_locator(NullLocator())  # only the measured label counts are ticked
    axis.set(xlabel=xlabel, ylabel="target test accuracy",
             ylim=(0, 1), title=title)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def bar_chart(
    values: Mapping[str, float],
    errors: Mapping[str, float] | None = None,
    *,
    ylabel: str = "accuracy",
    title: str = "",
    chance: float | None = None,
    colors: Sequence[str] | None = None,
) -> Figure:
    """Bars with optional error bars and value labels."""
    if not values:
        raise ValueError("values must not be empty")
    names = list(values)
    heights = [float(values[name]) for name in names]
    yerr = None if errors is None else [float(errors[name]) for name in names]
    figure, axis = plt.subplots(figsize=(max(4.0, 1.4 * len(names)), 3.6))
    if colors is None:
        colors = [METHOD_COLORS.get(name, f"C{i}") for i, name in enumerate(names)]
    bars = axis.bar(range(len(names)), heights, yerr=yerr, capsize=4, color=colors)
    # Long names go on two lines rather than run into their neighbours.
    axis.set_xticks(range(len(names)), [textwrap.fill(name, 14) for name in names])
    axis.bar_label(bars, labels=[f"{h:.2f}" for h in heights], padding=3)
    if chance is not None:
        axis.axhline(chance, linestyle="--", color="black", linewidth=1, label="chance")
        axis.legend(loc="upper left")
    top = max(h + (e or 0) for h, e in zip(heights, yerr or [0] * len(heights), strict=True))
    axis.set(ylabel=ylabel, title=title, ylim=(0, max(1.0, top * 1.15)))
    figure.tight_layout()
    return figure


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    ylabel: str = "accuracy",
    title: str = "",
    chance: float | None = None,
) -> Figure:
    """Bars grouped by category, one colour per series; each value is ``(mean, std)``.

    Raises
    ------
    ValueError
        If a series does not have one value per category.
    """
    if not series:
        raise ValueError("series must not be empty")
    for name, values in series.items():
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
    width = 0.8 / len(series)
    figure, axis = plt.subplots(figsize=(max(5.0, 1.6 * len(categories)), 3.6))
    positions = np.arange(len(categories))
    for index, (name, values) in enumerate(series.items()):
        means = [mean for mean, _ in values]
        bars = axis.bar(positions + (index - (len(series) - 1) / 2) * width, means, width,
                        yerr=[std for _, std in values], capsize=3, label=name)
        axis.bar_label(bars, labels=[f"{m:.2f}" for m in means], padding=2, fontsize=8)
    if chance is not None:
        axis.axhline(chance, linestyle="--", color="black", linewidth=1, label="chance")
    axis.set_xticks(positions, categories)
    axis.set(ylabel=ylabel, title=title, ylim=(0, 1.05))
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], title: str = "") -> Figure:
    """A confusion matrix as a heat map with counts (rows: true class, columns: prediction)."""
    matrix = np.asarray(matrix)
    if matrix.shape != (len(class_names), len(class_names)):
        raise ValueError(f"matrix of shape {matrix.shape} does not fit {len(class_names)} class names")
    figure, axis = plt.subplots(figsize=(0.6 * len(class_names) + 2, 0.6 * len(class_names) + 1.5))
    axis.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        axis.text(col, row, str(count), ha="center", va="center",
                  color="white" if count > matrix.max() / 2 else "black", fontsize=9)
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names)
    axis.set_yticks(ticks, class_names)
    axis.set(xlabel="predicted", ylabel="true", title=title)
    figure.tight_layout()
    return figure


def plot_layer_curve(rows: Iterable[dict], title: str = "") -> Figure:
    """Accuracy against the number of layers copied from the source, one line per mode."""
    stats = summarize(rows, by=("mode", "n_layers"))
    if not stats:
        raise ValueError("no rows to plot")
    figure, axis = plt.subplots(figsize=(6, 3.6))
    for mode, color in (("frozen", "#ff7f0e"), ("fine-tuned", "#1f77b4")):
        ks = sorted(k for m, k in stats if m == mode)
        mean = np.array([stats[(mode, k)][0] for k in ks])
        spread = np.array([stats[(mode, k)][1] for k in ks])
        axis.plot(ks, mean, marker="o", color=color, label=f"copied layers {mode}")
        axis.fill_between(ks, mean - spread, mean + spread, color=color, alpha=0.2)
    axis.set(xlabel="layers copied from the source model (0 = from scratch)",
             ylabel="target test accuracy", title=title)
    axis.set_xticks(sorted({k for _, k in stats}))
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_lines(xs: Sequence[float], series: Mapping[str, Sequence[float]], *, xlabel: str,
               ylabel: str, title: str = "", marks: Mapping[str, float] | None = None) -> Figure:
    """Several curves over the same x values, with optional labelled vertical marks."""
    figure, axis = plt.subplots(figsize=(6, 3.6))
    for name, ys in series.items():
        if len(ys) != len(xs):
            raise ValueError(f"series {name!r} has {len(ys)} values for {len(xs)} x values")
        axis.plot(xs, ys, marker=".", label=name)
    for label, x in (marks or {}).items():
        axis.axvline(x, color="black", linestyle=":", linewidth=1)
        axis.text(x, axis.get_ylim()[1], f" {label}", va="top", fontsize=9)
    axis.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def show_spectrograms(
    spectrograms: np.ndarray,
    titles: Sequence[str],
    *,
    frame_seconds: float,
    columns: int = 4,
    size: float = 2.4,
) -> Figure:
    """A grid of (log-mel) spectrograms: time across, mel bins up, one title each.

    Parameters
    ----------
    spectrograms
        ``(n, frames, bins)``, as :func:`tutorial_lib.audio.log_mel_spectrogram` gives.
    titles
        One title per spectrogram.
    frame_seconds
        Time between two frames, to label the time axis in seconds.

    Raises
    ------
    ValueError
        If the array is not 3-D, is empty, or the titles do not match it.
    """
    spectrograms = np.asarray(spectrograms)
    if spectrograms.ndim != 3 or len(spectrograms) == 0:
        raise ValueError(f"spectrograms must have shape (n, frames, bins), got {spectrograms.shape}")
    if len(titles) != len(spectrograms):
        raise ValueError(f"got {len(titles)} titles for {len(spectrograms)} spectrograms")
    if not frame_seconds > 0:
        raise ValueError(f"frame_seconds must be positive, got {frame_seconds}")
    rows = -(-len(spectrograms) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 0.8),
                                squeeze=False, sharex=True, sharey=True)
    low, high = np.percentile(spectrograms, [1, 99])
    duration = spectrograms.shape[1] * frame_seconds
    for index, axis in enumerate(axes.flat):
        if index >= len(spectrograms):
            axis.axis("off")
            continue
        axis.imshow(spectrograms[index].T, origin="lower", aspect="auto", cmap="magma",
                    vmin=low, vmax=high, extent=(0, duration, 0, spectrograms.shape[2]))
        axis.set_title(str(titles[index]), fontsize=9)
    for axis in axes[-1]:
        axis.set_xlabel("time (s)")
    for axis in axes[:, 0]:
        axis.set_ylabel("mel bin")
    figure.tight_layout()
    return figure
