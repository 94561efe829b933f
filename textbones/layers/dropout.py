"""Dropout whose random bits come from a cheap counter-based hash on JAX."""

import keras
import numpy as np
from keras import ops

_UINT32 = "uint32"


def _mix32(x):
    """Wellons' ``lowbias32`` integer hash: a bijection on uint32 with full avalanche."""
    x = ops.bitwise_xor(x, ops.right_shift(x, np.uint32(16)))
    x = ops.multiply(x, np.uint32(0x7FEB352D))
    x = ops.bitwise_xor(x, ops.right_shift(x, np.uint32(15)))
    x = ops.multiply(x, np.uint32(0x846CA68B))
    return ops.bitwise_xor(x, ops.right_shift(x, np.uint32(16)))


def hashed_keep_mask(shape, rate: float, seed):
    """A boolean ``shape`` mask, each entry ``True`` with probability ``1 - rate``.

    Entry ``i`` (in row-major order) is kept when ``h(h(i + k0) ^ k1) >= rate * 2**32``,
    with ``h`` the ``lowbias32`` hash and ``k0``, ``k1`` hashed from the two words of
    ``seed`` (a ``SeedGenerator`` draw). The bits depend only on the seed and the
    position, like a counter-based generator's; the hash is a few integer operations
    that fuse into the consumer, where JAX's default Threefry generator costs about 20
    rounds per word and a pass over memory. Exact to ``2**-32`` in the keep rate.

    Example:

    >>> import numpy as np
    >>> mask = keras.ops.convert_to_numpy(hashed_keep_mask((1000, 100), 0.25, np.array([3, 4])))
    >>> round(float(mask.mean()), 2)
    0.75
    """
    seed = ops.cast(ops.convert_to_tensor(seed), _UINT32)
    k0 = _mix32(ops.bitwise_xor(seed[0], np.uint32(0x9E3779B9)))
    k1 = _mix32(ops.add(seed[1], k0))
    size = int(np.prod(shape))
    bits = _mix32(ops.bitwise_xor(_mix32(ops.add(ops.arange(size, dtype=_UINT32), k0)), k1))
    threshold = np.uint32(min(round(rate * 2**32), 2**32 - 1))
    return ops.reshape(ops.greater_equal(bits, threshold), shape)


@keras.saving.register_keras_serializable(package="textbones")
class Dropout(keras.layers.Dropout):
    """``keras.layers.Dropout`` with cheaper random numbers on JAX.

    In training, each entry is zeroed with probability ``rate`` and the others are
    divided by ``1 - rate``, as in Keras. On JAX (without a ``noise_shape``) the mask
    comes from ``hashed_keep_mask`` seeded by the layer's ``SeedGenerator``, so it is
    reproducible under ``keras.utils.set_random_seed`` and fresh at every step; JAX's
    Threefry generator otherwise takes a sizeable share of a CPU training step. Other
    backends use ``keras.random.dropout``. Inference is the identity either way.

    Args:
        rate: the fraction of entries to drop, in ``[0, 1)``.
        noise_shape: as for ``keras.layers.Dropout``.
        seed: as for ``keras.layers.Dropout``.
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Example:

    >>> import numpy as np
    >>> layer = Dropout(0.5, seed=1)
    >>> out = keras.ops.convert_to_numpy(layer(np.ones((2, 1000), "float32"), training=True))
    >>> sorted(set(out.ravel().tolist())), round(float(out.mean()), 1)
    ([0.0, 2.0], 1.0)
    """

    def call(self, inputs, training=False):
        if (
            not training
            or not 0 < self.rate < 1
            or self.noise_shape is not None
            or keras.backend.backend() != "jax"
            or None in inputs.shape
        ):
            return super().call(inputs, training=training)
        keep = hashed_keep_mask(inputs.shape, self.rate, self.seed_generator.next())
        return ops.where(keep, inputs / (1.0 - self.rate), ops.zeros_like(inputs))
