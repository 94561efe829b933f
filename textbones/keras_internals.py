"""Every use of Keras' internals in textbones, each with a fallback for when Keras changes it.

Six things textbones needs have no public Keras API (LoRA needs two), and one Keras
behaviour it works around:

* **deferred variables** (the fast loaders of ``presets/``): a model built inside
  ``keras.StatelessScope(initialize_variables=False)`` gets variables without a value
  (``variable._value is None``), each given one from ``variable._initializer`` when the
  outermost stateless scope closes; the pending ones are listed in
  ``keras.src.backend.common.global_state`` under ``"uninitialized_variables"``. The
  loaders make each checkpoint tensor its variable's initializer, so no random weights are
  drawn and memory holds the model plus one tensor. Fallback (:class:`DeferredVariables`
  when :func:`deferred_loading_available` is false): build the model normally, then
  assign every weight.
* **Keras' saving walk** (``keras.src.saving.saving_lib._save_state`` with an
  ``H5IOStore``): which entry of a ``.weights.h5`` file each variable is saved under.
  Fallback (:func:`saved_variable_entries` returns ``None``): the caller loads the file
  with Keras' own ``load_weights``.
* **safe mode** (``keras.src.saving.serialization_lib.in_safe_mode``): whether a config
  is being deserialized in safe mode right now. Fallback: not in safe mode, with a
  warning once (a tokenizer then reads a file its config names, as outside Keras).

* **building for training** (``Trainer._symbolic_build``; ``_maybe_symbolic_build`` on
  TensorFlow): before its first step, ``fit`` builds the model, compiled loss and metrics
  from a batch it takes from the data, which starts a ``PyDataset``'s prefetching and then
  restarts the epoch: the batch prefetched meanwhile is served first in the first epoch,
  so a model's first ``fit`` reads its batches out of place and differs from a later
  ``fit`` under the same seed (JAX and torch). :func:`build_for_training` builds from a
  batch the caller makes. Fallback (no such method): nothing is built, and ``fit`` builds as before.

* **embedding gradients on TensorFlow** (a Keras behaviour, worked around through the
  public ``optimizer.apply``): TensorFlow gives the gradient of an embedding lookup as a
  ``tf.IndexedSlices`` with one row per looked-up token, repeated tokens repeated; Keras'
  optimizers square it row by row before summing the repeats (``ops.square`` of an
  ``IndexedSlices``), so Adam's second moment of a token seen ``n`` times in a batch is the
  sum of its ``n`` squared gradients, not the square of their sum, and its step is up to
  ``sqrt(n)`` times the learning rate (26 times on a question-answering batch of 32). JAX
  and torch give the dense sum. :func:`coalesce_sparse_gradients` makes an optimizer sum
  the repeats first. Fallback: none needed (``optimizer.apply`` is public).

* **quantized heads** (``Task`` configs): :func:`quantized_layer_policies` and
  :func:`quantize_layers` find a model's layers by path through ``_flatten_layers``, to
  save which of a task's own layers are quantized and quantize them again when it is
  rebuilt (through the public ``dtype_policy`` setter). Fallback: none.
* **int4 reverse projection** (``textbones.layers.ReversibleEmbedding``): Keras' int4 is
  weight-only by default (``Int4QuantizationConfig``, ``Dense``), but Keras 3.15's
  ``ReversibleEmbedding`` quantizes the inputs of its reverse projection when it is built
  without a config, as it is when a saved policy rebuilds it, so a reloaded int4 model's
  logits differed from the saved one's (by 1e-3 on a tiny BERT).
  :func:`use_config_activation_quantizer` sets the layer's ``inputs_quantizer`` to its
  config's choice, none without one. Fallback: none needed (a plain attribute).
* **LoRA adapters** (``textbones.models.lora``). Adapter files number the layers that have
  weights in ``Layer._flatten_layers`` order, as KerasHub's do (:func:`weighted_sublayers`;
  fallback: none, the order must be KerasHub's). And Keras' ``enable_lora`` has no
  inverse. A LoRA-enabled ``Dense``, ``EinsumDense`` or ``Embedding`` keeps its frozen
  weight as ``_kernel`` (``_embeddings``), its adapters as ``lora_kernel_a`` and
  ``lora_kernel_b``, and ``lora_enabled``, ``lora_rank`` and ``lora_alpha``;
  :func:`fold_lora` assigns the merged weight (the public ``kernel`` / ``embeddings``
  property) to the frozen one, deletes the adapters (``Layer.__delattr__`` untracks a
  variable) and marks the layer plain again. Fallback: none; a layer without those
  attributes raises ``TypeError`` naming it.

``tests/test_keras_internals.py`` pins each on the installed Keras and runs the fallbacks.

Example:

>>> import keras
>>> deferred = DeferredVariables()
>>> layer = deferred.build(lambda: keras.layers.Dense(2, kernel_initializer="zeros"))
>>> layer.build((None, 3))
>>> deferred.set_value(layer.kernel, lambda shape, dtype: keras.ops.ones(shape, dtype))
>>> deferred.initialize()
>>> layer.kernel.numpy().tolist()
[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import keras

try:
    from keras.src.backend.common import global_state as _global_state
except ImportError:  # a Keras that moved it: build normally, then assign
    _global_state = None
try:
    from keras.src.saving import saving_lib as _saving_lib
except ImportError:  # a Keras that moved it: Keras' own load_weights reads the file
    _saving_lib = None
try:
    from keras.src.saving import serialization_lib as _serialization_lib
except ImportError:  # a Keras that moved it: safe mode cannot be seen
    _serialization_lib = None

#: The ``global_state`` attribute listing the variables whose value is deferred.
_PENDING = "uninitialized_variables"


@functools.cache
def deferred_loading_available() -> bool:
    """Whether this Keras defers variables as the fast loaders expect.

    A probe variable is made inside ``StatelessScope(initialize_variables=False)``: it must
    have no value, an ``_initializer`` to replace, and be listed as pending in
    ``global_state`` (it is taken off the list again).

    Example:

    >>> deferred_loading_available()
    True
    """
    if _global_state is None or not hasattr(_global_state, "get_global_attribute"):
        return False
    with keras.StatelessScope(initialize_variables=False):
        probe = keras.Variable(initializer="zeros", shape=(1,), trainable=False)
    pending = _global_state.get_global_attribute(_PENDING) or []
    available = (
        getattr(probe, "_value", True) is None
        and hasattr(probe, "_initializer")
        and any(variable is probe for variable in pending)
    )
    _forget([probe])
    return available


def _forget(variables: Iterable[Any]) -> None:
    ours = {id(variable) for variable in variables}
    pending = _global_state.get_global_attribute(_PENDING) or []
    _global_state.set_global_attribute(_PENDING, [v for v in pending if id(v) not in ours])


def is_deferred(variable) -> bool:
    """Whether ``variable`` waits for its value (made in a non-initializing stateless scope).

    Example:

    >>> is_deferred(keras.Variable([1.0]))
    False
    """
    return deferred_loading_available() and getattr(variable, "_value", True) is None


def set_value(variable, initializer: Callable[[tuple, Any], Any]) -> None:
    """Give ``variable`` the value ``initializer(shape, dtype)`` returns: when it is
    initialized if its value is deferred (it becomes the variable's ``_initializer``),
    else at once with ``assign``.

    Example:

    >>> variable = keras.Variable([0.0, 0.0])
    >>> set_value(variable, lambda shape, dtype: keras.ops.full(shape, 3.0, dtype))
    >>> variable.numpy().tolist()
    [3.0, 3.0]
    """
    if is_deferred(variable):
        variable._initializer = initializer
    else:
        variable.assign(initializer(tuple(variable.shape), variable.dtype))


class DeferredVariables:
    """Build models whose variables take their values later, one variable at a time.

    ``build(make)`` calls ``make()`` with variable values deferred (when
    :func:`deferred_loading_available`; otherwise normally). ``set_value(variable,
    initializer)`` then makes ``initializer(shape, dtype)`` the variable's value: read when
    :meth:`initialize` runs for a deferred variable, read and assigned at once otherwise.
    :meth:`abandon` forgets the deferred variables of a load that failed, so that Keras
    does not give them values later.
    """

    def __init__(self):
        self.models: list[Any] = []
        self.defer = deferred_loading_available()

    def build(self, make: Callable[[], Any]):
        """``make()``, its variables' values deferred where Keras allows it."""
        if self.defer:
            with keras.StatelessScope(initialize_variables=False):
                model = make()
        else:
            model = make()
        self.models.append(model)
        return model

    def set_value(self, variable, initializer: Callable[[tuple, Any], Any]) -> None:
        """Give ``variable`` the value ``initializer(shape, dtype)`` returns (see
        :func:`set_value`)."""
        set_value(variable, initializer)

    def initialize(self) -> None:
        """Give every deferred variable its value (closing a top-level stateless scope)."""
        with keras.StatelessScope():
            pass

    def abandon(self) -> None:
        """Forget the deferred variables of the models built here."""
        if self.defer:
            _forget(variable for model in self.models for variable in model.variables)


def convert_for_variable(variable, value):
    """``value`` as a tensor of ``variable``'s dtype, cast as ``variable.assign`` casts it.

    Keras keeps an initializer's value as it comes; this is the conversion ``assign``
    applies (``Variable._convert_to_tensor``), or ``keras.ops.convert_to_tensor`` if the
    variable has no such method.

    Example:

    >>> convert_for_variable(keras.Variable([1.0]), [2]).dtype.name
    'float32'
    """
    convert = getattr(variable, "_convert_to_tensor", None)
    if convert is None:
        return keras.ops.convert_to_tensor(value, dtype=variable.dtype)
    return convert(value, dtype=variable.dtype)


def saved_variable_entries(model, objects_to_skip: Iterable[Any] = ()) -> dict[str, Any] | None:
    """What Keras' saving walk would write for ``model``: the weights-file entry of each
    saved value (``"layers/dense/vars/0"``), or ``None`` when this Keras has no such walk.

    The walk runs against a store that records instead of writing, so each entry is the
    one ``model.save_weights`` writes; ``objects_to_skip`` are left out as Keras leaves
    them out. The values are what Keras would save (normally the variables themselves).

    Example:

    >>> dense = keras.layers.Dense(2)
    >>> dense.build((None, 3))
    >>> sorted(saved_variable_entries(dense))
    ['vars/0', 'vars/1']
    """
    if _saving_lib is None or not hasattr(_saving_lib, "_save_state"):
        return None
    store = getattr(_saving_lib, "H5IOStore", None)
    if store is None:
        return None

    # The walk insists on one of Keras' own stores: a subclass without a file records
    # each value under the entry it would be written to.
    class Recorder(store):
        def __init__(self):
            self.entries: dict[str, Any] = {}
            self.group = "vars"

        def __bool__(self) -> bool:
            return True

        def make(self, path, metadata=None):
            self.group = f"{path}/vars" if path else "vars"
            return self

        def __setitem__(self, key, value) -> None:
            self.entries[f"{self.group}/{key}"] = value

    recorder = Recorder()
    _saving_lib._save_state(
        model,
        weights_store=recorder,
        assets_store=None,
        inner_path="",
        visited_saveables={id(item) for item in objects_to_skip},
    )
    return recorder.entries


def in_safe_mode() -> bool:
    """Whether Keras is deserializing in safe mode right now.

    ``True`` inside ``keras.saving.deserialize_keras_object(..., safe_mode=True)`` (the
    default, also used by ``keras.models.load_model``) unless
    ``keras.config.enable_unsafe_deserialization()`` was called; ``False`` outside any
    deserialization, and (with a warning, once) when this Keras does not say.

    Example:

    >>> in_safe_mode()
    False
    """
    read = getattr(_serialization_lib, "in_safe_mode", None)
    if read is None:
        _warn_safe_mode_unknown()
        return False
    return bool(read())


@functools.cache
def _warn_safe_mode_unknown() -> None:
    warnings.warn(
        f"Keras {keras.__version__} does not say whether it deserializes in safe mode, so "
        "textbones' tokenizers read the vocabulary files their configs name even in safe "
        "mode. Load configs only from sources you trust.",
        RuntimeWarning,
        stacklevel=3,
    )


def build_for_training(model, make_batch: Callable[[], Any]) -> bool:
    """Build ``model`` for ``fit`` (layers, compiled loss and metrics) from the batch
    ``make_batch()`` returns, if it is not built yet; ``make_batch`` is called only then.

    Returns whether the model was built here. ``False`` too when this Keras has no such
    build (``fit`` then builds from its first batch as before), and on TensorFlow without
    a distribution strategy, where Keras builds when it traces the step and takes no batch.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.layers.Dense(1)])
    >>> model.compile(loss="mse")
    >>> build_for_training(model, lambda: (np.zeros((2, 3)), np.zeros((2, 1))))
    True
    >>> model.built, build_for_training(model, lambda: 1 / 0)  # built: nothing to do
    (True, False)
    """
    build = getattr(model, "_maybe_symbolic_build", None) or getattr(model, "_symbolic_build", None)
    if (
        keras.backend.backend() == "tensorflow"
        and getattr(model, "_distribute_strategy", None) is None
    ):
        return False  # Keras builds when it traces the step, from no batch
    if build is None or not _needs_training_build(model):
        return False
    build(data_batch=make_batch())
    return not _needs_training_build(model)


def _needs_training_build(model) -> bool:
    unbuilt = [not layer.built for layer in model._flatten_layers()]
    for compiled in ("_compile_metrics", "_compile_loss"):
        part = getattr(model, compiled, None)
        unbuilt.append(part is not None and not part.built)
    return any(unbuilt)


def coalesce_sparse_gradients(optimizer: keras.optimizers.Optimizer | None) -> bool:
    """On TensorFlow, make ``optimizer`` sum each sparse gradient's repeated rows (an
    embedding's ``tf.IndexedSlices``) into a dense gradient before its update, as JAX and
    torch compute it; see the module docstring for why. Elsewhere, or done already, it does
    nothing.

    Returns whether ``optimizer`` was changed here.

    Example:

    >>> optimizer = keras.optimizers.Adam()
    >>> coalesce_sparse_gradients(optimizer) == (keras.backend.backend() == "tensorflow")
    True
    >>> coalesce_sparse_gradients(optimizer)  # once is enough
    False
    """
    if keras.backend.backend() != "tensorflow" or optimizer is None:
        return False
    if getattr(optimizer, "_textbones_coalesces_gradients", False):
        return False
    import tensorflow as tf  # the TensorFlow backend is in use: TensorFlow is installed

    apply = optimizer.apply

    @functools.wraps(apply)
    def apply_coalesced(grads, trainable_variables=None):
        grads = [
            tf.convert_to_tensor(grad) if isinstance(grad, tf.IndexedSlices) else grad
            for grad in grads
        ]
        return apply(grads, trainable_variables)

    optimizer.apply = apply_coalesced
    optimizer._textbones_coalesces_gradients = True
    return True


def weighted_sublayers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """``model``'s layers that have weights (itself excluded), in Keras' depth-first order:
    the numbering of KerasHub's LoRA adapter files.

    Example:

    >>> model = keras.Sequential([keras.layers.Dense(2), keras.layers.Dropout(0.1),
    ...                           keras.layers.Dense(1)])
    >>> model.build((None, 3))
    >>> [type(layer).__name__ for layer in weighted_sublayers(model)]
    ['Dense', 'Dense']
    """
    return [layer for layer in model._flatten_layers(include_self=False) if layer.weights]


#: A LoRA-enabled layer's merged weight (public property), the variable it adapts and its
#: two adapters: Dense and EinsumDense, then Embedding.
LORA_ATTRIBUTES = (
    ("kernel", "_kernel", "lora_kernel_a", "lora_kernel_b"),
    ("embeddings", "_embeddings", "lora_embeddings_a", "lora_embeddings_b"),
)


def lora_adapters(layer: keras.layers.Layer) -> tuple[Any, Any] | None:
    """A LoRA-enabled layer's adapter variables ``(A, B)``, or ``None`` if it has none.

    Example:

    >>> layer = keras.layers.Embedding(10, 4)
    >>> layer.build((None,))
    >>> layer.enable_lora(2)
    >>> [tuple(variable.shape) for variable in lora_adapters(layer)]
    [(10, 2), (2, 4)]
    """
    if not getattr(layer, "lora_enabled", False):
        return None
    for _, _, a_name, b_name in LORA_ATTRIBUTES:
        a, b = getattr(layer, a_name, None), getattr(layer, b_name, None)
        if isinstance(a, keras.Variable) and isinstance(b, keras.Variable):
            return a, b
    return None


def merged_lora_weights(model: keras.layers.Layer) -> dict[str, Callable[[], Any]]:
    """``{variable path: function giving the merged weight}`` for each frozen weight of a
    LoRA-enabled layer of ``model``: what the layer computes with, ``W + scale * A @ B``,
    where the variable alone holds ``W`` (as Keras' own saving merges them).

    Example:

    >>> layer = keras.layers.Dense(2, kernel_initializer="ones", name="d")
    >>> layer.build((None, 3))
    >>> layer.enable_lora(1, b_initializer="ones")
    >>> merged = merged_lora_weights(keras.Sequential([keras.Input((3,)), layer]))
    >>> value = keras.ops.convert_to_numpy(merged["d/kernel"]())
    >>> list(merged), bool((value == keras.ops.convert_to_numpy(layer.kernel)).all())
    (['d/kernel'], True)
    >>> bool((value != 1.0).any())  # the frozen kernel holds ones
    True
    """
    merged = {}
    for layer in weighted_sublayers(model):
        if lora_adapters(layer) is None:
            continue
        for merged_name, variable_name, _, _ in LORA_ATTRIBUTES:
            variable = getattr(layer, variable_name, None)
            if isinstance(variable, keras.Variable):
                merged[variable.path] = functools.partial(getattr, layer, merged_name)
                break
    return merged


def fold_lora(layer: keras.layers.Layer) -> None:
    """Fold a LoRA-enabled layer's adapters into its weight and make it a plain layer.

    The weight becomes ``W + (lora_alpha / lora_rank) * A @ B`` (what the layer computed
    with), trainable again; ``lora_kernel_a`` and ``lora_kernel_b`` are no longer among
    its variables. Raises ``TypeError`` for a layer that is not LoRA-enabled the way
    Keras' ``Dense``, ``EinsumDense`` and ``Embedding`` are.

    Example:

    >>> import numpy as np
    >>> layer = keras.layers.Dense(2, kernel_initializer="ones")
    >>> layer.build((None, 3))
    >>> layer.enable_lora(1, b_initializer="ones")
    >>> merged = keras.ops.convert_to_numpy(layer.kernel)
    >>> fold_lora(layer)
    >>> layer.lora_enabled, len(layer.weights), bool(np.all(
    ...     keras.ops.convert_to_numpy(layer.kernel) == merged))
    (False, 2, True)
    """
    for merged_name, variable_name, a_name, b_name in LORA_ATTRIBUTES:
        variable = getattr(layer, variable_name, None)
        if isinstance(variable, keras.Variable) and isinstance(
            getattr(layer, a_name, None), keras.Variable
        ):
            break
    else:
        raise TypeError(
            f"Layer {layer.name!r} ({type(layer).__name__}) has no LoRA adapters Keras' way "
            "(a LoRA-enabled Dense, EinsumDense or Embedding): it cannot be merged."
        )
    if getattr(layer, "quantization_mode", None) is not None:
        raise ValueError(
            f"Layer {layer.name!r} is quantized ({layer.quantization_mode}): merge the LoRA "
            "adapters before quantizing."
        )
    merged = keras.ops.convert_to_numpy(getattr(layer, merged_name))
    variable.assign(merged)
    delattr(layer, a_name)
    delattr(layer, b_name)
    layer.lora_enabled = False
    layer.lora_rank = None
    layer.lora_alpha = None
    variable.trainable = True


#: The task-config entry listing a task's own quantized layers (its head).
QUANTIZED_LAYERS_KEY = "quantized_layers"


def quantized_layer_policies(model: keras.Model, leave_out: Iterable[Any] = ()) -> dict[str, Any]:
    """``{layer path: serialized dtype policy}`` of ``model``'s quantized layers, less those
    of the models in ``leave_out`` (a task leaves out its backbone, which saves its own).

    Example:

    >>> import textbones
    >>> backbone = textbones.models.BertBackbone(100, 1, 2, 8, 16)
    >>> classifier = textbones.models.BertTextClassifier(backbone, 2, preprocessor=None)
    >>> classifier.quantize("int8", filters="logits")
    >>> list(quantized_layer_policies(classifier, leave_out=[backbone]))
    ['logits']
    """
    skipped = {id(layer) for part in leave_out for layer in part._flatten_layers()}
    return {
        layer.path: keras.dtype_policies.serialize(layer.dtype_policy)
        for layer in model._flatten_layers(include_self=False)
        if id(layer) not in skipped and layer.quantization_mode is not None
    }


def quantize_layers(model: keras.Model, policies: dict[str, Any]) -> None:
    """Give the layers of ``model`` named by path in ``policies`` their quantized policy,
    which quantizes each (its weights are then loaded into the quantized variables)."""
    layers = {layer.path: layer for layer in model._flatten_layers(include_self=False)}
    missing = sorted(set(policies) - set(layers))
    if missing:
        raise ValueError(
            f"The config of this {type(model).__name__} lists quantized layers it does not "
            f"have: {', '.join(missing)}. It was saved from another model."
        )
    for path, policy in policies.items():
        layer = layers[path]
        if layer.quantization_mode is None:
            layer.dtype_policy = keras.dtype_policies.deserialize(policy)


def use_config_activation_quantizer(layer: keras.layers.Layer, config: Any) -> None:
    """Make ``layer`` quantize its inputs as its quantization ``config`` says: not at all
    without a config or with a weight-only one (Keras' int4 default).

    Example:

    >>> import numpy as np
    >>> from textbones.layers import ReversibleEmbedding
    >>> layer = ReversibleEmbedding(10, 4, dtype="int4_from_float32")
    >>> layer.build()
    >>> layer.inputs_quantizer is None
    True
    """
    layer.inputs_quantizer = getattr(config, "activation_quantizer", None)
