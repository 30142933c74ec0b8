import numpy as np
import pytest

from tutorial_lib import spoken_digits


def test_synthesis_is_cached_and_repeats_bit_for_bit(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTORIAL_LIB_CACHE", str(tmp_path / "first"))
    first = spoken_digits.synthesize_digits(spoken_digits.ENGLISH, ("Male1", "Female2"), variants=1)
    assert first["audio"].shape[0] == 20 and first["audio"].dtype == np.float32
    np.testing.assert_array_equal(first["digit"], np.tile(np.arange(10), 2))
    np.testing.assert_array_equal(first["voice"], np.repeat([0, 1], 10))
    # Every utterance is between 0.1 s and 1 s long and not silent.
    assert first["length"].min() > 1600 and first["length"].max() < 16000
    assert all(np.abs(row[:n]).max() > 0.05 for row, n in zip(first["audio"], first["length"], strict=True))
    # A fresh cache synthesises again, in a fresh process: the same audio, bit for bit.
    monkeypatch.setenv("TUTORIAL_LIB_CACHE", str(tmp_path / "second"))
    second = spoken_digits.synthesize_digits(spoken_digits.ENGLISH, ("Male1", "Female2"), variants=1)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


@pytest.mark.parametrize(("arguments", "error", "message"), [
    ({"language": "Klingon"}, ValueError, "unknown language"),
    ({"voices": ("Robot",)}, ValueError, "unknown voices"),
    ({"voices": ()}, ValueError, "must not be empty"),
    ({"voices": ("Male1", "Male1")}, ValueError, "distinct"),
    ({"voices": "Male1"}, TypeError, "sequence of strings"),
    ({"variants": 0}, ValueError, "at least 1"),
    ({"variants": 2.0}, TypeError, "must be an int"),
])
def test_synthesis_rejects_bad_arguments(tmp_cache, arguments, error, message):
    with pytest.raises(error, match=message):
        spoken_digits.synthesize_digits(**arguments)


def test_place_in_noise_places_scales_and_adds_noise_at_the_asked_snr():
    rng = np.random.default_rng(0)
    audio = np.zeros((50, 4000), dtype=np.float32)
    audio[:, :3000] = 0.3 * rng.standard_normal((50, 3000))
    lengths = np.full(50, 3000)
    clips = spoken_digits.place_in_noise(audio, lengths, clip_seconds=0.5, snr_db=(10.0, 10.0), seed=1)
    assert clips.shape == (50, 8000) and clips.dtype == np.float32
    clean = spoken_digits.place_in_noise(audio, lengths, clip_seconds=0.5, snr_db=(200.0, 200.0), seed=1)
    noise = clips - clean
    # The utterance's power over the noise's power is 10 dB, up to sampling error.
    speech_power = np.mean(audio[:, :3000] ** 2 / np.abs(audio).max(axis=1, keepdims=True) ** 2)
    assert 10 * np.log10(speech_power / np.mean(noise**2)) == pytest.approx(10.0, abs=0.2)
    np.testing.assert_array_equal(clips, spoken_digits.place_in_noise(
        audio, lengths, clip_seconds=0.5, snr_db=(10.0, 10.0), seed=1))
    # Placed at different moments: the loudest sample is not always at the same place.
    assert len(set(np.abs(clean).argmax(axis=1) // 1000)) > 1


@pytest.mark.parametrize(("arguments", "message"), [
    ({"lengths": np.full(3, 10)}, "one length per row"),
    ({"lengths": np.full(2, 0)}, "between 1 and"),
    ({"clip_seconds": 0.0}, "positive"),
    ({"snr_db": (20.0, 0.0)}, "lowest, highest"),
])
def test_place_in_noise_rejects_bad_arguments(arguments, message):
    valid = {"audio": np.ones((2, 100)), "lengths": np.full(2, 100)}
    with pytest.raises(ValueError, match=message):
        spoken_digits.place_in_noise(**{**valid, **arguments})


def test_task_splits_by_utterance(tmp_cache):
    task = spoken_digits.spoken_digits_task(voices=("Male1",), source_variants=5, target_variants=2,
                                            source_copies=2)
    assert task.source_train.x.shape == (2 * 40, 16000) and task.source_test.x.shape == (10, 16000)
    assert task.target_pool.x.shape == task.target_test.x.shape == (10, 16000)
    assert np.bincount(task.target_pool.y).tolist() == [1] * 10
    assert task.recipe["target_language"] == spoken_digits.MANDARIN


def test_task_rejects_bad_arguments(tmp_cache):
    with pytest.raises(ValueError, match="must differ"):
        spoken_digits.spoken_digits_task(spoken_digits.ENGLISH, spoken_digits.ENGLISH)
    with pytest.raises(ValueError, match="source_copies"):
        spoken_digits.spoken_digits_task(source_copies=0)
