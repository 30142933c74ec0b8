import ast
from pathlib import Path

import numpy as np
import pytest

from tutorial_lib import checks

PACKAGE = Path(__file__).resolve().parent.parent / "tutorial_lib"


def test_check_int_accepts_integers_at_or_above_the_minimum():
    assert checks.check_int("steps", 3) == 3
    assert checks.check_int("steps", np.int64(1)) == 1 and type(checks.check_int("n", np.int64(1))) is int
    assert checks.check_int("seed", 0, minimum=0) == 0
    assert checks.check_int("offset", -5, minimum=None) == -5


@pytest.mark.parametrize("value, minimum, error, message", [
    (0, 1, ValueError, "steps must be at least 1, got 0"),
    (1, 2, ValueError, "at least 2"),
    (2.0, 1, TypeError, "steps must be an int, got float"),
    (True, 1, TypeError, "got bool"),
    ("3", 1, TypeError, "got str"),
])
def test_check_int_rejects_with_a_clear_message(value, minimum, error, message):
    with pytest.raises(error, match=message):
        checks.check_int("steps", value, minimum=minimum)


def test_no_module_imports_another_modules_private_names():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tutorial_lib"):
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                # ``module._name`` reaches into another module's privates just the same.
                if node.value.id in {"cache", "checks", "data", "images", "models", "objectives",
                                     "plots", "pretrained", "quiet", "repro", "results", "training",
                                     "transfer"} and node.attr.startswith("_"):
                    raise AssertionError(f"{path.name} uses {node.value.id}.{node.attr}")


def test_check_known_names_the_unknown_values_and_the_allowed_ones():
    checks.check_known("methods", ["a", "b", "a"], ("a", "b"))  # repeats are allowed
    checks.check_known("methods", [], ("a",))
    with pytest.raises(ValueError, match=r"unknown penalties \['l1'\]; choose from \['none', 'l2'\]"):
        checks.check_known("penalties", ["none", "l1"], ("none", "l2"))
