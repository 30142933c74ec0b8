"""Checks of the book's own habits: stripped notebooks, every chapter in the table of contents,
the chapter skeleton, and clean lint."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _cells(notebook):
    return json.loads(notebook.read_text())["cells"]


def _markdown(notebook):
    return "\n".join("".join(c["source"]) for c in _cells(notebook) if c["cell_type"] == "markdown")


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped(notebook):
    for cell in _cells(notebook):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, notebook.name


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_in_the_toc_and_imports_the_package(notebook):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {chapter["file"] for part in toc["parts"] for chapter in part["chapters"]}
    assert f"book/{notebook.stem}" in files
    code = "\n".join("".join(c["source"]) for c in _cells(notebook) if c["cell_type"] == "code")
    assert "from tutorial_lib import" in code
    assert "pip install" not in code


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_skeleton(notebook):
    text = _markdown(notebook)
    assert "Learning objectives" in text
    assert "## Summary" in text
    exercises = re.findall(r"\{exercise\}", text)
    solutions = re.findall(r"\{solution\}[^\n]*\n:class: dropdown", text)
    assert len(exercises) >= 3 and len(solutions) == len(exercises), notebook.name
    assert "{glue:text}" in text


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_stay_short(notebook):
    for cell in _cells(notebook):
        if cell["cell_type"] == "code":
            assert len("".join(cell["source"]).splitlines()) <= 25, notebook.name


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "tutorial_lib", "tests", "scripts", "book"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
