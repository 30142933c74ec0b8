import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tutorial_lib import plots  # noqa: E402


def test_show_images_grid():
    figure = plots.show_images(np.zeros((5, 8, 8, 1)), list("abcde"), columns=3)
    assert len(figure.axes) == 6 and figure.axes[0].get_title() == "a"
    with pytest.raises(ValueError, match="labels"):
        plots.show_images(np.zeros((2, 8, 8)), ["a"])


def test_learning_curves_panels():
    history = {"step": [1, 2], "loss": [1.0, 0.5], "val_accuracy": [0.5, 0.7]}
    assert len(plots.plot_learning_curves(history).axes) == 2
    with pytest.raises(ValueError, match="loss"):
        plots.plot_learning_curves({"step": [1]})


def test_accuracy_vs_labels_one_line_per_method():
    rows = [{"method": m, "labels_per_class": k, "seed": s, "accuracy": 0.5}
            for m in ("from scratch", "feature sharing") for k in (1, 5) for s in (0, 1)]
    axis = plots.plot_accuracy_vs_labels(rows, chance=0.2).axes[0]
    assert [line.get_label() for line in axis.get_lines()][:2] == ["from scratch", "feature sharing"]
    assert axis.get_xlabel() == "labelled target images per class"
    with pytest.raises(ValueError, match="no rows"):
        plots.plot_accuracy_vs_labels([])


def test_accuracy_vs_labels_bands_match_lines_and_ticks_are_the_label_counts():
    rows = [{"method": m, "labels_per_class": k, "seed": s, "accuracy": 0.4 + 0.1 * s}
            for m in ("similar source", "dissimilar source") for k in (5, 50) for s in (0, 1)]
    figure = plots.plot_accuracy_vs_labels(rows)
    axis = figure.axes[0]
    for line, band in zip(axis.get_lines(), axis.collections, strict=True):
        assert matplotlib.colors.same_color(line.get_color(), band.get_facecolor()[0][:3])
    figure.canvas.draw()
    labels = [tick.get_text() for tick in axis.get_xticklabels(which="both") if tick.get_text()]
    assert labels == ["5", "50"]


def test_bar_chart_heights():
    figure = plots.bar_chart({"a": 0.25, "b": 0.75}, {"a": 0.1, "b": 0.0})
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    assert heights == pytest.approx([0.25, 0.75])
    assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError):
        plots.bar_chart({})


def test_bar_chart_wraps_long_names_so_they_do_not_overlap():
    names = ["random VGG16 weights", "pretrained, divided by 255", "pretrained"]
    figure = plots.bar_chart(dict.fromkeys(names, 0.5))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [tick.get_window_extent(renderer) for tick in figure.axes[0].get_xticklabels()]
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:], strict=False))


def test_confusion_layer_and_line_plots():
    figure = plots.plot_confusion_matrix(np.array([[3, 1], [0, 4]]), ["a", "b"])
    assert [t.get_text() for t in figure.axes[0].texts] == ["3", "1", "0", "4"]
    with pytest.raises(ValueError, match="does not fit"):
        plots.plot_confusion_matrix(np.eye(3), ["a", "b"])
    rows = [{"n_layers": k, "mode": m, "seed": 0, "accuracy": 0.1 * k}
            for k in range(3) for m in ("frozen", "fine-tuned")]
    assert len(plots.plot_layer_curve(rows).axes[0].get_lines()) == 2
    lines = plots.plot_lines([0, 1], {"a": [1, 2], "b": [2, 1]}, xlabel="t", ylabel="loss")
    assert len(lines.axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match="values"):
        plots.plot_lines([0, 1], {"a": [1]}, xlabel="t", ylabel="loss")
    bars = plots.grouped_bars(["x", "y"], {"s": [(0.5, 0.1), (0.6, 0.0)]})
    assert [p.get_height() for p in bars.axes[0].patches] == pytest.approx([0.5, 0.6])


def test_show_spectrograms_titles_and_time_axis():
    figure = plots.show_spectrograms(np.zeros((3, 49, 32)), ["a", "b", "c"], frame_seconds=0.02, columns=2)
    assert [axis.get_title() for axis in figure.axes[:3]] == ["a", "b", "c"]
    assert figure.axes[0].get_images()[0].get_extent()[1] == pytest.approx(0.98)
    with pytest.raises(ValueError, match="titles"):
        plots.show_spectrograms(np.zeros((2, 4, 4)), ["a"], frame_seconds=0.02)
    with pytest.raises(ValueError, match="frames, bins"):
        plots.show_spectrograms(np.zeros((4, 4)), ["a"] * 4, frame_seconds=0.02)
