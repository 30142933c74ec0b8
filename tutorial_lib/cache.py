"""An on-disk cache for trained models and computed arrays, keyed by a hash of their recipe.

A recipe holds the arguments of a computation and :func:`code_hash` of the code that runs it,
so a change to that code (a training loop, a model, a data generator) makes a new entry instead
of silently reusing an old one; no version string is bumped by hand.

Chapters share one trained source model and one set of VGG16 features instead of recomputing
them. Each entry is a data file plus a small JSON file holding the recipe and the data file's
SHA-256; an entry whose file is missing, truncated or altered is rebuilt, never used.

The folder is ``$TUTORIAL_LIB_CACHE`` if set, else ``$XDG_CACHE_HOME/tutorial_lib``, else
``~/.cache/tutorial_lib``. Deleting it is always safe.

Taught in: *What is transfer learning?*
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import types
import warnings
from collections.abc import Callable, Iterator, Mapping
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
    """SHA-256 of a file (read in chunks by :func:`hashlib.file_digest`)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


_CONSTANT_TYPES = (int, float, str, bytes, bool, tuple, frozenset)


def _is_constant(value: object) -> bool:
    """Plain data whose ``repr`` is its content (not a tuple holding functions, say)."""
    if isinstance(value, (tuple, frozenset)):
        return all(_is_constant(item) for item in value)
    return isinstance(value, (int, float, str, bytes, bool))


def _package(name: str) -> str:
    return name.partition(".")[0]


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_objects(constant)


def _functions_of(obj: object) -> Iterator[types.FunctionType]:
    """The Python functions that make up ``obj`` (a function, or a class's methods)."""
    if isinstance(obj, types.FunctionType):
        members = [obj]
    elif isinstance(obj, type):
        members = []
        for member in vars(obj).values():
            member = getattr(member, "__func__", member)  # staticmethod, classmethod
            members.extend([member.fget, member.fset] if isinstance(member, property) else [member])
    else:
        members = []
    # Methods that dataclasses and NamedTuple generate have no source file of their own.
    yield from (f for f in members if isinstance(f, types.FunctionType)
                and not f.__code__.co_filename.startswith("<"))


def _key(obj: object) -> str:
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    return f"{obj.__module__}.{obj.__qualname__}"


def _dependencies(objects: tuple, packages: set[str]) -> dict[str, object]:
    """Every function, class, module and constant of ``packages`` that ``objects`` reach."""

    def ours(value: object) -> bool:
        if isinstance(value, types.ModuleType):
            return _package(value.__name__) in packages
        if isinstance(value, types.FunctionType) and value.__code__.co_filename.startswith("<"):
            return False  # generated code (a dataclass's __repr__) has no source to hash
        return (isinstance(value, (types.FunctionType, type))
                and _package(getattr(value, "__module__", "") or "") in packages)

    found: dict[str, object] = {}
    stack = list(objects)
    while stack:
        obj = inspect.unwrap(stack.pop()) if callable(stack[-1]) else stack.pop()
        if _key(obj) in found:
            continue
        found[_key(obj)] = obj
        if isinstance(obj, types.ModuleType):
            stack.extend(value for value in vars(obj).values() if ours(value))
            continue
        for function in _functions_of(obj):
            names = {name for code in _code_objects(function.__code__) for name in code.co_names}
            cells = [cell.cell_contents for cell in function.__closure__ or () if cell.cell_contents]
            values = [function.__globals__.get(name) for name in names] + cells
            # A table of functions (``{"small_cnn": models.small_cnn, ...}``) is followed too.
            values += [item for value in values if isinstance(value, (dict, list, tuple))
                       for item in (value.values() if isinstance(value, dict) else value)]
            for value in values:
                if isinstance(value, types.ModuleType) and ours(value):
                    # ``module.name``: follow the attributes this code reads from the module.
                    stack.extend(attr for attr in (getattr(value, n, None) for n in names) if ours(attr))
                elif ours(value):
                    stack.append(value)
            for name in names & function.__globals__.keys():
                value = function.__globals__[name]
                if _is_constant(value) and not name.startswith("__"):
                    found[f"{function.__module__}.{name}"] = value
    return found


def code_dependencies(*objects: object) -> list[str]:
    """The names of everything :func:`code_hash` hashes for ``objects``, sorted."""
    return sorted(_dependencies(objects, _packages_of(objects)))


def _packages_of(objects: tuple) -> set[str]:
    if not objects:
        raise ValueError("code_hash needs at least one function, class or module")
    packages = {_package(__name__)}
    for obj in objects:
        if not isinstance(obj, (types.FunctionType, type, types.ModuleType)):
            raise TypeError(f"code_hash takes functions, classes and modules, got {type(obj).__name__}")
        packages.add(_package(_key(obj)))
    return packages


def code_hash(*objects: object) -> str:
    """A short hash of the source code of ``objects`` and of all the code of this package they use.

    Starting from each function, class or module, every function, class or module of the same
    package (and of ``tutorial_lib``) that its code names is followed, directly or through
    others; module-level constants it reads are included by value. Put the result in a cache
    recipe: editing any of that code changes the key, so a stale entry is never reused.

    Raises
    ------
    TypeError
        If an object is not a function, class or module, or its source cannot be read.
    ValueError
        If no object is given.
    """
    found = _dependencies(objects, _packages_of(objects))
    digest = hashlib.sha256()
    for name in sorted(found):
        value = found[name]
        if isinstance(value, _CONSTANT_TYPES):
            text = repr(value)
        else:
            try:
                text = inspect.getsource(value)
            except (OSError, TypeError) as error:
                raise TypeError(f"cannot read the source code of {name} ({error})") from error
        digest.update(f"{name}\n{text}\n".encode())
    return digest.hexdigest()[:16]


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
