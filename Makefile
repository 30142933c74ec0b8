# Two commands do everything, on a fresh machine or an old one:
#   make book   execute the chapters and build the HTML book (_build/html/index.html)
#   make test   run the unit tests, the repository checks and every chapter under nbval, and
#               (when a book is built and Chromium is installed) open every page in a browser
# and three more:
#   make lab           open the chapters in JupyterLab
#   make book-student  the book without solutions, for students (_build/student/_build/html)
#   make test-browser  only the browser test of the built book (tests/test_browser.py)
# Both create .venv and install the pinned requirements first, but only when
# requirements.txt or pyproject.toml changed since the last install (no network needed after).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

# Jupyter Book's execution cache and Sphinx's environment key notebooks on their own text only;
# this key also covers the package and the pinned versions, so a change to tutorial_lib clears
# both and re-executes every chapter (the tutorial_lib cache of models and features is kept).
BOOK_KEY = $(shell cat tutorial_lib/*.py requirements.txt | sha256sum | cut -c1-16)

.PHONY: book book-student lab test test-browser lint timings clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	touch $(STAMP)

define clear_stale_build
	@mkdir -p _build
	@if [ "$$(cat _build/.book-key 2>/dev/null)" != "$(BOOK_KEY)" ]; then \
		rm -rf _build/.jupyter_cache _build/.doctrees _build/jupyter_execute _build/html _build/student; \
		echo "$(BOOK_KEY)" > _build/.book-key; fi
endef

book: $(STAMP)
	$(clear_stale_build)
	$(BIN)/jupyter-book build . -n -W --keep-going
	@echo "Open _build/html/index.html in a browser."

# Same chapters, same execution cache (nothing is run again after 'make book'), solutions left
# out (sphinx-exercise's hide_solutions, set by book/_ext/book_site.py), in a folder of its own.
book-student: $(STAMP)
	$(clear_stale_build)
	BOOK_EDITION=student $(BIN)/jupyter-book build . -n -W --keep-going --path-output _build/student
	@echo "Student edition: _build/student/_build/html/index.html"

# (--allow-root only when run as root, e.g. in a container)
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=book $(if $(filter 0,$(shell id -u)),--allow-root)

# -rs lists why a test was skipped (the browser test without a built book or without Chromium).
test: $(STAMP)
	$(BIN)/python -m pytest tests book --nbval-lax --nbval-current-env --nbval-cell-timeout=300 -v -rs

test-browser: $(STAMP)
	BOOK_BROWSER_TEST=required $(BIN)/python -m pytest tests/test_browser.py -v

lint: $(STAMP)
	$(BIN)/ruff check tutorial_lib tests scripts book
	$(BIN)/nbstripout --keep-id --verify book/*.ipynb

timings: $(STAMP)
	$(BIN)/python scripts/time_chapters.py

clean:
	rm -rf _build
