"""Chapters that the book build has already executed are not executed again under nbval.

``make book`` executes every chapter through Jupyter Book's execution cache
(``_build/.jupyter_cache``), with warnings as errors: a cell that raises (other than the cells
tagged ``raises-exception``) fails the build, and only chapters that ran to the end are cached.
The Makefile clears that cache whenever ``tutorial_lib`` or the pinned requirements change and
passes the key it used as ``BOOK_KEY``. When a chapter's code matches a cached execution made with
the same key, running it again under nbval would repeat the same check, so its cells are skipped
with the reason. ``make test`` without a current book build (or ``BOOK_REUSE=0``) executes every
chapter.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "_build"


def executed_by_book_build(notebook: Path, book_key: str | None = None,
                           build: Path = BUILD) -> bool:
    """Whether the book build in ``build`` has executed ``notebook``'s current code without error,
    with the package and requirements that ``book_key`` stands for."""
    book_key = os.environ.get("BOOK_KEY") if book_key is None else book_key
    key_file, cache_folder = build / ".book-key", build / ".jupyter_cache"
    if not book_key or not key_file.exists() or not cache_folder.exists():
        return False
    if key_file.read_text().strip() != book_key:
        return False
    import nbformat
    from jupyter_cache import get_cache

    try:
        get_cache(cache_folder).match_cache_notebook(nbformat.read(notebook, as_version=4))
    except KeyError:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("BOOK_REUSE", "1") == "0":
        return
    verdicts: dict[Path, bool] = {}
    for item in items:
        path = Path(str(item.path))
        if path.suffix != ".ipynb" or path.parent != ROOT / "book":
            continue
        if path not in verdicts:
            verdicts[path] = executed_by_book_build(path)
        if verdicts[path]:
            item.add_marker(pytest.mark.skip(
                reason="executed without error by the book build with this code and package "
                       "(_build/.jupyter_cache); BOOK_REUSE=0 runs it again"))
