"""Keep TensorFlow's start-up lines out of the reader's notebook.

While its C++ libraries load, TensorFlow writes lines such as ``WARNING: All log messages
before absl::InitializeLog() is called are written to STDERR`` and ``Could not find cuda
drivers`` straight to the process's standard error, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; a
Jupyter kernel forwards them into the first cell that imports Keras. :func:`quiet_tensorflow_import`
(called when ``tutorial_lib`` is imported) hooks Python's import system so that the first
``import tensorflow``, direct or through ``import keras``, runs with the process's standard
error sent to a temporary file. If the import fails, what was written there is shown with the
error; otherwise it is dropped. Later messages follow ``TF_CPP_MIN_LOG_LEVEL`` (``"3"`` by
default here); set it to ``"0"`` before importing ``tutorial_lib`` to see everything.

Import ``tutorial_lib`` before ``keras`` or ``tensorflow``: once TensorFlow is loaded, its
start-up lines have already been written.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

NOISY_MODULE = "tensorflow"


@contextlib.contextmanager
def stderr_to_file() -> Iterator[None]:
    """Send the process's standard error (file descriptor 2) to a temporary file meanwhile.

    What C libraries write there is shown (on ``sys.stderr``) only if the block raises.
    """
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        with stderr_to_file():
            self._loader.exec_module(module)

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != NOISY_MODULE:
            return None
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _QuietFinder)]
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_import() -> bool:
    """Make the first import of TensorFlow keep its start-up lines off standard error.

    Returns
    -------
    bool
        Whether the hook is in place: ``False`` if TensorFlow is already imported (too late)
        or ``TF_CPP_MIN_LOG_LEVEL`` asks for TensorFlow's messages (below ``"3"``).
    """
    if NOISY_MODULE in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") != "3":
        return False
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
    return True
