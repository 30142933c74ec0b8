"""Sphinx extension for the book's web pages (loaded through ``_config.yml``).

It fixes what the pinned theme stack gets wrong and ships what a reader needs to run a chapter:

- sphinx-book-theme 1.3.0 on pydata-sphinx-theme 0.17 draws pydata's own top header too: a second,
  hidden pair of sidebar toggles that the theme's script binds to (so the visible toggles do
  nothing, upstream sphinx-book-theme issue #999) and a duplicate search bar. An empty
  ``navbar_persistent`` tells pydata-sphinx-theme not to draw that header at all.
- ``default_mode`` for the colour theme, which is otherwise empty ("Got invalid theme mode").
- Each inline script registered by an extension (thebe's set-up) is written once, not twice;
  with thebe off, thebe's scripts and their CDN address are left out.
- Launch buttons (Binder, Colab) only when ``repository.url`` in ``_config.yml`` names the book's
  own repository (Jupyter Book otherwise points them at its own repository).
- The book's style sheet and templates from ``book/_static`` and ``book/_templates``.
- The bibliography's entries get ``role="listitem"`` (docutils writes ``doc-biblioentry``, a role
  that screen readers and axe-core do not accept inside its ``role="list"``).
- Files to run a chapter elsewhere, next to the pages: the ``tutorial_lib`` wheel and the pinned
  ``requirements.txt``; every downloadable chapter notebook starts with a cell saying what to
  install.
- The student edition (``BOOK_EDITION=student``, ``make book-student``): sphinx-exercise's
  ``hide_solutions`` leaves the solutions out of the pages, the solutions are cut out of the
  downloadable notebooks too, and the executed chapters come from the teacher build's cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
BOOK_FOLDER = ROOT / "book"
JUPYTER_BOOK_DEFAULT_REPOSITORY = "https://github.com/executablebooks/jupyter-book"
LAUNCH_KEYS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url")
STUDENT = os.environ.get("BOOK_EDITION", "teacher") == "student"
# A {solution} directive in a Markdown cell, fenced with ``` or ::: (any length, matched on close).
SOLUTION_BLOCK = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution\}.*?^(?P=fence)[ \t]*\n?",
                            re.MULTILINE | re.DOTALL)


def without_solutions(markdown: str) -> str:
    """Markdown with every ``{solution}`` block cut out."""
    return SOLUTION_BLOCK.sub("", markdown)


def wheel_name() -> str:
    """The file name of the ``tutorial_lib`` wheel the build ships next to the pages."""
    match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]",
                      (ROOT / "tutorial_lib" / "__init__.py").read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        raise ValueError("tutorial_lib/__init__.py has no __version__ line")
    return f"tutorial_lib-{match.group(1)}-py3-none-any.whl"


def _configure(app: Sphinx, config) -> None:
    theme_options = config.html_theme_options
    theme_options.setdefault("navbar_persistent", [])
    config.html_context.setdefault("default_mode", "light")
    config.templates_path.append(str(BOOK_FOLDER / "_templates"))
    config.html_static_path.append(str(BOOK_FOLDER / "_static"))
    config.myst_substitutions.setdefault("wheel", wheel_name())
    if STUDENT:
        config.hide_solutions = True
        config.html_title = f"{config.html_title} (student edition)"
        config.nb_execution_cache_path = str(ROOT / "_build" / ".jupyter_cache")

    repository = (theme_options.get("repository_url") or "").rstrip("/")
    launch = theme_options.get("launch_buttons") or {}
    if not repository or repository == JUPYTER_BOOK_DEFAULT_REPOSITORY:
        for key in LAUNCH_KEYS:
            launch[key] = ""
        launch["thebe"] = False


def _thebe_is_on(app: Sphinx) -> bool:
    return bool((app.config.html_theme_options.get("launch_buttons") or {}).get("thebe"))


def _clean_assets(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Write each script once; leave thebe's out when it is not used."""
    thebe = _thebe_is_on(app)
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", script) or ""
        attributes = getattr(script, "attributes", {})
        key = (filename, tuple(sorted(attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        is_thebe = "THEBE_JS_URL" in attributes.get("body", "") or filename.endswith("sphinx-thebe.js")
        if is_thebe and not thebe:
            continue
        scripts.append(script)
    context["script_files"] = scripts
    if not thebe:
        context["css_files"] = [css for css in context.get("css_files", [])
                                if not str(getattr(css, "filename", css)).endswith("sphinx-thebe.css")]


def _build_wheel(folder: Path) -> Path:
    """Build the ``tutorial_lib`` wheel from a clean copy of the package (no network)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        shutil.copy2(ROOT / "pyproject.toml", source)
        shutil.copy2(ROOT / "README.md", source)
        shutil.copytree(ROOT / "tutorial_lib", source / "tutorial_lib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--disable-pip-version-check", "--quiet", str(source), "-w", str(folder)],
                       check=True)
    wheel = folder / wheel_name()
    if not wheel.exists():
        raise FileNotFoundError(f"building the wheel did not give {wheel}")
    return wheel


def _install_line() -> str:
    return f"pip install -r requirements.txt {wheel_name()}"


def _first_cell() -> dict:
    text = (f"**To run this notebook** on your own machine or a hosted notebook service, install the "
            f"book's package and its pinned requirements first: download `{wheel_name()}` and "
            f"`requirements.txt` from the book's web site (the page *Run a chapter on your own "
            f"machine or a hosted notebook* has the exact commands), then `{_install_line()}`.")
    return {"cell_type": "markdown", "id": "run-this-notebook", "metadata": {}, "source": text}


def _ship_run_files(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    # Sphinx does not always copy (or update) this file on an incremental build: copy it here.
    shutil.copy2(BOOK_FOLDER / "_static" / "book-site.css", outdir / "_static" / "book-site.css")
    _build_wheel(outdir)
    shutil.copy2(ROOT / "requirements.txt", outdir / "requirements.txt")
    for notebook in (outdir / "_sources").rglob("*.ipynb"):
        content = json.loads(notebook.read_text(encoding="utf-8"))
        cells = content.get("cells", [])
        if cells and cells[0].get("id") == "run-this-notebook":
            continue
        if STUDENT:
            for cell in cells:
                if cell.get("cell_type") == "markdown":
                    cell["source"] = without_solutions("".join(cell["source"]))
        content["cells"] = [_first_cell(), *cells]
        notebook.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for page in outdir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if 'role="doc-biblioentry"' in html:
            page.write_text(html.replace('role="doc-biblioentry"', 'role="listitem"'), encoding="utf-8")
    LOGGER.info(f"book_site: {wheel_name()} and requirements.txt written next to the pages")


def setup(app: Sphinx) -> dict:
    app.add_css_file("book-site.css")
    app.connect("config-inited", _configure, priority=900)
    app.connect("html-page-context", _clean_assets, priority=900)
    app.connect("build-finished", _ship_run_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
