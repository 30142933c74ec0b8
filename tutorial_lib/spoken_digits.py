"""Spoken digits, synthesised offline with the eSpeak synthesiser that ships inside Praat.

The PyPI package ``praat-parselmouth`` bundles Praat, and Praat bundles eSpeak: it speaks words
in many languages and voice variants, a few milliseconds per word, with no network. This module
makes the book's speech task from it: English digits ("zero" ... "nine") as the source, Mandarin
digits (零 ... 九) as the target, each spoken by several voices at random speaking rates and
pitches, placed at a random moment of a one-second clip and buried in white noise at a random
signal-to-noise ratio.

eSpeak keeps state between calls (the same word spoken twice in one process comes out slightly
different), so the utterances are synthesised in a fresh process, in a fixed order: the same
recipe gives the same audio, bit for bit. They are cached on disk with :mod:`tutorial_lib.cache`.

Data code does not train and does not plot.

Taught in: *Speech with a dense network*.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tutorial_lib import cache
from tutorial_lib.checks import check_int, check_known
from tutorial_lib.data import Split, TransferTask, stratified_split

SAMPLING_RATE = 16000
ENGLISH = "English (Great Britain)"
MANDARIN = "Chinese (Mandarin)"
# The ten digits as each language's synthesiser reads them, in the order 0 ... 9.
DIGIT_WORDS = {
    ENGLISH: ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    MANDARIN: ("零", "一", "二", "三", "四", "五", "六", "七", "八", "九"),
}
LANGUAGE_NAMES = {ENGLISH: "English", MANDARIN: "Mandarin"}
# The same digits in Latin letters (pinyin for Mandarin), for fonts without Chinese characters.
ROMANISED = {
    ENGLISH: DIGIT_WORDS[ENGLISH],
    MANDARIN: ("líng", "yī", "èr", "sān", "sì", "wǔ", "liù", "qī", "bā", "jiǔ"),
}
VOICES = ("Male1", "Male2", "Male3", "Male4", "Female1", "Female2", "Female3")
# Voice variants the task does not use, for testing a model on voices it never heard.
UNUSED_VOICES = ("Whisper", "Croak")
# Ranges of the prosody drawn for every utterance (eSpeak accepts pitch factors 0.5-2).
WORDS_PER_MINUTE = (130.0, 230.0)
PITCH_FACTOR = (0.6, 1.6)
PITCH_RANGE_FACTOR = (0.5, 1.5)


def _check_choice(name: str, values: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of strings, got {type(values).__name__}")
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    check_known(name, values, allowed)
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct, got {list(values)}")
    return values


def _speak_all(language: str, voices: tuple[str, ...], variants: int, seed: int) -> list[np.ndarray]:
    """Speak every digit ``variants`` times in every voice (runs in the fresh process)."""
    from parselmouth.praat import call

    rng = np.random.default_rng(seed)
    utterances = []
    for voice in voices:
        synthesizer = call("Create SpeechSynthesizer", language, voice)
        for word in DIGIT_WORDS[language]:
            for _ in range(variants):
                rate, pitch, pitch_range = (rng.uniform(*WORDS_PER_MINUTE), rng.uniform(*PITCH_FACTOR),
                                            rng.uniform(*PITCH_RANGE_FACTOR))
                call(synthesizer, "Speech output settings", SAMPLING_RATE, 0.01, pitch, pitch_range,
                     rate, "IPA")
                sound = call(synthesizer, "To Sound", word, "no")[0]
                utterances.append(np.asarray(sound.values[0], dtype=np.float32))
    return utterances


def _speak_in_fresh_process(language: str, voices: tuple[str, ...], variants: int,
                            seed: int) -> list[np.ndarray]:
    """:func:`_speak_all` in a new Python process, so that no earlier call changes the audio."""
    arguments = json.dumps([language, list(voices), variants, seed])
    package_root = str(Path(__file__).resolve().parent.parent)
    environment = {**os.environ,
                   "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "utterances.npz"
        script = ("import json, sys, numpy; from tutorial_lib.spoken_digits import _speak_all; "
                  "language, voices, variants, seed = json.loads(sys.argv[1]); "
                  "numpy.savez(sys.argv[2], *_speak_all(language, tuple(voices), variants, seed))")
        result = subprocess.run([sys.executable, "-c", script, arguments, str(output)],
                                env=environment, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"speech synthesis failed:\n{result.stderr[-2000:]}")
        with np.load(output) as archive:
            return [archive[f"arr_{index}"] for index in range(len(archive.files))]


def synthesize_digits(
    language: str = ENGLISH, voices: Sequence[str] = VOICES, *, variants: int = 6, seed: int = 0
) -> dict[str, np.ndarray]:
    """Speak the ten digits of ``language`` in every voice, ``variants`` times each (cached).

    Every utterance gets its own speaking rate, pitch and pitch range, drawn uniformly from
    :data:`WORDS_PER_MINUTE`, :data:`PITCH_FACTOR` and :data:`PITCH_RANGE_FACTOR` with ``seed``.

    Parameters
    ----------
    language
        A key of :data:`DIGIT_WORDS` (an eSpeak language name).
    voices
        eSpeak voice variants, from :data:`VOICES` and :data:`UNUSED_VOICES`.
    variants
        Utterances per digit and voice.
    seed
        Seed of the prosody draws.

    Returns
    -------
    dict
        ``audio``: float32 ``(n, longest)``, each utterance padded with zeros at the end;
        ``length``: its length in samples; ``digit`` and ``voice``: int64 indices into
        ``DIGIT_WORDS[language]`` and ``voices``. Ordered by voice, then digit, then variant.

    Raises
    ------
    ValueError
        If the language or a voice is unknown, or ``variants`` is below 1.
    """
    if language not in DIGIT_WORDS:
        raise ValueError(f"unknown language {language!r}; choose from {list(DIGIT_WORDS)}")
    voices = _check_choice("voices", voices, VOICES + UNUSED_VOICES)
    variants = check_int("variants", variants)
    import parselmouth

    recipe = {"language": language, "voices": list(voices), "variants": variants, "seed": int(seed),
              "rate": WORDS_PER_MINUTE, "pitch": PITCH_FACTOR, "pitch_range": PITCH_RANGE_FACTOR,
              "sampling_rate": SAMPLING_RATE, "praat": parselmouth.PRAAT_VERSION,
              "code": cache.code_hash(_speak_all, _speak_in_fresh_process)}

    def compute() -> dict[str, np.ndarray]:
        utterances = _speak_in_fresh_process(language, voices, variants, int(seed))
        lengths = np.array([len(u) for u in utterances], dtype=np.int64)
        audio = np.zeros((len(utterances), lengths.max()), dtype=np.float32)
        for row, utterance in zip(audio, utterances, strict=True):
            row[: len(utterance)] = utterance
        n_digits = len(DIGIT_WORDS[language])
        return {"audio": audio, "length": lengths,
                "digit": np.tile(np.repeat(np.arange(n_digits), variants), len(voices)),
                "voice": np.repeat(np.arange(len(voices)), n_digits * variants)}

    return cache.cached_arrays("spoken-digits", recipe, compute)


def place_in_noise(
    audio: np.ndarray,
    lengths: np.ndarray,
    *,
    clip_seconds: float = 1.0,
    snr_db: tuple[float, float] = (0.0, 20.0),
    seed: int = 0,
) -> np.ndarray:
    """Put each utterance at a random moment of a fixed-length clip and add white noise.

    Each utterance is scaled to a peak of 1, cut to the clip if it is longer, placed at a
    uniformly random offset, and Gaussian white noise is added at a signal-to-noise ratio drawn
    uniformly from ``snr_db`` (decibels, relative to the utterance's mean power).

    Parameters
    ----------
    audio, lengths
        Padded utterances ``(n, samples)`` and their lengths, as :func:`synthesize_digits` gives.
    clip_seconds
        Length of every output clip at :data:`SAMPLING_RATE`.
    snr_db
        ``(lowest, highest)`` signal-to-noise ratio in dB.
    seed
        Seed of the offsets and the noise.

    Returns
    -------
    numpy.ndarray
        float32 ``(n, round(clip_seconds * SAMPLING_RATE))``.

    Raises
    ------
    ValueError
        If the shapes disagree, a length is out of range, the clip is not positive or the SNR
        range is reversed.
    """
    audio = np.asarray(audio, dtype=np.float32)
    lengths = np.asarray(lengths)
    if audio.ndim != 2 or lengths.shape != (len(audio),):
        raise ValueError(f"audio must be (n, samples) with one length per row, got shapes "
                         f"{audio.shape} and {lengths.shape}")
    if len(audio) and (lengths.min() < 1 or lengths.max() > audio.shape[1]):
        raise ValueError(f"lengths must lie between 1 and {audio.shape[1]}")
    if not clip_seconds > 0:
        raise ValueError(f"clip_seconds must be positive, got {clip_seconds}")
    low, high = (float(v) for v in snr_db)
    if low > high:
        raise ValueError(f"snr_db must be (lowest, highest), got {snr_db}")
    clip = round(clip_seconds * SAMPLING_RATE)
    rng = np.random.default_rng(seed)
    clips = np.zeros((len(audio), clip), dtype=np.float32)
    for row, (utterance, length) in enumerate(zip(audio, lengths, strict=True)):
        speech = utterance[: min(int(length), clip)]
        speech = speech / max(float(np.abs(speech).max()), 1e-9)
        offset = rng.integers(0, clip - len(speech) + 1)
        clips[row, offset : offset + len(speech)] = speech
        noise_power = np.mean(speech**2) / 10 ** (rng.uniform(low, high) / 10)
        clips[row] += np.sqrt(noise_power) * rng.standard_normal(clip).astype(np.float32)
    return clips


def spoken_digits_task(
    source_language: str = ENGLISH,
    target_language: str = MANDARIN,
    *,
    voices: Sequence[str] = VOICES,
    source_variants: int = 6,
    target_variants: int = 6,
    source_copies: int = 4,
    snr_db: tuple[float, float] = (0.0, 20.0),
    seed: int = 0,
) -> TransferTask:
    """The book's speech task: many labelled digits in one language, few in another.

    Source: the digits of ``source_language``; 20 % of its utterances are held out as its test
    set, and every training utterance is placed ``source_copies`` times, at other moments and
    noise levels. Target: the digits of ``target_language``, split in half (stratified) into a
    pool to draw a few labels from and a held-out test set. Splits are made by utterance, so no
    synthesised word appears on both sides of a split.

    Returns
    -------
    TransferTask
        Waveforms ``(n, 16000)`` (one second at 16 kHz) with labels 0-9 in both tasks.

    Raises
    ------
    ValueError
        If a language or voice is unknown, the two languages are the same, or a count is below 1.
    """
    if source_language == target_language:
        raise ValueError(f"source and target language must differ, both are {source_language!r}")
    source_copies = check_int("source_copies", source_copies)
    source = synthesize_digits(source_language, voices, variants=source_variants, seed=seed)
    target = synthesize_digits(target_language, voices, variants=target_variants, seed=seed + 1)

    def noisy(arrays: dict[str, np.ndarray], rows: np.ndarray, offset: int) -> np.ndarray:
        return place_in_noise(arrays["audio"][rows], arrays["length"][rows], snr_db=snr_db,
                              seed=seed * 1000 + offset)

    train, test = stratified_split(source["digit"], 0.2, seed=seed)
    source_train = Split(np.concatenate([noisy(source, train, copy) for copy in range(source_copies)]),
                         np.tile(source["digit"][train], source_copies))
    pool, held_out = stratified_split(target["digit"], 0.5, seed=seed + 1)
    digits = tuple(range(10))
    return TransferTask(
        source_train=source_train,
        source_test=Split(noisy(source, test, 500), source["digit"][test]),
        target_pool=Split(noisy(target, pool, 900), target["digit"][pool]),
        target_test=Split(noisy(target, held_out, 901), target["digit"][held_out]),
        source_classes=digits, target_classes=digits,
        recipe={"name": "spoken-digits", "version": 1, "source_language": source_language,
                "target_language": target_language, "voices": list(voices),
                "source_variants": int(source_variants), "target_variants": int(target_variants),
                "source_copies": source_copies, "snr_db": [float(v) for v in snr_db],
                "seed": int(seed)},
    )
