"""An on-disk cache for trained models and computed arrays, keyed by a hash of their recipe.

Chapters share one trained source model and one set of VGG16 features instead of recomputing
them. Each entry is a data file plus a small JSON file holding the recipe and the data file's
SHA-256; an entry whose file is missing, truncated or altered is rebuilt, never used.

The folder is ``$TUTORIAL_LIB_CACHE`` if set, else ``$XDG_CACHE_HOME/tutorial_lib``, else
``~/.cache/tutorial_lib``. Deleting it is always safe.

Taught in: *What is transfer learning?*
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

ENV_VAR = "TUTORIAL_LIB_CACHE"


def cache_dir() -> Path:
    """The cache folder (created if missing); see the module docstring for how it is chosen."""
    if os.environ.get(ENV_VAR):
        folder = Path(os.environ[ENV_VAR])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = Path(base) / "tutorial_lib"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def recipe_hash(recipe: Mapping[str, Any]) -> str:
    """A short, stable hash of a JSON-serialisable recipe (key order does not matter).

    Raises
    ------
    TypeError
        If the recipe holds something JSON cannot represent.
    """
    if not isinstance(recipe, Mapping):
        raise TypeError(f"recipe must be a mapping, got {type(recipe).__name__}")
    try:
        text = json.dumps(recipe, sort_keys=True)
    except TypeError as error:
        raise TypeError(f"recipe must be JSON-serialisable: {error}") from error
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _paths(kind: str, recipe: Mapping[str, Any], suffix: str) -> tuple[Path, Path]:
    stem = cache_dir() / f"{kind}-{recipe_hash(recipe)}"
    return stem.with_name(stem.name + suffix), stem.with_name(stem.name + ".json")


def _valid(data_path: Path, meta_path: Path, recipe: Mapping[str, Any]) -> dict | None:
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("recipe") != json.loads(json.dumps(recipe)):
        return None
    if not data_path.exists() or file_sha256(data_path) != meta.get("sha256"):
        return None
    return meta


def _atomic_write_json(path: Path, content: Mapping[str, Any]) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(content, handle, indent=1, sort_keys=True)
    os.replace(handle.name, path)


def cached(
    kind: str,
    recipe: Mapping[str, Any],
    build: Callable[[Path], Mapping[str, Any] | None],
    load: Callable[[Path], Any],
    suffix: str,
) -> tuple[Any, dict]:
    """Load an entry from the cache, building (or rebuilding) it when needed.

    Parameters
    ----------
    kind
        A short name that starts the file names (``"source-model"``, ``"vgg16-features"``).
    recipe
        Everything the result depends on; its hash is the entry's key.
    build
        Writes the data file at the path it is given; may return extra JSON-serialisable
        information (a training history, say) to keep beside it.
    load
        Reads the data file.
    suffix
        The data file's ending, e.g. ``".weights.h5"`` or ``".npz"``.

    Returns
    -------
    (value, meta)
        What ``load`` returned, and the entry's metadata (``recipe``, ``sha256``, ``extra``,
        ``rebuilt``: whether this call built it).
    """
    data_path, meta_path = _paths(kind, recipe, suffix)
    meta = _valid(data_path, meta_path, recipe)
    if meta is not None:
        try:
            return load(data_path), {**meta, "rebuilt": False}
        except Exception as error:  # an unreadable file is rebuilt, not trusted
            warnings.warn(f"cache entry {data_path.name} could not be read ({error}); rebuilding",
                          stacklevel=2)
    elif data_path.exists() or meta_path.exists():
        warnings.warn(f"cache entry {data_path.name} is stale or corrupt; rebuilding", stacklevel=2)

    temporary = data_path.with_name(f".{data_path.stem}-{os.getpid()}{suffix}")
    extra = build(temporary)
    os.replace(temporary, data_path)
    meta = {"recipe": json.loads(json.dumps(recipe)), "sha256": file_sha256(data_path),
            "extra": dict(extra or {})}
    _atomic_write_json(meta_path, meta)
    return load(data_path), {**meta, "rebuilt": True}


def cached_arrays(
    kind: str, recipe: Mapping[str, Any], compute: Callable[[], Mapping[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Cache a dictionary of NumPy arrays (stored as ``.npz``) under ``recipe``."""

    def build(path: Path) -> None:
        arrays = compute()
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    def load(path: Path) -> dict[str, np.ndarray]:
        with np.load(path) as archive:
            return {name: archive[name] for name in archive.files}

    value, _ = cached(kind, recipe, build, load, ".npz")
    return value
