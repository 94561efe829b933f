"""DistilBERT's forward pass in NumPy, from the paper's equations, for the tests.

``forward`` is what the family-wide tests (``tests/helpers/numpy_reference.FORWARD``) find for
the ``distil_bert`` family; ``numpy_forward`` is the sequence output alone.
"""

import keras
import numpy as np
from scipy.special import erf


def to_numpy(value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")


def _values(layer):
    return [to_numpy(weight) for weight in layer.weights]


def _layer_norm(x, layer):
    gamma, beta = _values(layer)
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + 1e-12) * gamma + beta


def numpy_forward(backbone, inputs) -> np.ndarray:
    """DistilBERT's encoder from the paper's equations (exact GELU, post-norm blocks)."""
    token_ids, mask = inputs["token_ids"], inputs["padding_mask"]
    (tokens,) = _values(backbone.embeddings.token_embedding)
    (positions,) = _values(backbone.embeddings.position_embedding)
    x = _layer_norm(tokens[token_ids] + positions[None, : token_ids.shape[1]],
                    backbone.embeddings_layer_norm)  # fmt: skip
    for block in backbone.transformer_layers:
        attention = block._self_attention_layer
        wq, bq = _values(attention.query_dense)
        wk, bk = _values(attention.key_dense)
        wv, bv = _values(attention.value_dense)
        wo, bo = _values(attention.output_dense)
        q = np.einsum("btc,cnh->btnh", x, wq) + bq
        k = np.einsum("btc,cnh->btnh", x, wk) + bk
        v = np.einsum("btc,cnh->btnh", x, wv) + bv
        scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
        scores = np.where(mask[:, None, None, :] > 0, scores, -np.inf)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probabilities = scores / scores.sum(-1, keepdims=True)
        attended = np.einsum("btnh,nhc->btc", np.einsum("bnts,bsnh->btnh", probabilities, v), wo)
        x = _layer_norm(x + attended + bo, block._self_attention_layer_norm)
        w1, b1 = _values(block._feedforward_intermediate_dense)
        w2, b2 = _values(block._feedforward_output_dense)
        hidden = x @ w1 + b1
        hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
        x = _layer_norm(x + hidden @ w2 + b2, block._feedforward_layer_norm)
    return x


def forward(backbone, inputs) -> dict[str, np.ndarray]:
    """The backbone's features: the sequence output and its first token's vector."""
    sequence = numpy_forward(backbone, inputs)
    return {"sequence_output": sequence, "pooled_output": sequence[:, backbone.cls_token_index]}
