"""The package says what to install when a requirement is missing."""

import importlib.util

import pytest

import tutorial_lib


def test_all_requirements_are_found_here():
    tutorial_lib.check_requirements()


def test_a_missing_requirement_is_named_with_the_install_command():
    def find_spec(name):
        return None if name in ("tensorflow", "sklearn") else importlib.util.find_spec(name)

    with pytest.raises(ImportError, match=r"tensorflow, scikit-learn.*pip install -r requirements.txt"):
        tutorial_lib.check_requirements(find_spec)
