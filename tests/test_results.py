import subprocess
import sys

import pytest

from tutorial_lib import results


def test_summarize_means_and_spreads():
    rows = [{"method": "a", "labels_per_class": 1, "accuracy": v} for v in (0.2, 0.4)]
    rows.append({"method": "b", "labels_per_class": 1, "accuracy": 0.9})
    stats = results.summarize(rows)
    assert stats[("a", 1)] == pytest.approx((0.3, 0.1, 2))
    assert stats[("b", 1)].mean == pytest.approx(0.9) and stats[("b", 1)].n == 1
    assert isinstance(stats[("a", 1)], results.Summary)
    with pytest.raises(ValueError, match="no field"):
        results.summarize([{"method": "a"}])


def test_summarize_groups_by_other_fields_in_order():
    rows = [{"mode": m, "n_layers": k, "accuracy": 0.1 * k} for k in (2, 1) for m in ("x", "y")]
    assert list(results.summarize(rows, by=("mode", "n_layers"))) == [("x", 2), ("y", 2), ("x", 1), ("y", 1)]


@pytest.mark.parametrize("module", ["tutorial_lib.plots", "tutorial_lib.results", "tutorial_lib.data"])
def test_figures_and_summaries_do_not_load_tensorflow(module):
    code = f"import sys, {module}; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.split() == ["False", "False"], output.stderr
