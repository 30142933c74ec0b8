import json

import numpy as np
import pytest

from tutorial_lib import cache, data, transfer


def test_cache_dir_follows_the_environment(tmp_cache):
    assert cache.cache_dir() == tmp_cache and tmp_cache.is_dir()


def test_recipe_hash_is_stable_and_order_free():
    assert cache.recipe_hash({"a": 1, "b": [1, 2]}) == cache.recipe_hash({"b": [1, 2], "a": 1})
    assert cache.recipe_hash({"a": 1}) != cache.recipe_hash({"a": 2})
    with pytest.raises(TypeError, match="JSON"):
        cache.recipe_hash({"a": object()})
    with pytest.raises(TypeError, match="mapping"):
        cache.recipe_hash([1, 2])


def test_cached_arrays_builds_once_then_loads(tmp_cache):
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(5)}

    first = cache.cached_arrays("demo", {"n": 5}, compute)
    second = cache.cached_arrays("demo", {"n": 5}, compute)
    np.testing.assert_array_equal(first["x"], second["x"])
    assert len(calls) == 1


def test_a_corrupt_entry_is_rebuilt(tmp_cache):
    cache.cached_arrays("demo", {"n": 3}, lambda: {"x": np.arange(3)})
    (data_file,) = tmp_cache.glob("demo-*.npz")
    data_file.write_bytes(b"not an npz file")
    calls = []
    with pytest.warns(UserWarning, match="stale or corrupt"):
        rebuilt = cache.cached_arrays("demo", {"n": 3}, lambda: calls.append(1) or {"x": np.arange(3)})
    assert calls == [1]
    np.testing.assert_array_equal(rebuilt["x"], np.arange(3))
    meta = json.loads(next(tmp_cache.glob("demo-*.json")).read_text())
    assert meta["sha256"] == cache.file_sha256(data_file)


def test_source_model_is_cached_and_retrained_when_corrupt(tmp_cache):
    task = data.shifted_digits_task(source_copies=1)
    first = transfer.train_source_model(task, steps=20, eval_every=10)
    second = transfer.train_source_model(task, steps=20, eval_every=10)
    assert not first.from_cache and second.from_cache
    assert first.history == second.history and first.history["step"] == [10, 20]
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    (weights,) = tmp_cache.glob("source-model-*.weights.h5")
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.warns(UserWarning):
        third = transfer.train_source_model(task, steps=20, eval_every=10)
    assert not third.from_cache
    np.testing.assert_array_equal(third.model.get_weights()[0], first.model.get_weights()[0])


def test_cached_keeps_extra_information_and_reports_rebuilds(tmp_cache):
    def build(path):
        path.write_text("hello")
        return {"note": "built"}

    value, meta = cache.cached("text", {"v": 1}, build, lambda path: path.read_text(), ".txt")
    assert value == "hello" and meta["rebuilt"] is True and meta["extra"] == {"note": "built"}
    value, meta = cache.cached("text", {"v": 1}, build, lambda path: path.read_text(), ".txt")
    assert value == "hello" and meta["rebuilt"] is False and meta["extra"] == {"note": "built"}
    _, meta = cache.cached("text", {"v": 2}, build, lambda path: path.read_text(), ".txt")
    assert meta["rebuilt"] is True  # a new recipe is a new entry


def _load(path, name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path, g_body):
    path.write_text(
        "LIMIT = 3\n\n"
        "def g(x):\n"
        f"    return {g_body}\n\n"
        "def f(x):\n"
        "    return g(x) + LIMIT\n\n"
        "def unrelated():\n"
        "    return 0\n"
    )


def test_code_hash_changes_with_the_code_of_a_function_or_what_it_calls(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "codehash_demo.py"
    _write(path, "x + 1")
    first = _load(path, "codehash_demo")
    assert cache.code_dependencies(first.f) == ["codehash_demo.LIMIT", "codehash_demo.f", "codehash_demo.g"]
    before = cache.code_hash(first.f), cache.code_hash(first.unrelated)
    assert before[0] == cache.code_hash(_load(path, "codehash_demo").f)  # stable
    _write(path, "x + 2 ")  # g changes; f itself does not
    second = _load(path, "codehash_demo")
    assert cache.code_hash(second.f) != before[0]
    assert cache.code_hash(second.unrelated) == before[1]
    with pytest.raises(TypeError, match="functions, classes and modules"):
        cache.code_hash(3)
    with pytest.raises(ValueError, match="at least one"):
        cache.code_hash()


def test_source_model_key_covers_the_model_and_the_training_loop():
    from tutorial_lib import models, training

    names = cache.code_dependencies(transfer.train_source_model)
    for function in (models.small_cnn, training.train, training.check_inputs):
        assert f"{function.__module__}.{function.__name__}" in names


def test_file_sha256_matches_hashlib(tmp_path):
    import hashlib

    path = tmp_path / "blob"
    path.write_bytes(b"abc" * 100_000)
    assert cache.file_sha256(path) == hashlib.sha256(b"abc" * 100_000).hexdigest()
