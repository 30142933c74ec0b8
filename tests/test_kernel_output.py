"""Readers run the chapters in a Jupyter kernel, which forwards everything the process writes to
its standard error into the cell. These tests start kernels the way Jupyter does and check that
no cell shows anything on stderr (TensorFlow's start-up lines, warnings)."""

import ast
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
FULL_CHAPTER = ROOT / "book" / "what-is-transfer-learning.ipynb"

# One training step and a prediction: TensorFlow's first ops, after the chapter's imports.
FIRST_OPS = """\
import numpy as np
from tutorial_lib import models, training
model = models.small_cnn(2)
training.train(model, np.zeros((4, 24, 24, 1)), np.array([0, 1, 0, 1]), steps=1)
training.accuracy(model, np.zeros((4, 24, 24, 1)), np.array([0, 1, 0, 1]))
"""


def _code_cells(notebook):
    return [cell for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]


def _stderr(cells, cwd):
    notebook = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute(cwd=str(cwd))
    return ["".join(output.get("text", "")) for cell in notebook.cells for output in cell.outputs
            if output.get("name") == "stderr"]


def _imported_modules(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield (node.module or "").split(".")[0]


def _imported_modules_of_first_cell(notebook):
    return set(_imported_modules(_code_cells(notebook)[0].source))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_tutorial_lib_is_imported_before_tensorflow(notebook):
    imported = [name for cell in _code_cells(notebook) for name in _imported_modules(cell.source)
                if name in ("tutorial_lib", "keras", "tensorflow")]
    assert imported and imported[0] == "tutorial_lib", f"{notebook.name} imports {imported}"


# Chapters that import keras themselves (after tutorial_lib); the others are like FULL_CHAPTER.
KERAS_CHAPTERS = [notebook for notebook in NOTEBOOKS
                  if "keras" in _imported_modules_of_first_cell(notebook)]


@pytest.mark.parametrize("notebook", KERAS_CHAPTERS, ids=lambda p: p.stem)
def test_chapter_start_writes_nothing_to_stderr_in_a_fresh_kernel(notebook):
    cells = [nbformat.v4.new_code_cell(_code_cells(notebook)[0].source),
             nbformat.v4.new_code_cell(FIRST_OPS)]
    assert _stderr(cells, notebook.parent) == []


def test_a_whole_chapter_writes_nothing_to_stderr_in_a_fresh_kernel():
    assert _stderr(_code_cells(FULL_CHAPTER), FULL_CHAPTER.parent) == []
