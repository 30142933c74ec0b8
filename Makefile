# Two commands do everything, on a fresh machine or an old one:
#   make book   execute the chapters and build the HTML book (_build/html/index.html)
#   make test   run the unit tests, the repository checks and every chapter under nbval, and
#               (when a book is built and Chromium is installed) open every page in a browser;
#               each chapter that passes is stored in the book's execution cache (conftest.py),
#               so a 'make book' after it does not execute the chapter again
# and three more:
#   make lab           open the chapters in JupyterLab
#   make book-student  the book without solutions, for students (_build/student/_build/html)
#   make test-browser  only the browser test of the built book (tests/test_browser.py)
# Both create .venv and install the pinned requirements first, but only when
# requirements.txt or pyproject.toml changed since the last install (no network needed after).

# Python 3.11 to 3.13: every pin in requirements.txt has wheels for them (the book is tested on 3.11).
SUPPORTED := 3.11 3.12 3.13
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do command -v $$p && break; done)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

VERSION_OF = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHON_VERSION := $(call VERSION_OF,$(PYTHON))
VENV_VERSION   := $(call VERSION_OF,$(BIN)/python)

# Jupyter Book's execution cache and Sphinx's environment key notebooks on their own text only;
# this key also covers the package and the pinned versions, so a change to tutorial_lib clears
# both and re-executes every chapter (the tutorial_lib cache of models and features is kept).
BOOK_KEY = $(shell cat tutorial_lib/*.py requirements.txt | sha256sum | cut -c1-16)

.PHONY: book book-student lab test test-browser lint timings clean .FORCE

# A .venv made by another Python (or whose Python is gone) is rebuilt, not reused.
ifneq ($(VENV_VERSION),$(PYTHON_VERSION))
$(STAMP): .FORCE
endif

$(STAMP): requirements.txt pyproject.toml
	@case " $(SUPPORTED) " in *" $(PYTHON_VERSION) "*) ;; *) \
		echo "error: this book needs Python $(SUPPORTED); '$(or $(PYTHON),python3)' is" \
			"$(or $(PYTHON_VERSION),not found). Install one of them and run, e.g., make PYTHON=python3.12" >&2; \
		exit 1;; esac
	@if [ -e $(VENV) ] && [ "$(VENV_VERSION)" != "$(PYTHON_VERSION)" ]; then \
		echo "$(VENV) was made by Python $(or $(VENV_VERSION),that is gone), not $(PYTHON_VERSION): rebuilding it"; \
		rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@# Python 3.12 and later make venvs without setuptools, which the editable install builds with.
	$(BIN)/python -c "import setuptools" 2>/dev/null || $(BIN)/python -m pip install --quiet --disable-pip-version-check "setuptools>=61"
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
	$(clear_stale_build)
	BOOK_KEY=$(BOOK_KEY) $(BIN)/python -m pytest tests book --nbval-lax --nbval-current-env --nbval-cell-timeout=300 -v -rs

test-browser: $(STAMP)
	BOOK_BROWSER_TEST=required $(BIN)/python -m pytest tests/test_browser.py -v

lint: $(STAMP)
	$(BIN)/ruff check tutorial_lib tests scripts book
	$(BIN)/nbstripout --keep-id --verify book/*.ipynb

timings: $(STAMP)
	$(BIN)/python scripts/time_chapters.py

clean:
	rm -rf _build
