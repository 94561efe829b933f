"""A token embedding that can also project hidden states back onto the vocabulary."""

import keras
from keras import ops

from textbones import keras_internals


@keras.saving.register_keras_serializable(package="textbones")
class ReversibleEmbedding(keras.layers.ReversibleEmbedding):
    """An ``Embedding`` that doubles as the output projection of a language model head.

    Called normally it maps ids ``[..., T]`` to vectors ``[..., T, output_dim]``. Called
    with ``reverse=True`` it maps vectors ``[..., output_dim]`` to logits
    ``[..., input_dim]``: with ``tie_weights=True`` by the transposed embedding matrix
    (how a masked-LM head shares its output weights with the input embedding), with
    ``tie_weights=False`` by a separate ``reverse_embeddings`` kernel
    ``[output_dim, input_dim]``.

    It is Keras' own ``keras.layers.ReversibleEmbedding`` (the layer KerasHub's models use)
    with stricter arguments, an error that names the fix when saved weights do not match
    ``tie_weights``, and a float path that computes in the layer's compute dtype. Weights,
    their order, config keys and quantized variables are Keras', so weights, configs and
    quantized presets move between textbones and KerasHub unchanged. ``quantize("int8")``
    and ``quantize("int4")`` quantize the embedding matrix (and the untied reverse kernel);
    the reverse projection then runs on the quantized kernel.

    Args:
        input_dim: vocabulary size.
        output_dim: size of each embedding vector.
        tie_weights: reuse the embedding matrix for the reverse projection.
        embeddings_initializer: initializer of the embedding matrix (and of the untied
            reverse kernel).
        embeddings_regularizer: as for ``keras.layers.Embedding``.
        embeddings_constraint: as for ``keras.layers.Embedding``.
        mask_zero: id 0 is padding: the forward call sets a Keras mask.
        reverse_dtype: dtype of the reverse matmul (inputs and kernel are cast to it),
            e.g. ``"float32"`` for full-precision logits under a mixed policy; ``None``
            uses the compute dtype.
        logit_soft_cap: if set, reverse logits become ``cap * tanh(logits / cap)``.
        **kwargs: any other ``keras.layers.Embedding`` argument (``name``, ``dtype``, ...).

    Example:

    >>> import numpy as np
    >>> layer = ReversibleEmbedding(input_dim=10, output_dim=4, tie_weights=False, name="tokens")
    >>> vectors = layer(np.array([[1, 2, 3]]))
    >>> tuple(vectors.shape), tuple(layer(vectors, reverse=True).shape)
    ((1, 3, 4), (1, 3, 10))
    >>> [w.path for w in layer.weights]
    ['tokens/embeddings', 'tokens/reverse_embeddings']
    >>> layer.quantize("int8")
    >>> [w.path for w in layer.weights]  # doctest: +NORMALIZE_WHITESPACE
    ['tokens/embeddings', 'tokens/embeddings_scale', 'tokens/reverse_embeddings',
     'tokens/reverse_embeddings_scale']
    >>> tuple(layer(vectors, reverse=True).shape)
    (1, 3, 10)
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        tie_weights: bool = True,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero: bool = False,
        reverse_dtype=None,
        logit_soft_cap: float | None = None,
        **kwargs,
    ):
        if not isinstance(tie_weights, bool):
            raise ValueError(f"`tie_weights` must be True or False, got {tie_weights!r}.")
        if logit_soft_cap is not None and (
            isinstance(logit_soft_cap, bool)
            or not isinstance(logit_soft_cap, int | float)
            or logit_soft_cap <= 0
        ):
            raise ValueError(
                f"`logit_soft_cap` must be a positive number or None, got {logit_soft_cap!r}."
            )
        super().__init__(
            input_dim,
            output_dim,
            tie_weights=tie_weights,
            embeddings_initializer=embeddings_initializer,
            embeddings_regularizer=embeddings_regularizer,
            embeddings_constraint=embeddings_constraint,
            mask_zero=mask_zero,
            reverse_dtype=(
                None if reverse_dtype is None else keras.backend.standardize_dtype(reverse_dtype)
            ),
            logit_soft_cap=logit_soft_cap,
            **kwargs,
        )

    def call(self, inputs, reverse: bool = False):
        if not reverse:
            return keras.layers.Embedding.call(self, inputs)
        # Float kernels (quantized ones go through Keras' quantized call instead).
        if self.tie_weights:
            kernel = ops.transpose(self.embeddings)
        else:
            kernel = self.reverse_embeddings
        dtype = self.reverse_dtype or self.compute_dtype
        logits = ops.matmul(ops.cast(inputs, dtype), ops.cast(kernel, dtype))
        if self.logit_soft_cap is not None:
            cap = ops.cast(self.logit_soft_cap, logits.dtype)
            logits = ops.multiply(ops.tanh(ops.divide(logits, cap)), cap)
        return logits

    def quantized_build(self, embeddings_shape, mode, config=None):
        super().quantized_build(embeddings_shape, mode, config)
        if mode == "int4":
            # Weight-only unless the config says otherwise, however the layer was built
            # (quantized now, or rebuilt from a saved policy): see keras_internals.
            keras_internals.use_config_activation_quantizer(self, config)

    def load_own_variables(self, store):
        if not self.tie_weights and self.quantization_mode is None and len(store.keys()) != 2:
            raise ValueError(
                f"{self.name} (tie_weights=False) expects 2 saved variables, 'embeddings' "
                f"and 'reverse_embeddings', but the file holds {len(store.keys())}. Load it "
                "into a layer built with the tie_weights it was saved with."
            )
        return super().load_own_variables(store)

    def quantize(self, mode=None, type_check=True, config=None):
        # Keras' layer accepts only its exact type unless told otherwise; this subclass
        # keeps its variables and calls, so Keras' quantization applies unchanged.
        return super().quantize(mode, type_check=False, config=config)

    def compute_mask(self, inputs, mask=None):
        # Float inputs are hidden states of a reverse call: no mask. Ids get Embedding's.
        if keras.backend.is_float_dtype(keras.backend.standardize_dtype(inputs.dtype)):
            return None
        return keras.layers.Embedding.compute_mask(self, inputs, mask)

    def compute_output_shape(self, input_shape, reverse: bool = False):
        if reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return tuple(input_shape) + (self.output_dim,)

    def compute_output_spec(self, inputs, reverse: bool = False):
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)
