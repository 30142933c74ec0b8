"""A chapter that runs to the end under nbval is handed to the book build, so it runs once.

``make test`` executes every chapter under nbval (``--nbval-lax``: every cell must run without
an error, except the cells tagged ``raises-exception``). When all of a chapter's code cells have
passed, this plugin stores the notebook with the outputs nbval received from the kernel in Jupyter
Book's execution cache (``_build/.jupyter_cache``), exactly as Jupyter Book stores a notebook it
has executed itself. ``make book`` then finds the chapter there and does not execute it again.

The Makefile passes ``BOOK_KEY`` (a hash of ``tutorial_lib`` and the pinned requirements) and
clears the execution cache when the key changes, so a stored chapter always ran with the current
package and pins. Without ``BOOK_KEY`` (``pytest`` run by hand) nothing is stored.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
BOOK = ROOT / "book"
CACHE = ROOT / "_build" / ".jupyter_cache"

# For each chapter: the nbval file item and, per code cell number, the outputs of a passed run.
_files: dict[Path, pytest.Item] = {}
_outputs: dict[Path, dict[int, list]] = {}
_started: dict[Path, float] = {}


def executed_notebook(notebook, outputs: dict[int, list]):
    """A copy of ``notebook`` (nbformat) with ``outputs[i]`` as the outputs of its i-th code cell,
    or None unless every code cell has outputs from a passed run."""
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if set(outputs) != set(range(len(code_cells))):
        return None
    from IPython.core.displayhook import DisplayHook

    executed = copy.deepcopy(notebook)
    count = 0
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.outputs = outputs[count]
            count += 1
            # nbval runs cells with store_history=False, so IPython cannot see a final ';' and
            # shows the value anyway; drop it, as a notebook front end would not show it.
            if DisplayHook.semicolon_at_end_of_expression(cell.source):
                cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
            cell.execution_count = count
            for output in cell.outputs:
                if output.get("output_type") == "execute_result":
                    output["execution_count"] = count
    return executed


def store_in_book_cache(notebook, path: Path, seconds: float, cache: Path = CACHE) -> None:
    """Store an executed notebook in Jupyter Book's execution cache, as Jupyter Book does."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    get_cache(cache).cache_notebook_bundle(
        CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds}),
        check_validity=False, overwrite=True)


def _chapter(item: pytest.Item) -> Path | None:
    path = Path(str(item.path))
    return path if path.suffix == ".ipynb" and path.parent == BOOK else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    path = _chapter(item)
    if path is None or not os.environ.get("BOOK_KEY"):
        return
    report = outcome.get_result()
    _files.setdefault(path, item.parent)
    _started.setdefault(path, time.perf_counter())
    if report.when == "call" and report.passed:
        _outputs.setdefault(path, {})[item.cell_num] = list(item.test_outputs or [])


def pytest_sessionfinish(session: pytest.Session) -> None:
    for path, outputs in _outputs.items():
        executed = executed_notebook(_files[path].nb, outputs)
        if executed is not None:
            store_in_book_cache(executed, path, time.perf_counter() - _started[path])
