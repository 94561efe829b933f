"""The strings of a ``tf.data.Dataset`` corpus, for the vocabulary trainers.

KerasHub's trainers document a ``tf.data.Dataset`` of strings as their input. TensorFlow
stays optional here: a dataset is recognised by the module of its type, and TensorFlow is
imported only once such an object has been handed over (so it is already loaded).
"""

import sys
from collections.abc import Iterator

import numpy as np


def is_tf_dataset(data: object) -> bool:
    """Whether ``data`` is a ``tf.data.Dataset``, decided without importing TensorFlow.

    Example:

    >>> is_tf_dataset(["a list", "of texts"])
    False
    """
    if "tensorflow" not in sys.modules or not type(data).__module__.startswith("tensorflow"):
        return False
    import tensorflow as tf

    return isinstance(data, tf.data.Dataset)


def dataset_strings(dataset, trainer: str) -> Iterator[str]:
    """Every string of ``dataset``, in order: scalar elements, and those of batched or ragged ones.

    The element structure is checked before anything is read: a dataset of dicts or
    tuples, or of numbers, raises a ``ValueError`` naming what it holds.

    Args:
        dataset: a ``tf.data.Dataset`` whose elements are string tensors of any rank
            (dense or ragged).
        trainer: the calling function's name, for error messages.

    For example, ``tf.data.Dataset.from_tensor_slices(["a b", "c"]).batch(2)`` gives
    ``"a b"`` then ``"c"``, and the same dataset mapped with ``tf.strings.split`` gives
    ``"a"``, ``"b"``, ``"c"``. (TensorFlow is not installed where the doctests run;
    ``tests/parity/vocabulary_trainers_reference.py`` runs these cases.)
    """
    import tensorflow as tf

    spec = dataset.element_spec
    if tf.nest.is_nested(spec):
        raise ValueError(
            f"`{trainer}` needs a tf.data.Dataset of strings, but each element of this one is "
            f"a {type(spec).__name__} ({spec!r:.200}). Map the dataset to its text first, "
            "e.g. `ds.map(lambda text, label: text)` or `ds.map(lambda x: x['text'])`."
        )
    dtype = getattr(spec, "dtype", None)
    if dtype != tf.string:
        raise ValueError(
            f"`{trainer}` needs a tf.data.Dataset of strings, but its elements have dtype "
            f"{getattr(dtype, 'name', dtype)}. Pass the text (a string dataset), not token ids "
            "or labels."
        )
    return (string for element in dataset.as_numpy_iterator() for string in _strings(element))


def _strings(element) -> Iterator[str]:
    """The strings of one element: bytes, or a (possibly nested object) array of them."""
    if isinstance(element, bytes):
        yield element.decode("utf-8")
    elif isinstance(element, str):
        yield element
    elif isinstance(element, np.ndarray) and element.dtype != object:
        for item in element.reshape(-1):
            yield item.decode("utf-8") if isinstance(item, bytes) else str(item)
    else:  # a ragged element: an object array of rows, or a RaggedTensorValue
        rows = getattr(element, "to_list", None)
        for item in rows() if rows is not None else np.asarray(element, dtype=object).reshape(-1):
            yield from _strings(item)
