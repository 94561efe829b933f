"""The FNet block: Fourier token mixing instead of attention."""

import keras
from keras import ops

from textbones.layers.activations import get_activation, serialize_activation
from textbones.layers.dropout import Dropout


def fourier_mix(x):
    """Real part of the unnormalised 2-D DFT over the (sequence, hidden) axes, in float32.

    Example:

    >>> import numpy as np
    >>> x = np.arange(6, dtype="float32").reshape(1, 2, 3)
    >>> np.allclose(fourier_mix(x), np.fft.fft2(x).real, atol=1e-5)
    True
    """
    original_dtype = x.dtype
    real = ops.cast(x, "float32")
    mixed, _ = ops.fft2((real, ops.zeros_like(real)))
    return ops.cast(mixed, original_dtype)


@keras.saving.register_keras_serializable(package="textbones")
class FNetEncoder(keras.layers.Layer):
    """FNet's encoder block::

        mix = LayerNorm(x + real(FFT2(x)))
        out = LayerNorm(mix + Dropout(W2 · activation(W1 · mix)))

    The Fourier transform runs over the sequence and hidden axes, unnormalised and in
    float32 even under a mixed precision policy. There are no attention weights and no
    padding mask: padding tokens are mixed like any other.

    Args:
        intermediate_dim: width of the feed-forward network's hidden layer.
        dropout: dropout rate on the feed-forward branch.
        activation: feed-forward activation (a name or a callable).
        layer_norm_epsilon: epsilon of both layer norms.
        kernel_initializer: initializer of both kernels.
        bias_initializer: initializer of both biases.
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Example:

    >>> import numpy as np
    >>> encoder = FNetEncoder(intermediate_dim=16)
    >>> tuple(encoder(np.random.rand(2, 5, 8).astype("float32")).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        intermediate_dim: int,
        dropout: float = 0.0,
        activation="relu",
        layer_norm_epsilon: float = 1e-5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout = float(dropout)
        self.activation = get_activation(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        self._mixing_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="mixing_layer_norm"
        )
        self._mixing_layer_norm.build(inputs_shape)
        # Built second, as in KerasHub, so both layers list their weights in one order.
        self._output_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="output_layer_norm"
        )
        self._output_layer_norm.build(inputs_shape)
        self._intermediate_dense = keras.layers.Dense(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer.clone(),
            bias_initializer=self.bias_initializer.clone(),
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self._intermediate_dense.build(inputs_shape)
        self._output_dense = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=self.kernel_initializer.clone(),
            bias_initializer=self.bias_initializer.clone(),
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self._output_dense.build(tuple(inputs_shape[:-1]) + (self.intermediate_dim,))
        self._output_dropout = Dropout(self.dropout, dtype=self.dtype_policy, name="output_dropout")

    def call(self, inputs, training=None):
        mixing = self._fourier_layout
        mixed = self._mixing_layer_norm(inputs + mixing(fourier_mix(mixing(inputs))))
        x = self._output_dense(self._intermediate_dense(mixed))
        x = self._output_dropout(x, training=training)
        return self._output_layer_norm(mixed + x)

    def _fourier_layout(self, x):
        """``x`` (the Fourier mixing's input or output) laid out as the distribution's
        layout map says for the path ``"<layer path>/fourier_mixing"``, if it names one.

        The transform mixes the whole hidden axis, and XLA's CPU FFT fails on a tensor
        split along it (``fft_thunk``: its layout is not the default), forward or in the
        gradient: FNet's layout map keeps both sides of the mixing whole along it.
        """
        distribution = keras.distribution.distribution()
        if distribution is None:
            return x
        layout = distribution.get_tensor_layout(f"{self.path}/fourier_mixing")
        return x if layout is None else keras.distribution.distribute_tensor(x, layout)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": serialize_activation(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
