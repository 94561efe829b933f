"""Independent NumPy forward passes of the three backbones, read from a model's weights.

Written from the papers' equations, not from textbones' layers, so that a test comparing
the two checks the math rather than the code against itself.
"""

import importlib

import numpy as np


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _values(layer):
    return [np.asarray(w.numpy(), dtype="float64") for w in layer.weights]


def dense(layer, x):
    kernel, bias = _values(layer)
    return x @ kernel + bias


def embed(backbone, token_ids, segment_ids):
    length = token_ids.shape[1]
    (tokens,) = _values(backbone.token_embedding)
    (positions,) = _values(backbone.position_embedding)
    (segments,) = _values(backbone.segment_embedding)
    x = tokens[token_ids] + positions[None, :length] + segments[segment_ids]
    return layer_norm(x, *_values(backbone.embeddings_layer_norm), 1e-12)


def transformer_block(block, x, padding_mask):
    attention = block._self_attention_layer
    wq, bq = _values(attention.query_dense)
    wk, bk = _values(attention.key_dense)
    wv, bv = _values(attention.value_dense)
    wo, bo = _values(attention.output_dense)
    q = np.einsum("btc,cnh->btnh", x, wq) + bq
    k = np.einsum("btc,cnh->btnh", x, wk) + bk
    v = np.einsum("btc,cnh->btnh", x, wv) + bv
    scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    scores = np.where(padding_mask[:, None, None, :] > 0, scores, -np.inf)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    probabilities = scores / scores.sum(-1, keepdims=True)
    context = np.einsum("bnts,bsnh->btnh", probabilities, v)
    attended = np.einsum("btnh,nhc->btc", context, wo) + bo
    x = layer_norm(x + attended, *_values(block._self_attention_layer_norm), 1e-12)
    hidden = gelu_tanh(dense(block._feedforward_intermediate_dense, x))
    x2 = dense(block._feedforward_output_dense, hidden)
    return layer_norm(x + x2, *_values(block._feedforward_layer_norm), 1e-12)


def f_net_block(block, x):
    mixed = layer_norm(
        x + np.fft.fft2(x, axes=(1, 2)).real, *_values(block._mixing_layer_norm), 1e-12
    )
    hidden = gelu_tanh(dense(block._intermediate_dense, mixed))
    out = dense(block._output_dense, hidden)
    return layer_norm(mixed + out, *_values(block._output_layer_norm), 1e-12)


def pool(backbone, x):
    return np.tanh(dense(backbone.pooled_dense, x[:, 0, :]))


def bert_forward(backbone, inputs):
    x = embed(backbone, inputs["token_ids"], inputs["segment_ids"])
    for block in backbone.transformer_layers:
        x = transformer_block(block, x, inputs["padding_mask"])
    return {"sequence_output": x, "pooled_output": pool(backbone, x)}


def albert_forward(backbone, inputs):
    x = embed(backbone, inputs["token_ids"], inputs["segment_ids"])
    x = dense(backbone.embedding_projection, x)
    per_group = backbone.num_layers // backbone.num_groups
    for depth in range(backbone.num_layers):
        for block in backbone.groups[depth // per_group]:
            x = transformer_block(block, x, inputs["padding_mask"])
    return {"sequence_output": x, "pooled_output": pool(backbone, x)}


def f_net_forward(backbone, inputs):
    x = embed(backbone, inputs["token_ids"], inputs["segment_ids"])
    x = dense(backbone.embedding_projection, x)
    for block in backbone.transformer_layers:
        x = f_net_block(block, x)
    return {"sequence_output": x, "pooled_output": pool(backbone, x)}


class _Forwards(dict):
    """The forward pass of each family by name.

    A family whose pass is not written here has it in its own tests folder, as
    ``tests/models/<name>/numpy_forward.py``'s ``forward``; one with neither is named in the
    error.
    """

    def __missing__(self, name):
        try:
            module = importlib.import_module(f"tests.models.{name}.numpy_forward")
        except ModuleNotFoundError:
            raise KeyError(
                f"No NumPy forward pass of the {name!r} family: write one from its paper's "
                f"equations in tests/models/{name}/numpy_forward.py (a `forward(backbone, "
                "inputs)` returning the sequence and pooled features)."
            ) from None
        self[name] = module.forward
        return module.forward


#: The independent forward pass of each family, by family name: one entry per family, since
#: each is written from that family's paper.
FORWARD = _Forwards(bert=bert_forward, albert=albert_forward, f_net=f_net_forward)
