"""Keras distribution for textbones' models: the layout maps of ``Backbone.get_layout_map``, and
the size batches of raw text must come in under a data-parallel distribution.

A layout rule pairs a regular expression, matched (``re.fullmatch``, as ``keras.distribution
.LayoutMap`` does) against a variable's whole path, with one role per axis of the variable:
``MODEL`` (split over the mesh's model-parallel axis), ``DATA`` (split over its data-parallel
axis: the weights are spread as well as the batch) or ``None`` (whole on every device).

The rules follow the usual Megatron-style split, in the axis names KerasHub uses for its own
layout maps: the attention heads and the feed-forward's intermediate units go over the model
axis, the hidden axis of those kernels over the data axis. Vocabulary axes are never split:
vocabulary sizes are seldom divisible by a mesh axis (30,522, 30,000, 119,547), and JAX only
shards axes that divide evenly. So a mesh's model axis must divide ``num_heads``,
``intermediate_dim`` and ``hidden_dim`` (and ALBERT's ``embedding_dim``), and its data axis
``hidden_dim``. Biases and layer norms stay whole: they are small, and each device needs them.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

#: The roles of a variable's axes in a layout rule.
MODEL = "model"
DATA = "data"

Rule = tuple[str, tuple[str | None, ...]]

#: Every family's embedding tables (the hidden axis split), and ALBERT's / FNet's projection.
EMBEDDINGS: tuple[Rule, ...] = (
    (r"(.+/)?(token|position|segment)_embedding/embeddings", (None, MODEL)),
    (r"embedding_projection/kernel", (DATA, MODEL)),
)

#: The attention blocks of BERT, ALBERT and DistilBERT: query, key and value kernels are
#: ``[hidden, heads, head_dim]``, the output kernel ``[heads, head_dim, hidden]``.
ATTENTION: tuple[Rule, ...] = (
    (r".+/self_attention_layer/(query|key|value)/kernel", (DATA, MODEL, None)),
    (r".+/self_attention_layer/attention_output/kernel", (MODEL, None, DATA)),
)

#: The feed-forward kernels of the transformer blocks (``[hidden, intermediate]`` in,
#: ``[intermediate, hidden]`` out).
FEEDFORWARD: tuple[Rule, ...] = (
    (r".+/feedforward_intermediate_dense/kernel", (DATA, MODEL)),
    (r".+/feedforward_output_dense/kernel", (MODEL, DATA)),
)

#: FNet's blocks: the Fourier mixing has no weights, so only the feed-forward is split; the
#: mixing's input and output (tensors, not variables: see ``FNetEncoder``) are split over the
#: batch only.
FNET_FEEDFORWARD: tuple[Rule, ...] = (
    (r"f_net_layer_\d+/intermediate_dense/kernel", (DATA, MODEL)),
    (r"f_net_layer_\d+/output_dense/kernel", (MODEL, DATA)),
    (r"f_net_layer_\d+/fourier_mixing", (DATA, None, None)),
)

#: The pooler, and the heads of every task: the masked LM's transform (its decoder is the
#: token embedding), and the classifiers', token classifiers' and question answerers' output
#: kernels, whose few output units (classes, start/end) stay whole.
HEADS: tuple[Rule, ...] = (
    (r"pooled_dense/kernel", (DATA, MODEL)),
    (r"mlm_head/intermediate_dense/kernel", (DATA, MODEL)),
    (r"(logits|qa_outputs)/kernel", (MODEL, None)),
)

#: The rules of the transformer families (BERT, ALBERT, DistilBERT).
TRANSFORMER_RULES = EMBEDDINGS + ATTENTION + FEEDFORWARD + HEADS
#: FNet's rules.
FNET_RULES = EMBEDDINGS + FNET_FEEDFORWARD + HEADS


def layout_map(
    rules: Sequence[Rule],
    device_mesh: keras.distribution.DeviceMesh,
    model_parallel_dim_name: str = "model",
    data_parallel_dim_name: str = "batch",
) -> keras.distribution.LayoutMap:
    """A ``keras.distribution.LayoutMap`` on ``device_mesh`` from layout ``rules``.

    Example:

    >>> import keras
    >>> mesh = keras.distribution.DeviceMesh((1, 1), ["batch", "model"], ["cpu:0"])
    >>> layouts = layout_map(FEEDFORWARD, mesh)
    >>> layouts["transformer_layer_0/feedforward_output_dense/kernel"].axes
    ('model', 'batch')
    """
    if not isinstance(device_mesh, keras.distribution.DeviceMesh):
        raise TypeError(
            "`device_mesh` must be a `keras.distribution.DeviceMesh`, got "
            f"{type(device_mesh).__name__}. Make one with, e.g., "
            "`keras.distribution.DeviceMesh((2, 4), ['batch', 'model'], "
            "keras.distribution.list_devices())`."
        )
    names = {MODEL: model_parallel_dim_name, DATA: data_parallel_dim_name}
    for role, name in names.items():
        if name not in device_mesh.axis_names:
            raise ValueError(
                f"The {role}-parallel axis {name!r} is not an axis of the device mesh, whose "
                f"axes are {list(device_mesh.axis_names)}. Pass the mesh's axis names as "
                "`model_parallel_dim_name=` and `data_parallel_dim_name=`."
            )
    layouts = keras.distribution.LayoutMap(device_mesh)
    for pattern, roles in rules:
        layouts[pattern] = tuple(None if role is None else names[role] for role in roles)
    return layouts


def data_parallel_size() -> int:
    """How many ways the current ``keras.distribution`` splits each batch in this process:
    the size of its mesh's batch axis over the number of processes, or 1 with none set.

    Batches of raw text are made a multiple of it (JAX only splits evenly).

    Example:

    >>> data_parallel_size()  # no distribution set
    1
    """
    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    mesh = distribution.device_mesh
    name = distribution.batch_dim_name
    if name is None or name not in mesh.axis_names:
        return 1
    size = mesh.shape[list(mesh.axis_names).index(name)]
    return max(1, size // _process_count())


def _process_count() -> int:
    if keras.config.backend() != "jax":
        return 1
    import jax

    return jax.process_count()
