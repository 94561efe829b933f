"""Helpers shared by the parity tests and their reference scripts.

The ``*_reference.py`` scripts run in ``.venv-ref`` as plain scripts (their folder is on
``sys.path``, so they ``import reference_shared``); the tests in the main environment
import this module as ``tests.parity.reference_shared``. It needs only NumPy and works on
any Keras model, KerasHub's or textbones'.
"""

import contextlib
import os
import sys

import numpy as np


def make_inputs(spec, vocabulary_size, num_segments, input_names, rng) -> dict:
    """A batch of the inputs in ``input_names``, rows of the lengths in ``spec``; ids are 0
    in the padding.

    Example:

    >>> names, rng = ("token_ids", "segment_ids", "padding_mask"), np.random.default_rng(0)
    >>> batch = make_inputs({"seq_len": 4, "lengths": [4, 2]}, 10, 2, names, rng)
    >>> batch["padding_mask"].tolist(), batch["token_ids"][1, 2:].tolist()
    ([[1, 1, 1, 1], [1, 1, 0, 0]], [0, 0])
    >>> sorted(make_inputs({"seq_len": 2, "lengths": [1]}, 10, 1, ["token_ids"], rng))
    ['token_ids']
    """
    seq_len, lengths = spec["seq_len"], spec["lengths"]
    mask = np.arange(seq_len)[None, :] < np.asarray(lengths)[:, None]
    batch = {"token_ids": np.where(mask, rng.integers(1, vocabulary_size, mask.shape), 0)}
    if "segment_ids" in input_names:
        batch["segment_ids"] = np.where(mask, rng.integers(0, num_segments, mask.shape), 0)
    if "padding_mask" in input_names:
        batch["padding_mask"] = mask
    return {key: value.astype("int32") for key, value in batch.items()}


def outputs_by_name(outputs) -> dict:
    """A backbone's outputs by name: its dict, or its one tensor as ``sequence_output``
    (KerasHub's DistilBERT returns the sequence alone).

    Example:

    >>> sorted(outputs_by_name(np.zeros((1, 2))))
    ['sequence_output']
    """
    if isinstance(outputs, dict):
        return dict(outputs)
    return {"sequence_output": outputs}


def perturb_weights(model, rng) -> None:
    """Overwrite every weight with random values unlike its initializer's.

    Layer-norm scales ``1 + N(0, 0.2)``, offsets and biases ``N(0, 0.2)``, everything else
    ``N(0, 0.3)``: large enough that attention is far from uniform and that a weight
    loaded in the wrong place changes the outputs well beyond the tolerance.
    """
    for variable in model.weights:
        leaf = variable.path.rsplit("/", 1)[-1]
        shape = tuple(variable.shape)
        if leaf == "gamma":
            value = 1.0 + rng.normal(0.0, 0.2, shape)
        elif leaf in ("beta", "bias"):
            value = rng.normal(0.0, 0.2, shape)
        else:
            value = rng.normal(0.0, 0.3, shape)
        variable.assign(value.astype(variable.dtype))


@contextlib.contextmanager
def stderr_silenced():
    """Send file descriptor 2 to /dev/null for a while.

    TensorFlow's C++ runtime prints a few lines (absl, oneDNN, CUDA probes) straight to
    fd 2 when it loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; this hides them.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
