import numpy as np
import pytest

from tutorial_lib import audio, data


def _tone(frequency, seconds=0.5, rate=16000):
    return np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate).astype(np.float32)


def test_log_mel_shape_and_standardisation():
    spectrograms = audio.log_mel_spectrogram(np.stack([_tone(440), _tone(2000)]))
    # 1 + (8000 - 400) // 320 frames of 32 mel bins.
    assert spectrograms.shape == (2, 24, 32) and spectrograms.dtype == np.float32
    np.testing.assert_allclose(spectrograms.mean(axis=(1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(spectrograms.std(axis=(1, 2)), 1, atol=1e-3)


def test_a_higher_tone_lights_a_higher_mel_bin():
    low, high = audio.log_mel_spectrogram(np.stack([_tone(300), _tone(3000)]), num_mel_bins=40).mean(axis=1)
    assert high.argmax() > low.argmax() + 5


@pytest.mark.parametrize(("waveforms", "options", "message"), [
    (np.zeros(16000), {}, "shape \\(n, samples\\)"),
    (np.zeros((0, 16000)), {}, "n >= 1"),
    (np.zeros((1, 100)), {}, "shorter than one frame"),
    (np.zeros((1, 16000)), {"upper_hz": 9000.0}, "upper_hz"),
])
def test_log_mel_rejects_bad_inputs(waveforms, options, message):
    with pytest.raises(ValueError, match=message):
        audio.log_mel_spectrogram(waveforms, **options)


def test_log_mel_task_transforms_every_split():
    split = data.Split(np.stack([_tone(300), _tone(600)]), np.array([0, 1]))
    task = data.TransferTask(split, split, split, split, (0, 1), (0, 1), recipe={"name": "tones"})
    features = audio.log_mel_task(task, num_mel_bins=16)
    assert features.target_test.x.shape == (2, 24, 16)
    assert features.recipe == {"name": "tones", "features": {"log_mel": {"num_mel_bins": 16}}}
    with pytest.raises(TypeError, match="TransferTask"):
        audio.log_mel_task(split)
