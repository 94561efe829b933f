"""KerasHub side of ``test_layers_api_parity.py``: the layers' new arguments, case by case.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub`` and ``textbones`` in one process (JAX backend) and, for each case, builds the
KerasHub layer, gives it random weights, copies them into the textbones layer (checking
that both list the same weights, in the same order, under the same names and shapes) and
asserts here that

* outputs agree within ``TOLERANCE`` (float32): ``ReversibleEmbedding`` forward and
  ``reverse=True`` with ``tie_weights``, ``reverse_dtype``, ``logit_soft_cap``;
  ``PositionEmbedding`` with ``start_index`` and ``positions`` (shared and per row);
  ``TokenAndPositionEmbedding`` with ``tie_weights``, ``mask_zero`` (the masks too),
  ``start_index`` and ``positions``; ``TransformerEncoder`` with
  ``return_attention_scores=True`` (outputs and scores) under ``padding_mask``,
  ``attention_mask``, a Keras mask from ``mask_zero`` embeddings, pre-norm and dropout;
  a guide-style model (``TokenAndPositionEmbedding(mask_zero=True)`` -> encoder -> pooling);
* configs are equal and each library's ``from_config`` takes the other's config;
* a ``.weights.h5`` file saved by one library loads into the other's model;
* under a global ``mixed_float16`` policy, textbones' compiled ``predict`` of
  ``TransformerEncoder``, ``FNetEncoder`` and ``BertBackbone`` runs and agrees with
  KerasHub's eager call within ``FLOAT16_TOLERANCE`` (KerasHub's own compiled ``predict``
  of a dropout-free ``TransformerEncoder`` fails on JAX's CPU, the bug textbones fixed).

The last line of stdout is a JSON summary of every case's largest difference.
"""

import json
import os
import sys
import tempfile

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from reference_shared import stderr_silenced  # noqa: E402

with stderr_silenced():
    import keras
    import keras_hub
    from keras.src.backend import get_keras_mask

import textbones  # noqa: E402

TOLERANCE = 1e-5
# float16 keeps 11 significant bits: outputs of order 1-4 differ by an ulp or two (1e-3 to
# 4e-3) between two correct float16 computations that round at different steps.
FLOAT16_TOLERANCE = 1e-2
RNG = np.random.default_rng(20261201)
SUMMARY: dict = {}


def randomize(layer) -> None:
    for variable in layer.weights:
        shape = tuple(variable.shape)
        variable.assign(
            RNG.normal(0.0, 0.3, shape).astype(keras.backend.standardize_dtype(variable.dtype))
        )


def copy_weights(source, target) -> None:
    """``source``'s weights into ``target``, after checking both list the same variables."""

    def listing(layer):
        return [
            (v.path.split("/", 1)[1] if "/" in v.path else v.path, tuple(v.shape))
            for v in layer.weights
        ]

    assert listing(source) == listing(target), (listing(source), listing(target))
    target.set_weights(source.get_weights())


def difference(a, b) -> float:
    a = np.asarray(keras.ops.convert_to_numpy(a), "float64")
    b = np.asarray(keras.ops.convert_to_numpy(b), "float64")
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max()) if a.size else 0.0


def record(case: str, value: float, tolerance: float = TOLERANCE) -> None:
    assert value <= tolerance, f"{case}: difference {value} > {tolerance}"
    SUMMARY[case] = value


def same_config(case: str, hub_layer, bones_layer, hub_class, bones_class) -> None:
    hub_config, bones_config = hub_layer.get_config(), bones_layer.get_config()
    # Names differ only by Keras' automatic numbering.
    assert {**hub_config, "name": None} == {**bones_config, "name": None}, (
        case,
        hub_config,
        bones_config,
    )
    assert bones_class.from_config(hub_config).get_config() == hub_config, case
    assert hub_class.from_config(bones_config).get_config() == bones_config, case


def reversible_embedding_cases() -> None:
    cases = {
        "tied": {},
        "untied": {"tie_weights": False},
        "soft_cap": {"logit_soft_cap": 2.0},
        "untied_soft_cap_reverse_float32": {
            "tie_weights": False,
            "logit_soft_cap": 3.0,
            "reverse_dtype": "float32",
        },
        "mask_zero": {"mask_zero": True},
    }
    ids = np.array([[0, 4, 12, 3], [7, 0, 0, 1]], "int32")
    hidden = 3 * RNG.normal(size=(2, 4, 6)).astype("float32")
    for name, kwargs in cases.items():
        hub = keras_hub.layers.ReversibleEmbedding(13, 6, name="tokens", **kwargs)
        bones = textbones.layers.ReversibleEmbedding(13, 6, name="tokens", **kwargs)
        hub.build()
        bones.build()
        randomize(hub)
        copy_weights(hub, bones)
        record(f"reversible_embedding/{name}/forward", difference(hub(ids), bones(ids)))
        record(
            f"reversible_embedding/{name}/reverse",
            difference(hub(hidden, reverse=True), bones(hidden, reverse=True)),
        )
        same_config(
            name,
            hub,
            bones,
            keras_hub.layers.ReversibleEmbedding,
            textbones.layers.ReversibleEmbedding,
        )
    # reverse_dtype under a mixed policy: float32 logits in both.
    hub = keras_hub.layers.ReversibleEmbedding(
        13, 6, reverse_dtype="float32", dtype="mixed_float16"
    )
    bones = textbones.layers.ReversibleEmbedding(
        13, 6, reverse_dtype="float32", dtype="mixed_float16"
    )
    hub.build()
    bones.build()
    randomize(hub)
    copy_weights(hub, bones)
    hub_logits, bones_logits = hub(hidden, reverse=True), bones(hidden, reverse=True)
    assert (
        keras.backend.standardize_dtype(bones_logits.dtype)
        == "float32"
        == keras.backend.standardize_dtype(hub_logits.dtype)
    )
    record(
        "reversible_embedding/mixed_float16_reverse_float32", difference(hub_logits, bones_logits)
    )
    # A mask_zero layer's masks.
    hub = keras_hub.layers.ReversibleEmbedding(13, 6, mask_zero=True)
    bones = textbones.layers.ReversibleEmbedding(13, 6, mask_zero=True)
    bones_mask = keras.ops.convert_to_numpy(bones.compute_mask(ids))
    assert bones_mask.tolist() == (ids != 0).tolist(), bones_mask


def weight_files_cross_load() -> None:
    """``save_weights`` of each library's model loads into the other's (untied embedding)."""

    def model(library):
        inputs = keras.Input((None,), dtype="int32")
        embed = library.layers.TokenAndPositionEmbedding(13, 8, 6, tie_weights=False, name="embed")
        x = embed(inputs)
        x = library.layers.TransformerEncoder(12, 2, name="encoder")(x)
        return keras.Model(inputs, embed.token_embedding(x, reverse=True))

    ids = np.array([[1, 5, 2, 9]], "int32")
    hub, bones = model(keras_hub), model(textbones)
    randomize(hub)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "hub.weights.h5")
        hub.save_weights(path)
        bones.load_weights(path)
        record("weights_file/keras_hub_to_textbones", difference(hub(ids), bones(ids)))
        randomize(bones)
        path = os.path.join(folder, "bones.weights.h5")
        bones.save_weights(path)
        hub.load_weights(path)
        record("weights_file/textbones_to_keras_hub", difference(hub(ids), bones(ids)))


def position_embedding_cases() -> None:
    hub = keras_hub.layers.PositionEmbedding(sequence_length=10)
    bones = textbones.layers.PositionEmbedding(sequence_length=10)
    hub.build((None, None, 4))
    bones.build((None, None, 4))
    randomize(hub)
    copy_weights(hub, bones)
    x = np.zeros((2, 3, 4), "float32")
    calls = {
        "default": {},
        "start_index": {"start_index": 4},
        "shared_positions": {"positions": np.array([9, 0, 5], "int32")},
        "per_row_positions": {"positions": np.array([[1, 2, 3], [8, 8, 2]], "int32")},
    }
    for name, kwargs in calls.items():
        record(f"position_embedding/{name}", difference(hub(x, **kwargs), bones(x, **kwargs)))
    same_config(
        "position_embedding",
        hub,
        bones,
        keras_hub.layers.PositionEmbedding,
        textbones.layers.PositionEmbedding,
    )


def token_and_position_embedding_cases() -> None:
    ids = np.array([[3, 9, 1, 0, 0], [2, 2, 2, 2, 2]], "int32")
    calls = {
        "default": {},
        "start_index": {"start_index": 2},
        "positions": {"positions": np.array([4, 3, 2, 1, 0], "int32")},
    }
    for name, kwargs in {
        "tied": {},
        "untied": {"tie_weights": False},
        "mask_zero": {"mask_zero": True},
        "glorot": {"embeddings_initializer": "glorot_uniform"},
    }.items():
        hub = keras_hub.layers.TokenAndPositionEmbedding(13, 8, 6, **kwargs)
        bones = textbones.layers.TokenAndPositionEmbedding(13, 8, 6, **kwargs)
        hub.build((None, None))
        bones.build((None, None))
        randomize(hub)
        copy_weights(hub, bones)
        for call, call_kwargs in calls.items():
            record(
                f"token_and_position_embedding/{name}/{call}",
                difference(hub(ids, **call_kwargs), bones(ids, **call_kwargs)),
            )
        same_config(
            name,
            hub,
            bones,
            keras_hub.layers.TokenAndPositionEmbedding,
            textbones.layers.TokenAndPositionEmbedding,
        )
        hub_mask, bones_mask = get_keras_mask(hub(ids)), get_keras_mask(bones(ids))
        if kwargs.get("mask_zero"):
            expected = (ids != 0).tolist()
            assert keras.ops.convert_to_numpy(hub_mask).tolist() == expected, hub_mask
            assert keras.ops.convert_to_numpy(bones_mask).tolist() == expected, bones_mask
            assert keras.ops.convert_to_numpy(bones.compute_mask(ids)).tolist() == expected
        else:
            assert hub_mask is None and bones_mask is None, (hub_mask, bones_mask)


def encoder_pair(library_layers, **kwargs):
    return library_layers.TransformerEncoder(intermediate_dim=12, num_heads=2, **kwargs)


def attention_score_cases() -> None:
    x = RNG.normal(size=(2, 5, 8)).astype("float32")
    padding = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], "int32")
    causal = np.broadcast_to(np.tril(np.ones((5, 5), "int32")), (2, 5, 5)).copy()
    cases = {
        "plain": ({}, {}),
        "padding_mask": ({}, {"padding_mask": padding}),
        "attention_mask": ({}, {"attention_mask": causal}),
        "both_masks": ({}, {"padding_mask": padding, "attention_mask": causal}),
        "pre_norm": ({"normalize_first": True}, {"padding_mask": padding}),
        "dropout_inference": ({"dropout": 0.3}, {"padding_mask": padding}),
        "gelu": ({"activation": "gelu", "layer_norm_epsilon": 1e-12}, {"padding_mask": padding}),
    }
    for name, (layer_kwargs, call_kwargs) in cases.items():
        hub, bones = (
            encoder_pair(keras_hub.layers, **layer_kwargs),
            encoder_pair(textbones.layers, **layer_kwargs),
        )
        hub.build((None, 5, 8))
        bones.build((None, 5, 8))
        randomize(hub)
        copy_weights(hub, bones)
        hub_out, hub_scores = hub(x, return_attention_scores=True, **call_kwargs)
        bones_out, bones_scores = bones(x, return_attention_scores=True, **call_kwargs)
        record(f"transformer_encoder/{name}/outputs", difference(hub_out, bones_out))
        record(f"transformer_encoder/{name}/scores", difference(hub_scores, bones_scores))
        record(
            f"transformer_encoder/{name}/fused_outputs",
            difference(hub(x, **call_kwargs), bones(x, **call_kwargs)),
        )
        same_config(
            name,
            hub,
            bones,
            keras_hub.layers.TransformerEncoder,
            textbones.layers.TransformerEncoder,
        )


def keras_mask_model(library):
    """The keras.io FNet-guide pattern: masked embeddings, encoders, average pooling."""
    inputs = keras.Input((None,), dtype="int32")
    x = library.layers.TokenAndPositionEmbedding(13, 8, 8, mask_zero=True, name="embed")(inputs)
    x = library.layers.TransformerEncoder(intermediate_dim=12, num_heads=2, name="encoder")(x)
    x = library.layers.FNetEncoder(intermediate_dim=12, name="f_net")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x))


def keras_mask_cases() -> None:
    ids = np.array([[3, 9, 1, 0, 0, 0], [2, 5, 2, 7, 2, 1]], "int32")
    hub, bones = keras_mask_model(keras_hub), keras_mask_model(textbones)
    randomize(hub)
    copy_weights(hub, bones)
    record(
        "keras_mask/guide_model_pooled",
        difference(hub.predict(ids, verbose=0), bones.predict(ids, verbose=0)),
    )
    # Scores under a Keras mask, eagerly (KerasHub's encoder returns a single symbolic output).
    for normalize_first in (False, True):
        layers = {}
        for library in (keras_hub, textbones):
            embed = library.layers.TokenAndPositionEmbedding(13, 8, 8, mask_zero=True)
            encoder = library.layers.TransformerEncoder(12, 2, normalize_first=normalize_first)
            embed.build((None, None))
            encoder.build((None, None, 8))
            layers[library.__name__] = (embed, encoder)
        for hub_layer, bones_layer in zip(layers["keras_hub"], layers["textbones"], strict=True):
            randomize(hub_layer)
            copy_weights(hub_layer, bones_layer)
        results = {}
        for name, (embed, encoder) in layers.items():
            results[name] = encoder(embed(ids), return_attention_scores=True)
        case = f"keras_mask/normalize_first={normalize_first}"
        record(f"{case}/outputs", difference(results["keras_hub"][0], results["textbones"][0]))
        record(f"{case}/scores", difference(results["keras_hub"][1], results["textbones"][1]))


def mixed_float16_cases() -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        x = RNG.normal(size=(3, 6, 8)).astype("float32")
        padding = np.array([[1] * 6, [1] * 4 + [0] * 2, [1, 0, 0, 0, 0, 0]], "int32")
        for name, factory in {
            "transformer_encoder": lambda lib: lib.layers.TransformerEncoder(
                intermediate_dim=16, num_heads=2
            ),
            "transformer_encoder_dropout": lambda lib: lib.layers.TransformerEncoder(
                intermediate_dim=16, num_heads=2, dropout=0.1
            ),
            "f_net_encoder": lambda lib: lib.layers.FNetEncoder(intermediate_dim=16),
        }.items():
            models = {}
            for lib in (keras_hub, textbones):
                inputs, mask = keras.Input((6, 8)), keras.Input((6,), dtype="int32")
                layer = factory(lib)
                y = layer(inputs) if name == "f_net_encoder" else layer(inputs, padding_mask=mask)
                models[lib.__name__] = keras.Model([inputs, mask], y)
            randomize(models["keras_hub"])
            copy_weights(models["keras_hub"], models["textbones"])
            hub_out = keras.ops.convert_to_numpy(models["keras_hub"]([x, padding]))
            bones_model = models["textbones"]
            bones_model.compile(loss="mse")
            bones_out = bones_model.predict([x, padding], verbose=0)
            loss = bones_model.evaluate([x, padding], x, verbose=0)
            assert bones_out.dtype == np.float16 and hub_out.dtype == np.float16, (
                bones_out.dtype,
                hub_out.dtype,
            )
            assert np.isfinite(loss), loss
            record(
                f"mixed_float16/{name}/predict_vs_keras_hub",
                difference(hub_out, bones_out),
                FLOAT16_TOLERANCE,
            )
        config = {
            "vocabulary_size": 50,
            "num_layers": 2,
            "num_heads": 2,
            "hidden_dim": 16,
            "intermediate_dim": 32,
            "max_sequence_length": 12,
        }
        hub = keras_hub.models.BertBackbone(**config)
        bones = textbones.models.BertBackbone(**config)
        randomize(hub)
        copy_weights(hub, bones)
        mask = np.array([[1] * 7, [1] * 5 + [0] * 2], "int32")
        inputs = {
            "token_ids": RNG.integers(1, 50, (2, 7)).astype("int32") * mask,
            "segment_ids": np.zeros((2, 7), "int32"),
            "padding_mask": mask,
        }
        hub_out = hub(inputs)
        bones.compile(loss="mse")
        bones_out = bones.predict(inputs, verbose=0)
        bones.evaluate(
            inputs,
            {"sequence_output": np.zeros((2, 7, 16)), "pooled_output": np.zeros((2, 16))},
            verbose=0,
        )
        assert bones_out["sequence_output"].dtype == np.float16
        record(
            "mixed_float16/bert_backbone/sequence_output",
            difference(hub_out["sequence_output"], bones_out["sequence_output"]),
            FLOAT16_TOLERANCE,
        )
        record(
            "mixed_float16/bert_backbone/pooled_output",
            difference(hub_out["pooled_output"], bones_out["pooled_output"]),
            FLOAT16_TOLERANCE,
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main() -> dict:
    assert keras.config.backend() == "jax"
    repository = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert os.path.abspath(textbones.__file__).startswith(repository + os.sep), (
        f"imported {textbones.__file__}, not the textbones of {repository}: set PYTHONPATH"
    )
    reversible_embedding_cases()
    weight_files_cross_load()
    position_embedding_cases()
    token_and_position_embedding_cases()
    attention_score_cases()
    keras_mask_cases()
    mixed_float16_cases()
    return {"backend": keras.config.backend(), "differences": SUMMARY}


if __name__ == "__main__":
    sys.stdout.flush()
    print(json.dumps(main()))
