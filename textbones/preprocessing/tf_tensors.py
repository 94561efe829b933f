"""TensorFlow tensors through the NumPy preprocessing path: eager, ``tf.function`` and ``tf.data``.

Tokenizers, packers, mask generators and preprocessors compute in NumPy, but KerasHub users
call them on TensorFlow tensors: eagerly, inside a ``tf.function``, and above all as
``dataset.map(preprocessor)``. :func:`accepts_tf_tensors` is the one hook that lets each of
those entry points take them, whatever the class:

* **Eager tensors** are converted to NumPy (strings decoded to ``str``, a ragged tensor to a
  list of rows), the NumPy method runs, and dense numeric outputs come back as
  ``tf.Tensor``; ragged and string outputs come back as Python lists and ``str``, which is
  what KerasHub 0.32 returns for eager calls.
* **Symbolic tensors** (while ``tf.function`` or ``Dataset.map`` traces) are handed to the
  NumPy method through ``tf.numpy_function``. Its output signature is found by running the
  method twice on small stand-in inputs of the traced shapes: a dimension that differs
  between the two runs is unknown (``None``), one that agrees is static (such as
  ``sequence_length``). A list of rows (a ragged output) crosses as flat values plus row
  lengths and comes out as a ``tf.RaggedTensor``, unless its rows had one length in both
  runs (then it is dense); strings come out as ``tf.string``. The stand-in runs leave the
  object as they found it (random generators included), so a seeded mask generator draws
  the same masks in ``Dataset.map`` as in eager calls.

Only tuples and dicts are searched for tensors (a list is one array-like input, as KerasHub
reads it). TensorFlow is never imported here: a TensorFlow tensor can only exist once the
caller has imported TensorFlow, so the module looks it up in ``sys.modules``; without it,
or without a TensorFlow tensor among the arguments, the method runs as it is.
"""

import contextlib
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# The two stand-in runs: the size of every unknown dimension, and the text of every string.
_STAND_INS = ((1, "a"), (2, "a b c d e f g h i j k l"))
_STRING = "string"


def accepts_tf_tensors(method: Callable) -> Callable:
    """Make a NumPy preprocessing method accept TensorFlow tensors too (see the module doc).

    Example (NumPy inputs pass straight through; TensorFlow ones are shown in the tests):

    >>> class Doubler:
    ...     @accepts_tf_tensors
    ...     def __call__(self, values):
    ...         return np.asarray(values) * 2
    >>> Doubler()([1, 2])
    array([2, 4])
    """

    @functools.wraps(method)
    def entry_point(self, *args, **kwargs):
        tf = _tensorflow()
        if tf is None or not any(_is_tf_tensor(leaf, tf) for leaf in _leaves((args, kwargs))):
            return method(self, *args, **kwargs)
        # Not converted by AutoGraph (Dataset.map converts what it calls): this is NumPy code.
        call = tf.autograph.experimental.do_not_convert(_call_with_tf_tensors)
        return call(tf, method, self, args, kwargs)

    return entry_point


def _call_with_tf_tensors(tf, method: Callable, owner: Any, args: tuple, kwargs: dict) -> Any:
    run = functools.partial(method, owner)
    if tf.executing_eagerly():
        return _call_eagerly(tf, run, args, kwargs)
    return _call_traced(tf, run, owner, args, kwargs)


def _tensorflow():
    module = sys.modules.get("tensorflow")
    return module if module is not None and hasattr(module, "RaggedTensor") else None


def _is_tf_tensor(value: Any, tf) -> bool:
    return type(value).__module__.startswith("tensorflow") and isinstance(
        value, (tf.Tensor, tf.RaggedTensor)
    )


# -- structures: tuples and dicts are containers, anything else (lists too) is a leaf ------------
def _map_structure(function: Callable, tree: Any) -> Any:
    if isinstance(tree, tuple):
        return tuple(_map_structure(function, item) for item in tree)
    if isinstance(tree, dict):
        return {key: _map_structure(function, value) for key, value in tree.items()}
    return function(tree)


def _leaves(tree: Any) -> list:
    found = []
    _map_structure(found.append, tree)
    return found


# -- eager calls -----------------------------------------------------------------------------------
def eager_tensors_as_numpy(tree: Any) -> Any:
    """``tree`` (a value, or tuples and dicts of values) with each eager TensorFlow tensor
    as the NumPy path takes it: strings decoded to ``str``, a ragged tensor as a list of rows.

    Tasks call it on their ``x``, ``y`` and ``sample_weight``, so ``predict`` takes a batch
    read from a ``tf.data.Dataset`` as it takes lists. Without TensorFlow imported (or
    without a tensor) ``tree`` comes back as it is.

    Example:

    >>> eager_tensors_as_numpy((["a text"], {"label": 1}))
    (['a text'], {'label': 1})
    """
    tf = _tensorflow()
    if tf is None:
        return tree
    return _map_structure(functools.partial(_eager_as_numpy, tf), tree)


def _eager_as_numpy(tf, value: Any) -> Any:
    if not _is_tf_tensor(value, tf):
        return value
    slot = _InputSlot.of(tf, value, first=0)
    return slot.from_numpy([part.numpy() for part in _components(value, slot)])


def _call_eagerly(tf, run: Callable, args: tuple, kwargs: dict) -> Any:
    args, kwargs = _map_structure(functools.partial(_eager_as_numpy, tf), (args, kwargs))
    return _map_structure(functools.partial(_eager_output, tf), run(*args, **kwargs))


def _eager_output(tf, value: Any) -> Any:
    """Dense numbers as ``tf.Tensor``; lists, strings and everything else as Python values."""
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind in "USO":
            return _decoded(value.tolist())
        return tf.convert_to_tensor(value)
    if isinstance(value, list):
        return _decoded([item.tolist() if isinstance(item, np.ndarray) else item for item in value])
    return value


def _numpy_input(value: Any, is_string: bool) -> Any:
    """A dense input as the NumPy path takes it: strings decoded, scalars as scalars."""
    if is_string:
        return _decoded(value)
    array = np.asarray(value)
    return array[()] if array.ndim == 0 else array


def _decoded(value: Any) -> Any:
    """``value`` with every UTF-8 ``bytes`` item as ``str``; other bytes are left for the
    NumPy path to report with their position."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _decoded(value.item())
        decoded = np.empty(value.shape, dtype=object)
        decoded.reshape(-1)[:] = [_decoded(item) for item in value.reshape(-1).tolist()]
        return decoded
    return value


# -- traced calls ----------------------------------------------------------------------------------
@dataclass
class _InputSlot:
    """One TensorFlow tensor among the arguments of a traced call."""

    shape: list  # static dims, None where unknown (for ragged: nrows, ragged dims, inner dims)
    is_string: bool
    numpy_dtype: Any
    ragged_rank: int  # 0 for a dense tensor
    first: int  # index of its first component among the numpy_function inputs

    @property
    def num_components(self) -> int:
        return 1 + self.ragged_rank

    def from_numpy(self, parts: list) -> Any:
        """The argument the NumPy method gets: an array, a scalar, or nested lists of rows."""
        if not self.ragged_rank:
            return _numpy_input(parts[0], self.is_string)
        # Innermost rows: arrays of the tensor's dtype (an empty row keeps it), or lists of str.
        items = _decoded(np.asarray(parts[0]).tolist()) if self.is_string else np.asarray(parts[0])
        for lengths in reversed(parts[1:]):
            lengths = np.asarray(lengths).tolist()
            ends = np.cumsum(lengths, dtype=np.int64).tolist()
            items = [items[end - length : end] for end, length in zip(ends, lengths)]
        return items

    @classmethod
    def of(cls, tf, tensor, first: int) -> "_InputSlot":
        ragged = isinstance(tensor, tf.RaggedTensor)
        return cls(
            shape=tensor.shape.as_list(),
            is_string=tensor.dtype == tf.string,
            numpy_dtype=None if tensor.dtype == tf.string else tensor.dtype.as_numpy_dtype,
            ragged_rank=tensor.ragged_rank if ragged else 0,
            first=first,
        )

    def stand_in(self, size: int, text: str) -> Any:
        """A value of this slot's shapes, unknown dimensions ``size`` long, for a trial run."""
        fill = text.encode("utf-8") if self.is_string else 0
        dtype = object if self.is_string else self.numpy_dtype
        if not self.ragged_rank:
            shape = [size if dim is None else dim for dim in self.shape]
            return self.from_numpy([np.full(shape, fill, dtype=dtype)])
        count = self.shape[0] if self.shape[0] is not None else size
        parts = []
        for dim in self.shape[1 : 1 + self.ragged_rank]:
            length = size if dim is None else dim
            parts.append(np.full(count, length, dtype=np.int64))
            count *= length
        inner = [size if dim is None else dim for dim in self.shape[1 + self.ragged_rank :]]
        return self.from_numpy([np.full([count, *inner], fill, dtype=dtype), *parts])


@dataclass
class _OutputLeaf:
    """What one output of the NumPy method is: its dtype and static shape, dense or ragged."""

    dtype: str  # a NumPy dtype name, or "string"
    shape: list  # dense: the full shape; ragged: [nrows, inner dims of the flat values...]
    ragged_rank: int = 0
    row_width: int | None = None  # a list of rows all this long (in one trial run)

    def merged(self, other: "_OutputLeaf") -> "_OutputLeaf":
        kind = (self.dtype, len(self.shape), self.ragged_rank)
        if kind != (other.dtype, len(other.shape), other.ragged_rank):
            raise _signature_error(self, other)
        shape = [a if a == b else None for a, b in zip(self.shape, other.shape)]
        one_width = self.row_width is not None and self.row_width == other.row_width
        if self.ragged_rank == 1 and one_width:
            # Rows of one length whatever the input (padded string tokens, as lists): dense.
            return _OutputLeaf(self.dtype, [shape[0], self.row_width, *shape[1:]])
        return _OutputLeaf(self.dtype, shape, self.ragged_rank)

    @property
    def num_parts(self) -> int:
        return 1 + self.ragged_rank

    def tf_dtype(self, tf):
        return tf.string if self.dtype == _STRING else tf.as_dtype(self.dtype)

    def describe(self) -> str:
        kind = f"ragged (ragged_rank {self.ragged_rank})" if self.ragged_rank else "dense"
        return f"{kind} {self.dtype} of shape {self.shape}"


def _call_traced(tf, run: Callable, owner: Any, args: tuple, kwargs: dict) -> Any:
    tensors = []

    def slot_of(value):
        if not _is_tf_tensor(value, tf):
            return value
        if value.shape.rank is None:
            raise ValueError(
                f"{type(owner).__name__} got a TensorFlow tensor of unknown rank while tracing; "
                "give it a static rank first (e.g. `tf.ensure_shape(x, [None])`)."
            )
        slot = _InputSlot.of(tf, value, first=len(tensors))
        tensors.extend(_components(value, slot))
        return slot

    template = _map_structure(slot_of, (args, kwargs))

    def filled(fill: Callable) -> tuple[tuple, dict]:
        return _map_structure(lambda x: fill(x) if isinstance(x, _InputSlot) else x, template)

    hint = _dtype_hint(owner)
    signature = None
    with _left_as_found(owner):
        for size, text in _STAND_INS:
            trial_args, trial_kwargs = filled(lambda slot, s=size, t=text: slot.stand_in(s, t))
            outputs = run(*trial_args, **trial_kwargs)
            described = _map_structure(lambda value: _describe(value, hint), outputs)
            signature = described if signature is None else _merged(signature, described)
    leaves = [leaf for leaf in _leaves(signature) if leaf is not None]

    def compute(*arrays):
        call_args, call_kwargs = filled(
            lambda slot: slot.from_numpy(arrays[slot.first : slot.first + slot.num_components])
        )
        parts = []

        def encode(leaf, value):
            parts.extend(_encoded(leaf, value, owner))

        _zip_structure(encode, signature, run(*call_args, **call_kwargs), owner)
        return parts

    # Each leaf crosses as its values, then (if ragged) one int64 row-length vector per level.
    tout = [tf.int64 if i else leaf.tf_dtype(tf) for leaf in leaves for i in range(leaf.num_parts)]
    flat = iter(tf.numpy_function(compute, tensors, tout, stateful=True) if tout else [])
    return _map_structure(lambda leaf: leaf and _rebuilt(tf, leaf, flat), signature)  # None: None


def _components(tensor, slot: _InputSlot) -> list:
    """The dense tensors ``tf.numpy_function`` takes for one input: itself, or a ragged
    tensor's flat values and row lengths."""
    return [tensor.flat_values, *tensor.nested_row_lengths()] if slot.ragged_rank else [tensor]


def _describe(value: Any, hint: str | None) -> _OutputLeaf | None:
    """The ``_OutputLeaf`` of one output of a stand-in run."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return _OutputLeaf(_STRING, [])
    if isinstance(value, list):
        ragged_rank, sample = _ragged_layout(value)
        if not ragged_rank:
            return _OutputLeaf(_scalar_dtype(sample, hint), [len(value)])
        rows = value
        for _ in range(ragged_rank - 1):
            rows = [item for row in rows for item in row]
        blocks = [row for row in rows if isinstance(row, np.ndarray)]
        inner = list(blocks[0].shape[1:]) if blocks else []
        dtype = _array_dtype(blocks[0]) if blocks else _scalar_dtype(sample, hint)
        widths = {len(row) for row in value}
        width = widths.pop() if len(widths) == 1 else None
        return _OutputLeaf(dtype, [len(value), *inner], ragged_rank, width)
    array = np.asarray(value)
    items = array.reshape(-1).tolist() if array.dtype == object else []
    if not all(isinstance(item, (str, bytes)) for item in items):
        raise TypeError(
            f"Can't give an output of type {type(value).__name__} a tf.data signature: "
            "preprocessing outputs must be arrays, strings or lists of rows."
        )
    return _OutputLeaf(_array_dtype(array), list(array.shape))


def _ragged_layout(value: list) -> tuple[int, Any]:
    """How many nested list levels (array rows count as one) ``value`` has below its first
    axis, and one of its innermost items (``None`` if every row is empty)."""
    depth, node = 0, value
    while isinstance(node, list):
        item = next((item for item in node if not _is_empty_row(item)), None)
        if item is None:
            first = node[0] if node else None
            return depth + (1 if isinstance(first, (list, np.ndarray)) else 0), None
        if isinstance(item, np.ndarray) and item.ndim:
            return depth + 1, item.reshape(-1)[0]
        if not isinstance(item, list):
            return depth, item
        depth, node = depth + 1, item
    return depth, node


def _is_empty_row(item: Any) -> bool:
    return isinstance(item, (list, np.ndarray)) and len(item) == 0


def _array_dtype(array: np.ndarray) -> str:
    return _STRING if array.dtype.kind in "USO" else array.dtype.name


def _scalar_dtype(sample: Any, hint: str | None) -> str:
    """The dtype of the scalars of a list output; Python ints take the object's own id
    ``dtype`` (a tokenizer's), as do rows that are all empty."""
    if sample is None:
        return hint or "int32"
    if isinstance(sample, (np.generic, np.ndarray)):
        return _array_dtype(np.asarray(sample))
    if isinstance(sample, (str, bytes)):
        return _STRING
    if isinstance(sample, bool):
        return "bool"
    if isinstance(sample, int):
        is_id_dtype = hint is not None and hint != _STRING and np.dtype(hint).kind in "iu"
        return hint if is_id_dtype else "int32"
    return "float32"


def _dtype_hint(owner: Any) -> str | None:
    dtype = getattr(owner, "dtype", None)
    if dtype == _STRING:
        return _STRING
    try:
        dtype = np.dtype(dtype) if isinstance(dtype, str) else None
    except TypeError:
        return None
    return dtype.name if dtype is not None and dtype.kind in "iuf" else None


def _merged(first: Any, second: Any) -> Any:
    """Two stand-in signatures as one: dims that differ between them become ``None``."""
    if isinstance(first, tuple) and isinstance(second, tuple) and len(first) == len(second):
        return tuple(_merged(a, b) for a, b in zip(first, second))
    if isinstance(first, dict) and isinstance(second, dict) and list(first) == list(second):
        return {key: _merged(first[key], second[key]) for key in first}
    if isinstance(first, _OutputLeaf) and isinstance(second, _OutputLeaf):
        return first.merged(second)
    if first is None and second is None:
        return None
    raise _signature_error(first, second)


def _signature_error(first: Any, second: Any) -> TypeError:
    return TypeError(
        "The outputs of this preprocessing call change structure with the input's contents "
        f"({first!r} vs {second!r}), so they can't be given one tf.data signature. Call it "
        "eagerly, or on inputs of static shape."
    )


def _zip_structure(function: Callable, signature: Any, value: Any, owner: Any) -> None:
    if isinstance(signature, tuple):
        if not isinstance(value, tuple) or len(value) != len(signature):
            raise _runtime_mismatch(owner, signature, value)
        for leaf, item in zip(signature, value):
            _zip_structure(function, leaf, item, owner)
    elif isinstance(signature, dict):
        if not isinstance(value, dict) or list(value) != list(signature):
            raise _runtime_mismatch(owner, signature, value)
        for key, leaf in signature.items():
            _zip_structure(function, leaf, value[key], owner)
    elif signature is None:
        if value is not None:
            raise _runtime_mismatch(owner, signature, value)
    else:
        function(signature, value)


def _runtime_mismatch(owner: Any, signature: Any, value: Any) -> ValueError:
    shown = signature.describe() if isinstance(signature, _OutputLeaf) else repr(signature)
    return ValueError(
        f"{type(owner).__name__} returned {type(value).__name__} for this batch, but when it "
        f"was traced its output was {shown}. The structure of its outputs must not depend on "
        "the values of the inputs."
    )


def _encoded(leaf: _OutputLeaf, value: Any, owner: Any) -> list[np.ndarray]:
    """One output as the arrays ``tf.numpy_function`` returns for it."""
    if not leaf.ragged_rank:
        array = _as_array(value, leaf.dtype, rank=len(leaf.shape))
        if array is None:
            raise _runtime_mismatch(owner, leaf, value)
        return [array]
    if not isinstance(value, list):
        raise _runtime_mismatch(owner, leaf, value)
    lengths, rows = [], value
    for level in range(leaf.ragged_rank):
        lengths.append(np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows)))
        if level < leaf.ragged_rank - 1:
            rows = [item for row in rows for item in row]
    pieces = [_as_array(row, leaf.dtype) for row in rows if len(row)]
    dtype = object if leaf.dtype == _STRING else leaf.dtype
    empty = np.zeros([0, *[dim or 0 for dim in leaf.shape[1:]]], dtype=dtype)
    values = np.concatenate(pieces) if pieces else empty
    return [values, *lengths]


def _as_array(value: Any, dtype: Any, rank: int | None = None) -> np.ndarray:
    """``value`` as an array of ``dtype`` (strings as UTF-8 bytes); ``None`` if it is not of
    ``rank`` (rows of different lengths where dense ones were promised, say)."""
    try:
        array = np.asarray(value, dtype=object if dtype == _STRING else dtype)
    except ValueError:  # NumPy refuses rows of different lengths
        return None
    if rank is not None and array.ndim != rank:
        return None
    if dtype != _STRING:
        return array
    encoded = np.empty(array.shape, dtype=object)
    items = array.reshape(-1).tolist()
    encoded.reshape(-1)[:] = [i.encode("utf-8") if isinstance(i, str) else bytes(i) for i in items]
    return encoded


def _rebuilt(tf, leaf: _OutputLeaf, flat) -> Any:
    """The TensorFlow value of one output, with its static shape, from the function's outputs."""
    values = next(flat)
    if not leaf.ragged_rank:
        values.set_shape(leaf.shape)
        return values
    values.set_shape([None, *leaf.shape[1:]])
    lengths = [next(flat) for _ in range(leaf.ragged_rank)]
    lengths[0].set_shape([leaf.shape[0]])
    for inner in lengths[1:]:
        inner.set_shape([None])
    return tf.RaggedTensor.from_nested_row_lengths(values, lengths, validate=False)


@contextlib.contextmanager
def _left_as_found(owner: Any):
    """Undo what trial runs do to ``owner`` and the textbones objects it holds: attributes
    set or built lazily, random generators advanced, NumPy's global random state."""
    objects, pending, seen = [], [owner], set()
    while pending:
        item = pending.pop()
        if id(item) in seen or not hasattr(item, "__dict__"):
            continue
        seen.add(id(item))
        objects.append(item)
        pending.extend(v for v in vars(item).values() if type(v).__module__.startswith("textbones"))
    attributes = [(item, dict(vars(item))) for item in objects]
    generators = [
        (value, value.bit_generator.state)
        for item in objects
        for value in vars(item).values()
        if isinstance(value, np.random.Generator)
    ]
    global_state = np.random.get_state()
    try:
        yield
    finally:
        for item, saved in attributes:
            vars(item).clear()
            vars(item).update(saved)
        for generator, state in generators:
            generator.bit_generator.state = state
        np.random.set_state(global_state)
