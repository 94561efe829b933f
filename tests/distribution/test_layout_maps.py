"""``Backbone.get_layout_map`` for every family: which variables it shards, on which mesh
axes, and its errors. These need no devices (a mesh of 8 named CPU devices is enough to
look layouts up); ``test_eight_devices.py`` runs models on 8.
"""

from __future__ import annotations

import keras
import pytest

from tests.helpers import families

FAMILIES = families.family_params()
MESH = keras.distribution.DeviceMesh((2, 4), ["batch", "model"], [f"cpu:{i}" for i in range(8)])
#: What a layout map may leave whole on every device: biases, layer norms, the masked LM's
#: output bias.
WHOLE = ("/bias", "/gamma", "/beta", "mlm_head/output_bias")


def every_task(family) -> list[keras.Model]:
    """The family's backbone and each of its tasks, on tiny backbones with 4 heads."""
    heads = {"num_heads": 4} if "num_heads" in family.tiny_config else {}

    def backbone():
        return family.backbone(**families.tiny_config(family, num_layers=2, **heads))

    models = [backbone()]
    for name, task in family.tasks.items():
        arguments = {"num_classes": 3} if "classifier" in name else {}
        models.append(task(backbone(), preprocessor=None, **arguments))
    return models


def shardings(model, layout_map) -> dict[str, tuple]:
    """``{path: axes}`` of each of ``model``'s variables in ``layout_map`` (``()`` if none)."""
    found = {}
    for variable in model.weights:
        layout = layout_map[variable.path]
        found[variable.path] = () if layout is None else tuple(layout.axes)
    return found


@pytest.mark.parametrize("family", FAMILIES)
def test_layout_map_shards_every_kernel_and_embedding(family):
    layout_map = family.backbone.get_layout_map(MESH)
    for model in every_task(family):
        found = shardings(model, layout_map)
        whole = sorted(path for path, axes in found.items() if not axes)
        assert [path for path in whole if not path.endswith(WHOLE)] == [], type(model).__name__
        for path, axes in found.items():
            variable = next(v for v in model.weights if v.path == path)
            if axes:
                assert len(axes) == len(variable.shape), path
                assert "model" in axes, path
            if path.endswith(("/kernel", "/embeddings")):
                assert axes, path


def test_bert_sharding_table():
    """The layouts of one BERT block, as the note reports them."""
    family = families.family("bert")
    found = shardings(every_task(family)[0], family.backbone.get_layout_map(MESH))
    block = {
        path.removeprefix("transformer_layer_0/"): axes
        for path, axes in found.items()
        if not path.startswith("transformer_layer_1/")
    }
    print("\n" + "\n".join(f"{path:55} {axes}" for path, axes in block.items()))
    assert block == {
        "token_embedding/embeddings": (None, "model"),
        "position_embedding/embeddings": (None, "model"),
        "segment_embedding/embeddings": (None, "model"),
        "embeddings_layer_norm/gamma": (),
        "embeddings_layer_norm/beta": (),
        "self_attention_layer/query/kernel": ("batch", "model", None),
        "self_attention_layer/query/bias": (),
        "self_attention_layer/key/kernel": ("batch", "model", None),
        "self_attention_layer/key/bias": (),
        "self_attention_layer/value/kernel": ("batch", "model", None),
        "self_attention_layer/value/bias": (),
        "self_attention_layer/attention_output/kernel": ("model", None, "batch"),
        "self_attention_layer/attention_output/bias": (),
        "self_attention_layer_norm/gamma": (),
        "self_attention_layer_norm/beta": (),
        "feedforward_layer_norm/gamma": (),
        "feedforward_layer_norm/beta": (),
        "feedforward_intermediate_dense/kernel": ("batch", "model"),
        "feedforward_intermediate_dense/bias": (),
        "feedforward_output_dense/kernel": ("model", "batch"),
        "feedforward_output_dense/bias": (),
        "pooled_dense/kernel": ("batch", "model"),
        "pooled_dense/bias": (),
    }


def test_f_net_shards_its_feed_forward_only():
    family = families.family("f_net")
    found = shardings(every_task(family)[0], family.backbone.get_layout_map(MESH))
    assert found["f_net_layer_0/intermediate_dense/kernel"] == ("batch", "model")
    assert found["f_net_layer_1/output_dense/kernel"] == ("model", "batch")
    assert found["embedding_projection/kernel"] == ("batch", "model")


def test_axis_names_are_the_callers():
    mesh = keras.distribution.DeviceMesh((2, 4), ["data", "tensor"], [f"cpu:{i}" for i in range(8)])
    layout_map = families.family("bert").backbone.get_layout_map(
        mesh, model_parallel_dim_name="tensor", data_parallel_dim_name="data"
    )
    assert layout_map["transformer_layer_3/feedforward_output_dense/kernel"].axes == (
        "tensor",
        "data",
    )
    assert layout_map["logits/kernel"].axes == ("tensor", None)


def test_bad_meshes_and_axis_names():
    backbone = families.family("albert").backbone
    with pytest.raises(TypeError, match=r"must be a `keras.distribution.DeviceMesh`, got tuple"):
        backbone.get_layout_map((2, 4))
    with pytest.raises(
        ValueError, match=r"model-parallel axis 'model' is not an axis .*\['x', 'y'\]"
    ):
        backbone.get_layout_map(
            keras.distribution.DeviceMesh((2, 4), ["x", "y"], [f"cpu:{i}" for i in range(8)])
        )
    with pytest.raises(ValueError, match=r"data-parallel axis 'rows' is not an axis"):
        backbone.get_layout_map(MESH, data_parallel_dim_name="rows")


def test_no_two_rules_match_one_variable():
    """LayoutMap raises when two of its patterns match a path: none of the families' do."""
    looked_up = 0
    for family in families.families():
        layout_map = family.backbone.get_layout_map(MESH)
        for model in every_task(family):
            for variable in model.weights:
                layout_map[variable.path]  # raises on a double match
                looked_up += 1
    assert looked_up > 500
