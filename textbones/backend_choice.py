"""Pick a Keras backend that is installed before Keras is first imported.

Keras falls back to TensorFlow when nothing names a backend, and then fails to import
where TensorFlow is absent, which textbones never requires. So, when the user has not
chosen (no ``KERAS_BACKEND`` variable and no usable ``backend`` in ``keras.json``), the
first installed of JAX, PyTorch and TensorFlow is chosen, in that order. An explicit
choice is always respected, and nothing changes once Keras has been imported.
"""

import importlib.util
import json
import os
import pathlib
import sys

PREFERENCE = ("jax", "torch", "tensorflow")


def _configured_backend() -> str | None:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        config = json.loads(pathlib.Path(home, "keras.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    backend = config.get("backend") if isinstance(config, dict) else None
    return backend if isinstance(backend, str) else None


def _installed(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


def choose_default_backend() -> str | None:
    """Set ``KERAS_BACKEND`` to an installed backend if nobody chose one; return the choice.

    Returns ``None`` when the choice was already made (by the environment, by a
    ``keras.json`` naming an installed backend, or by an earlier ``import keras``).

    Example:

    >>> import os
    >>> choose_default_backend() is None or "KERAS_BACKEND" in os.environ
    True
    """
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return None
    configured = _configured_backend()
    if configured and _installed("jax" if configured == "jax" else configured):
        return None
    for backend in PREFERENCE:
        if _installed(backend):
            os.environ["KERAS_BACKEND"] = backend
            return backend
    return None
