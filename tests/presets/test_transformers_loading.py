"""Loading ``transformers`` checkpoints: config mapping, refusals, key prefixes, task heads,
tokenizers.

The checkpoints are written by textbones' exporter and then edited (see
``tests/helpers/transformers_checkpoints.py``); ``tests/parity/test_transformers_parity.py``
checks the same paths against ``transformers`` itself.
"""

import inspect
import json
import warnings

import keras
import numpy as np
import pytest

import textbones
from tests.conftest import TINY_CONFIGS, make_inputs, make_tiny_backbone, to_numpy
from tests.helpers import families
from tests.helpers.sentence_piece import tiny_proto
from tests.helpers.transformers_checkpoints import edit_config, read_all, rewrite_weights, shard
from textbones.models import Backbone, BertBackbone, MaskedLM, Task, TextClassifier
from textbones.presets.transformers.mapping import UnsupportedCheckpointError
from textbones.tokenizers import Tokenizer

BERT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "##es", "."]


def _export_backbone(tmp_path, family="bert", **overrides):
    backbone = make_tiny_backbone(family, **overrides)
    folder = tmp_path / f"{family}_hf"
    backbone.save_to_preset(folder, format="transformers")
    return backbone, folder


def _outputs(model, family):
    """The backbone's sequence and pooled features, read through its hooks."""
    outputs = model(make_inputs(family))
    return {
        "sequence_output": to_numpy(model.sequence_features(outputs)),
        "pooled_output": to_numpy(model.pooled_features(outputs)),
    }


def _has_activation_and_epsilon(family) -> bool:
    parameters = inspect.signature(family.backbone.__init__).parameters
    return "activation" in parameters and "layer_norm_epsilon" in parameters


# For the families whose config sets `hidden_act` and `layer_norm_eps` (DistilBERT's fixes both;
# its mapping tests cover the settings it refuses).
@pytest.mark.parametrize("family", families.family_names(_has_activation_and_epsilon))
def test_config_fields_that_change_the_math_are_honoured(tmp_path, family):
    _, folder = _export_backbone(tmp_path, family)
    model_type = families.family(family).transformers.model_type
    edit_config(folder, model_type=model_type, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-7)
    backbone = Backbone.from_preset(folder, load_weights=False)
    assert backbone.activation == "gelu_approximate"
    assert backbone.layer_norm_epsilon == 1e-7
    assert backbone.max_sequence_length == TINY_CONFIGS[family]["max_sequence_length"]
    assert backbone.embeddings_layer_norm.epsilon == 1e-7
    if family == "albert":
        assert (backbone.num_groups, backbone.num_inner_repetitions, backbone.embedding_dim) == (
            2,
            2,
            8,
        )


def test_missing_config_fields_take_transformers_defaults(tmp_path):
    _, folder = _export_backbone(tmp_path, "bert")
    edit_config(
        folder, hidden_act=None, layer_norm_eps=None, type_vocab_size=None, hidden_dropout_prob=None
    )
    backbone = Backbone.from_preset(folder)
    assert (
        backbone.activation,
        backbone.layer_norm_epsilon,
        backbone.num_segments,
        backbone.dropout,
    ) == (
        "gelu",
        1e-12,
        2,
        0.1,
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"position_embedding_type": "relative_key"}, "position_embedding_type='relative_key'"),
        ({"is_decoder": True}, "is_decoder=true"),
        ({"add_cross_attention": True}, "add_cross_attention=true"),
        ({"hidden_act": "quick_gelu"}, "hidden_act='quick_gelu'"),
        ({"quantization_config": {"quant_method": "bitsandbytes"}}, "quantized"),
        ({"model_type": "roberta"}, "model_type='roberta'.*'bert', 'albert', 'fnet'"),
    ],
)
def test_what_cannot_be_computed_is_refused(tmp_path, changes, message):
    _, folder = _export_backbone(tmp_path, "bert")
    edit_config(folder, **changes)
    with pytest.raises(UnsupportedCheckpointError, match=message):
        Backbone.from_preset(folder)


def test_albert_layers_must_be_a_multiple_of_groups(tmp_path):
    _, folder = _export_backbone(tmp_path, "albert")
    edit_config(folder, num_hidden_layers=3)
    with pytest.raises(
        UnsupportedCheckpointError, match="num_hidden_layers=3 and num_hidden_groups=2"
    ):
        Backbone.from_preset(folder, load_weights=False)


@pytest.mark.parametrize("prefix", ["", "bert.", "model.bert."])
def test_key_prefixes_and_legacy_layer_norm_names_are_found(tmp_path, prefix):
    backbone, folder = _export_backbone(tmp_path, "bert")

    def rename(key):
        key = key.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
            "LayerNorm.bias", "LayerNorm.beta"
        )
        return prefix + key

    rewrite_weights(
        folder, rename=rename, add={prefix + "embeddings.position_ids": np.arange(24)[None]}
    )
    loaded = Backbone.from_preset(folder)
    for key, value in _outputs(backbone, "bert").items():
        np.testing.assert_allclose(_outputs(loaded, "bert")[key], value, atol=1e-6)


def test_sharded_checkpoint_loads_the_same_model(tmp_path, family):
    backbone, folder = _export_backbone(tmp_path, family)
    shard(folder, parts=3)
    loaded = Backbone.from_preset(folder)
    for key, value in _outputs(backbone, family).items():
        np.testing.assert_allclose(_outputs(loaded, family)[key], value, atol=1e-6)


def test_tensors_the_config_does_not_describe_are_refused(tmp_path):
    _, folder = _export_backbone(tmp_path, "bert")
    extra = {
        "encoder.layer.0.attention.self.distance_embedding.weight": np.zeros((47, 16), "float32")
    }
    rewrite_weights(folder, add=extra)
    with pytest.raises(UnsupportedCheckpointError, match="distance_embedding"):
        Backbone.from_preset(folder)


def test_missing_and_misshapen_tensors_are_named(tmp_path):
    _, folder = _export_backbone(tmp_path, "bert")
    rewrite_weights(folder, drop=("encoder.layer.1.output.dense.bias",))
    with pytest.raises(ValueError, match="lacks 1 tensor.*encoder.layer.1.output.dense.bias"):
        Backbone.from_preset(folder)
    edit_config(folder, intermediate_size=48)
    with pytest.raises(
        ValueError,
        match=r"encoder.layer.0.intermediate.dense.weight .* shape \(32, 16\).*needs \(48, 16\)",
    ):
        Backbone.from_preset(folder)


def test_a_failed_load_leaves_no_variables_waiting_for_values(tmp_path):
    from keras.src.backend.common import global_state

    _, folder = _export_backbone(tmp_path, "bert")
    rewrite_weights(folder, drop=("pooler.dense.bias",))
    with pytest.raises(ValueError):
        Backbone.from_preset(folder)
    assert not global_state.get_global_attribute("uninitialized_variables")


def test_loaded_variables_hold_the_checkpoint_values(tmp_path):
    backbone, folder = _export_backbone(tmp_path, "bert")
    tensors = read_all(folder / "model.safetensors")
    loaded = Backbone.from_preset(folder)
    query = to_numpy(loaded.transformer_layers[1]._self_attention_layer.query_dense.kernel)
    np.testing.assert_array_equal(
        query.reshape(16, 16).T, tensors["encoder.layer.1.attention.self.query.weight"]
    )
    np.testing.assert_array_equal(
        to_numpy(loaded.token_embedding.embeddings), tensors["embeddings.word_embeddings.weight"]
    )


def test_a_masked_lm_checkpoint_gives_the_pretrained_head(tmp_path):
    backbone = make_tiny_backbone("bert", activation="gelu")
    task = textbones.models.BertMaskedLM(
        backbone, head_activation="gelu", head_layer_norm_epsilon=1e-12
    )
    for variable in task.masked_lm_head.weights:
        variable.assign(np.random.default_rng(3).normal(size=variable.shape).astype("float32"))
    folder = tmp_path / "mlm"
    task.save_to_preset(folder, format="transformers")
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["BertForMaskedLM"]
    assert {"cls.predictions.bias", "cls.predictions.transform.dense.weight"} <= set(
        read_all(folder / "model.safetensors")
    )

    loaded = MaskedLM.from_preset(folder, preprocessor=None)
    assert type(loaded).__name__ == "BertMaskedLM"
    assert (loaded.head_activation, loaded.head_layer_norm_epsilon) == ("gelu", 1e-12)
    inputs = dict(make_inputs("bert"), mask_positions=np.array([[1, 2]] * 3, "int32"))
    np.testing.assert_allclose(to_numpy(loaded(inputs)), to_numpy(task(inputs)), atol=1e-5)
    assert loaded.optimizer is not None  # compiled once the weights were in


def test_the_head_follows_hidden_act_and_layer_norm_eps(tmp_path):
    _, folder = _export_backbone(tmp_path, "f_net")
    edit_config(folder, hidden_act="gelu_new", layer_norm_eps=1e-6)
    task = MaskedLM.from_preset(folder, preprocessor=None)
    assert (task.head_activation, task.head_layer_norm_epsilon) == ("gelu_approximate", 1e-6)
    assert task.get_config()["head_activation"] == "gelu_approximate"  # not FNet's default
    assert task.masked_lm_head._intermediate_layer_norm.epsilon == 1e-6


def test_a_bare_checkpoint_loaded_as_a_task_gets_a_fresh_head(tmp_path):
    backbone, folder = _export_backbone(tmp_path, "albert")
    classifier = TextClassifier.from_preset(folder, num_classes=5, preprocessor=None)
    assert type(classifier).__name__ == "AlbertTextClassifier" and classifier.num_classes == 5
    np.testing.assert_array_equal(
        to_numpy(classifier.backbone.token_embedding.embeddings),
        to_numpy(backbone.token_embedding.embeddings),
    )
    with pytest.raises(ValueError, match="needs `num_classes`"):
        TextClassifier.from_preset(folder, preprocessor=None)
    with pytest.raises(ValueError, match="cannot tell which task"):
        Task.from_preset(folder, preprocessor=None)
    masked_lm = MaskedLM.from_preset(folder, preprocessor=None)
    assert type(masked_lm).__name__ == "AlbertMaskedLM"


def test_a_classifier_checkpoint_gives_its_trained_head_and_classes(tmp_path):
    classifier = textbones.models.FNetTextClassifier(
        make_tiny_backbone("f_net"), num_classes=3, dropout=0.2
    )
    classifier.output_dense.bias.assign(np.array([0.5, -1.0, 2.0], "float32"))
    folder = tmp_path / "classifier"
    classifier.save_to_preset(folder, format="transformers")
    config = json.loads((folder / "config.json").read_text())
    assert (
        config["architectures"] == ["FNetForSequenceClassification"]
        and len(config["id2label"]) == 3
    )

    loaded = Task.from_preset(folder, preprocessor=None)
    assert type(loaded).__name__ == "FNetTextClassifier" and loaded.num_classes == 3
    inputs = make_inputs("f_net")
    np.testing.assert_allclose(to_numpy(loaded(inputs)), to_numpy(classifier(inputs)), atol=1e-5)
    fresh = TextClassifier.from_preset(folder, num_classes=2, preprocessor=None)
    assert fresh.num_classes == 2


def _export_keras_hub_style_masked_lm(folder):
    """A BertMaskedLM with KerasHub's head settings, exported (with the warning that brings)."""
    task = textbones.models.BertMaskedLM(make_tiny_backbone("bert"))
    with pytest.warns(UserWarning, match="masked-LM head"):
        task.save_to_preset(folder, format="transformers")


def test_an_untied_decoder_is_refused_for_the_masked_lm_only(tmp_path):
    folder = tmp_path / "mlm"
    _export_keras_hub_style_masked_lm(folder)
    edit_config(folder, tie_word_embeddings=False)
    with pytest.raises(UnsupportedCheckpointError, match="tie_word_embeddings=false"):
        MaskedLM.from_preset(folder, preprocessor=None)
    assert isinstance(Backbone.from_preset(folder), BertBackbone)


def test_a_masked_lm_checkpoint_without_pooler_warns_when_loaded_as_backbone(tmp_path):
    folder = tmp_path / "mlm"
    _export_keras_hub_style_masked_lm(folder)
    rewrite_weights(folder, drop=("bert.pooler.dense.weight", "bert.pooler.dense.bias"))
    with pytest.warns(UserWarning, match="no pooler weights"):
        Backbone.from_preset(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MaskedLM.from_preset(folder, preprocessor=None)


def test_word_piece_tokenizer_follows_tokenizer_config(tmp_path):
    _, folder = _export_backbone(tmp_path, "bert")
    (folder / "vocab.txt").write_text("".join(token + "\n" for token in BERT_VOCABULARY))
    assert Tokenizer.from_preset(folder)("The Foxes.").tolist() == [
        5,
        6,
        7,
        8,
    ]  # do_lower_case defaults to true
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": False, "model_max_length": 16})
    )
    tokenizer = Tokenizer.from_preset(folder)
    assert type(tokenizer).__name__ == "BertTokenizer"
    assert tokenizer("The fox [MASK]").tolist() == [1, 6, 4]  # cased, and [MASK] kept whole
    preprocessor = textbones.models.TextClassifierPreprocessor.from_preset(folder)
    assert preprocessor.sequence_length == 16
    (folder / "tokenizer_config.json").write_text(json.dumps({"mask_token": "<mask>"}))
    with pytest.raises(UnsupportedCheckpointError, match="mask_token='<mask>'"):
        Tokenizer.from_preset(folder)


def test_sentence_piece_tokenizer_follows_tokenizer_config(tmp_path):
    _, folder = _export_backbone(tmp_path, "albert")
    (folder / "spiece.model").write_bytes(tiny_proto("albert"))
    tokenizer = Tokenizer.from_preset(folder)
    assert type(tokenizer).__name__ == "AlbertTokenizer"
    assert (tokenizer.lowercase, tokenizer.strip_accents, tokenizer.normalize_quotes) == (
        True,
        True,
        True,
    )
    assert tokenizer("Café ``x''").tolist() == tokenizer('cafe "x"').tolist()
    ids = tokenizer("the [MASK] fox").tolist()
    assert tokenizer.mask_token_id in ids and ids == tokenizer("the[MASK]fox").tolist()
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": False, "keep_accents": True})
    )
    tokenizer = Tokenizer.from_preset(folder)
    assert (tokenizer.lowercase, tokenizer.strip_accents) == (False, False)


def test_a_task_without_tokenizer_files_asks_for_preprocessor_none(tmp_path):
    _, folder = _export_backbone(tmp_path, "bert")
    with pytest.raises(FileNotFoundError, match="preprocessor=None"):
        MaskedLM.from_preset(folder)


def test_a_task_with_tokenizer_files_gets_a_preprocessor(tmp_path):
    _, folder = _export_backbone(tmp_path, "bert")
    (folder / "vocab.txt").write_text(
        "".join(token + "\n" for token in BERT_VOCABULARY + [f"w{index}" for index in range(88)])
    )
    task = MaskedLM.from_preset(folder)
    assert type(task.preprocessor).__name__ == "BertMaskedLMPreprocessor"
    assert task.preprocessor.sequence_length == TINY_CONFIGS["bert"]["max_sequence_length"]


def test_dtype_override_reaches_the_backbone(tmp_path):
    _, folder = _export_backbone(tmp_path, "bert")
    backbone = Backbone.from_preset(folder, dtype="bfloat16")
    assert keras.backend.standardize_dtype(backbone.token_embedding.embeddings.dtype) == "bfloat16"


@pytest.mark.parametrize("family", families.family_names(lambda f: f.transformers is not None))
def test_a_transformers_encoder_loads_as_a_text_embedder_and_is_not_exported_as_one(
    tmp_path, family
):
    backbone, folder = _export_backbone(tmp_path, family)
    embedder = textbones.models.TextEmbedder.from_preset(folder, preprocessor=None)
    fam = families.family(family)
    assert type(embedder) is fam.tasks["text_embedder"]
    assert (embedder.pooling_mode, embedder.normalize) == ("mean", True)
    direct = fam.tasks["text_embedder"](backbone)
    inputs = make_inputs(family)
    inputs["padding_mask"] = inputs.get("padding_mask", np.ones_like(inputs["token_ids"]))
    np.testing.assert_allclose(to_numpy(embedder(inputs)), to_numpy(direct(inputs)), atol=1e-6)
    with pytest.raises(ValueError, match='format="sentence-transformers"'):
        embedder.save_to_preset(tmp_path / "out", format="transformers")
    assert not (tmp_path / "out").exists()
    # A bare encoder still names no task of its own for the generic loader.
    with pytest.raises(ValueError, match="cannot tell which task"):
        Task.from_preset(folder, preprocessor=None)
