"""Audio features: log-mel spectrograms computed with ``tf.signal``.

A log-mel spectrogram is what most speech models read: the short-time Fourier transform cuts
the waveform into overlapping frames and measures the energy at each frequency, a mel filter
bank pools those frequencies the way the ear resolves them (finely at low pitch, coarsely at
high pitch), and the logarithm compresses the range as loudness does.

Taught in: *Speech with a dense network*.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tutorial_lib.data import Split, TransferTask


def log_mel_spectrogram(
    waveforms: np.ndarray,
    *,
    sampling_rate: int = 16000,
    frame_length: int = 400,
    frame_step: int = 320,
    fft_length: int = 512,
    num_mel_bins: int = 32,
    lower_hz: float = 60.0,
    upper_hz: float = 7600.0,
    batch_size: int = 512,
) -> np.ndarray:
    """Log-mel spectrograms of a batch of waveforms, each standardised to mean 0 and std 1.

    Parameters
    ----------
    waveforms
        ``(n, samples)`` float audio at ``sampling_rate``.
    frame_length, frame_step, fft_length
        STFT frame (400 samples = 25 ms at 16 kHz), hop (320 = 20 ms) and FFT size.
    num_mel_bins, lower_hz, upper_hz
        The mel filter bank.
    batch_size
        Waveforms transformed at once (bounds the memory used).

    Returns
    -------
    numpy.ndarray
        float32 ``(n, frames, num_mel_bins)``, with
        ``frames = 1 + (samples - frame_length) // frame_step``.

    Raises
    ------
    ValueError
        If ``waveforms`` is not 2-D, is shorter than one frame, or ``upper_hz`` is not between
        ``lower_hz`` and half the sampling rate.
    """
    import tensorflow as tf

    waveforms = np.asarray(waveforms, dtype=np.float32)
    if waveforms.ndim != 2 or len(waveforms) == 0:
        raise ValueError(f"waveforms must have shape (n, samples) with n >= 1, got {waveforms.shape}")
    if waveforms.shape[1] < frame_length:
        raise ValueError(f"waveforms of {waveforms.shape[1]} samples are shorter than one frame "
                         f"({frame_length})")
    if not 0 <= lower_hz < upper_hz <= sampling_rate / 2:
        raise ValueError(f"need 0 <= lower_hz < upper_hz <= {sampling_rate / 2} Hz, "
                         f"got {lower_hz} and {upper_hz}")
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins, fft_length // 2 + 1, sampling_rate, lower_hz, upper_hz)
    parts = []
    for start in range(0, len(waveforms), batch_size):
        stft = tf.signal.stft(waveforms[start : start + batch_size], frame_length, frame_step,
                              fft_length)
        mel = tf.tensordot(tf.abs(stft) ** 2, mel_matrix, axes=1)
        parts.append(tf.math.log(mel + 1e-6).numpy())
    log_mel = np.concatenate(parts)
    mean = log_mel.mean(axis=(1, 2), keepdims=True)
    std = log_mel.std(axis=(1, 2), keepdims=True)
    return ((log_mel - mean) / (std + 1e-6)).astype(np.float32)


def log_mel_task(task: TransferTask, **options) -> TransferTask:
    """The same task with every waveform replaced by its :func:`log_mel_spectrogram`.

    ``options`` are passed on to :func:`log_mel_spectrogram` and recorded in the recipe.
    """
    if not isinstance(task, TransferTask):
        raise TypeError(f"task must be a TransferTask, got {type(task).__name__}")

    def transform(split: Split) -> Split:
        return Split(log_mel_spectrogram(split.x, **options), split.y)

    return dataclasses.replace(
        task, source_train=transform(task.source_train), source_test=transform(task.source_test),
        target_pool=transform(task.target_pool), target_test=transform(task.target_test),
        recipe={**task.recipe, "features": {"log_mel": dict(sorted(options.items()))}},
    )
