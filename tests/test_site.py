"""Checks of the built site beyond its pages: the files to run a chapter elsewhere, the launch
buttons, and the student edition (no solution text anywhere in it).

The checks of a built book are skipped with the reason when that book is not built, unless
``BOOK_STUDENT_TEST=required`` (CI, after ``make book-student``).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
STUDENT_HTML = Path(os.environ.get("BOOK_STUDENT_HTML", ROOT / "_build" / "student" / "_build" / "html"))
STUDENT_REQUIRED = os.environ.get("BOOK_STUDENT_TEST") == "required"
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _book_site():
    spec = importlib.util.spec_from_file_location("book_site", ROOT / "book" / "_ext" / "book_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


book_site = _book_site()


def _solutions() -> list[str]:
    """The text of every {solution} block in the chapters' Markdown."""
    blocks = []
    for notebook in NOTEBOOKS:
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                blocks += [m.group(0) for m in book_site.SOLUTION_BLOCK.finditer("".join(cell["source"]))]
    return blocks


def _text_outside_solutions() -> list[str]:
    """The chapters' Markdown with the {solution} blocks cut out."""
    return [book_site.without_solutions("".join(cell["source"]))
            for notebook in NOTEBOOKS for cell in json.loads(notebook.read_text())["cells"]
            if cell["cell_type"] == "markdown"]


def _plain_phrases(block: str) -> list[str]:
    """Phrases of a solution that appear verbatim in the HTML: prose lines without markup."""
    phrases = []
    for line in block.splitlines()[1:]:
        line = line.strip()
        if len(line) < 30 or line.startswith((":", "`", "$", "-", "#", "|")):
            continue
        words = re.split(r"[`$*_\[\]{}()'\"\\<>&:|]", line)
        longest = max(words, key=len).strip()
        if len(longest) >= 25:
            phrases.append(re.sub(r"\s+", " ", longest))
    return phrases


def _site_text(html_root: Path) -> str:
    texts = []
    for path in html_root.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js", ".ipynb", ".txt", ".md"} \
                and "_static" not in path.parts:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return re.sub(r"\s+", " ", "\n".join(texts))


def test_solution_blocks_are_found_and_cut_out():
    blocks = _solutions()
    assert len(blocks) >= 3 * len(NOTEBOOKS)
    assert all(_plain_phrases(block) or "```" in block for block in blocks)
    markdown = ("Before.\n\n````{solution} ex-1\n:class: dropdown\n\n```python\nx = 1\n```\nAnswer.\n"
                "````\n\nAfter.\n")
    assert book_site.without_solutions(markdown).split() == ["Before.", "After."]
    assert book_site.without_solutions(":::{solution} ex-2\nAnswer.\n:::\nAfter.\n") == "After.\n"


GLUED = re.compile(r"\{glue:\w+\}`(\w+)")
GLUE_CALL = re.compile(r"glue\(\s*f?[\"']([^\"']+)[\"']")


def _code_cells(notebook: Path) -> list[dict]:
    return [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


def _is_solution(cell: dict) -> bool:
    return book_site.SOLUTION_TAG in cell["metadata"].get("tags", [])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_that_compute_only_solutions_are_tagged(notebook):
    """A code cell whose glued values are quoted only inside {solution} blocks is tagged
    ``solution`` (the student edition leaves it out), and is hidden from the page."""
    markdown = ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
                if c["cell_type"] == "markdown"]
    in_solutions = {name for text in markdown for block in book_site.SOLUTION_BLOCK.finditer(text)
                    for name in GLUED.findall(block.group(0))}
    outside = {name for text in markdown for name in GLUED.findall(book_site.without_solutions(text))}
    untagged = []
    for cell in _code_cells(notebook):
        source = "".join(cell["source"])
        patterns = [re.compile("^" + re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(name)) + "$")
                    for name in GLUE_CALL.findall(source)]
        glued = {name for name in in_solutions | outside if any(p.match(name) for p in patterns)}
        if _is_solution(cell):
            assert "remove-cell" in cell["metadata"].get("tags", []), source[:80]
        elif glued and glued <= in_solutions - outside:
            untagged.append(source[:80])
    assert not untagged, f"cells computing only solutions, not tagged 'solution': {untagged}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_its_solution_cells(notebook):
    """No later cell reads a name that only a ``solution`` cell defines, so the student edition's
    notebook (which leaves them out) still runs."""
    only_in_solutions: set[str] = set()
    for cell in _code_cells(notebook):
        tree = ast.parse("".join(line for line in cell["source"] if not line.startswith(("%", "!"))))
        stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        stored |= {alias.asname or alias.name.split(".")[0] for n in ast.walk(tree)
                   if isinstance(n, (ast.Import, ast.ImportFrom)) for alias in n.names}
        stored |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        if _is_solution(cell):
            only_in_solutions |= stored
            continue
        read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert not (read - stored) & only_in_solutions, "".join(cell["source"])[:80]
        only_in_solutions -= stored


def test_student_cells_leave_out_solutions():
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["Q.\n", ":::{solution} ex\nA.\n:::\n"]},
             {"cell_type": "code", "metadata": {"tags": ["remove-cell", "solution"]}, "source": "x = 1"},
             {"cell_type": "code", "metadata": {}, "source": "y = 2"}]
    kept = book_site.student_cells(cells)
    assert [c["source"] for c in kept] == ["Q.\n", "y = 2"]
    assert cells[0]["source"][1].startswith(":::{solution}")  # the cells passed in are unchanged


def _need(html_root: Path) -> None:
    if not (html_root / "index.html").exists():
        message = f"no built book at {html_root}"
        if STUDENT_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)


def test_teacher_build_has_the_solutions():
    _need(HTML)
    text = _site_text(HTML)
    phrases = [p for block in _solutions() for p in _plain_phrases(block)]
    assert phrases
    missing = [p for p in phrases if p not in text]
    assert len(missing) < len(phrases) / 4, missing  # the phrases are found where solutions are


def test_student_edition_has_no_solution_text():
    _need(STUDENT_HTML)
    text = _site_text(STUDENT_HTML)
    assert "student edition" in text
    assert 'class="solution' not in text and "Solution to" not in text
    outside = re.sub(r"\s+", " ", " ".join(_text_outside_solutions()))  # e.g. a statement quoted
    found = [p for block in _solutions() for p in _plain_phrases(block) if p in text and p not in outside]
    assert not found, f"solution text in the student edition: {found[:5]}"
    for notebook in STUDENT_HTML.rglob("*.ipynb"):
        content = json.loads(notebook.read_text(encoding="utf-8"))
        assert "{solution}" not in json.dumps(content), notebook.name
        assert not any(_is_solution(c) for c in content["cells"] if c["cell_type"] == "code"), notebook.name


def test_run_files_ship_next_to_the_pages():
    _need(HTML)
    wheel = HTML / book_site.wheel_name()
    assert wheel.stat().st_size > 10_000
    assert (HTML / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()
    from bs4 import BeautifulSoup

    page = (HTML / "book" / "run-locally.html").read_text(encoding="utf-8")
    assert f'href="../{book_site.wheel_name()}"' in page and 'href="../requirements.txt"' in page
    text = re.sub(r"\s+", " ", BeautifulSoup(page, "html.parser").get_text())
    assert f"pip install -r requirements.txt {book_site.wheel_name()}" in text
    notebook = json.loads((HTML / "_sources" / "book" / f"{NOTEBOOKS[0].stem}.ipynb").read_text())
    assert book_site.wheel_name() in "".join(notebook["cells"][0]["source"])


def test_the_run_page_names_the_wheel_this_version_builds():
    page = (ROOT / "book" / "run-locally.md").read_text(encoding="utf-8")
    names = set(re.findall(r"tutorial_lib-[\w.]+-py3-none-any\.whl", page))
    assert names == {book_site.wheel_name()}


def test_launch_buttons_appear_with_a_repository_url(tmp_path):
    """A cheap build (one chapter, nothing executed) with a sample repository URL has Binder and
    Colab buttons; the book's own configuration, without a URL, has none."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert not config["repository"]["url"]
    config["repository"]["url"] = "https://github.com/example-org/transfer-learning-book"
    config["execute"]["execute_notebooks"] = "off"
    config["sphinx"]["local_extensions"] = {"book_site": str(ROOT / "book" / "_ext")}
    config["only_build_toc_files"] = True
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    chapter = NOTEBOOKS[0].stem
    toc = {"format": "jb-book", "root": "book/index", "chapters": [{"file": f"book/{chapter}"}]}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run([str(jupyter_book), "build", str(ROOT), "--config", str(tmp_path / "_config.yml"),
                    "--toc", str(tmp_path / "_toc.yml"), "--path-output", str(tmp_path), "--quiet"],
                   check=True, capture_output=True, cwd=ROOT)
    page = (tmp_path / "_build" / "html" / "book" / f"{chapter}.html").read_text(encoding="utf-8")
    assert "https://mybinder.org/v2/gh/example-org/transfer-learning-book/main?urlpath=lab/tree/" \
           f"book/{chapter}.ipynb" in page
    assert "https://colab.research.google.com/github/example-org/transfer-learning-book/blob/main/" \
           f"book/{chapter}.ipynb" in page
    if (HTML / "book" / f"{chapter}.html").exists():
        built = (HTML / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        assert "mybinder.org" not in built and "colab.research.google.com/github" not in built


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_chapter_run_under_nbval_is_stored_for_the_book_build(tmp_path):
    """The outputs nbval received become a cached execution that Jupyter Book's cache matches."""
    import nbformat
    from jupyter_cache import get_cache

    plugin = _root_conftest()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A chapter"), nbformat.v4.new_code_cell("print(1)"),
        nbformat.v4.new_code_cell("2"), nbformat.v4.new_code_cell("3;  # no value shown")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    outputs = {0: [nbformat.v4.new_output("stream", name="stdout", text="1\n")],
               1: [nbformat.v4.new_output("execute_result", data={"text/plain": "2"})],
               2: [nbformat.v4.new_output("execute_result", data={"text/plain": "3"})]}
    assert plugin.executed_notebook(notebook, {0: outputs[0]}) is None  # a cell not run
    executed = plugin.executed_notebook(notebook, outputs)
    nbformat.validate(executed)
    assert notebook.cells[1].outputs == []  # the notebook passed in is unchanged
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"] == [1, 2, 3]
    assert executed.cells[3].outputs == []  # a final ';' hides the value, as in a notebook
    plugin.store_in_book_cache(executed, tmp_path / "chapter.ipynb", 1.5, cache=tmp_path / "cache")
    cache = get_cache(tmp_path / "cache")
    record = cache.match_cache_notebook(notebook)  # what the book build looks up
    assert record.data["execution_seconds"] == 1.5
    _, merged = cache.merge_match_into_notebook(notebook)
    assert merged.cells[1].outputs[0]["text"] == "1\n"
    assert merged.cells[2].outputs[0]["data"]["text/plain"] == "2"
    changed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(3)")],
                                       metadata=notebook.metadata)
    with pytest.raises(KeyError):
        cache.match_cache_notebook(changed)  # other code: executed again by the build
