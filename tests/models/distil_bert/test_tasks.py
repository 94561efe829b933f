"""Tests of ``DistilBertMaskedLM`` and ``DistilBertTextClassifier`` (and the family's examples).

The examples at the end are written as KerasHub's documentation writes them (``keras_hub``
is textbones here): the custom-config backbone, the offline built-in preset (a clear
download error) and the same code on a local preset, raw-string ``fit`` of both tasks.
"""

import json

import keras
import numpy as np
import pytest

import textbones
from tests.models.distil_bert.tiny_models import TINY, VOCAB, make_backbone, make_inputs
from textbones.models import (
    DistilBertBackbone,
    DistilBertMaskedLM,
    DistilBertMaskedLMPreprocessor,
    DistilBertTextClassifier,
    DistilBertTextClassifierPreprocessor,
    DistilBertTokenizer,
)
from textbones.presets.handles import PresetDownloadError

TEXTS = ["the good movie", "a bad movie", "the movie is great !", "the movie was awful"]
LABELS = np.array([1, 0, 1, 0])


def to_numpy(value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")


def tokenizer() -> DistilBertTokenizer:
    return DistilBertTokenizer(VOCAB, lowercase=True)


def classifier(**kwargs) -> DistilBertTextClassifier:
    preprocessor = DistilBertTextClassifierPreprocessor(tokenizer(), sequence_length=12)
    kwargs.setdefault("preprocessor", preprocessor)
    return DistilBertTextClassifier(make_backbone(vocabulary_size=len(VOCAB)), 2, **kwargs)


def masked_lm(**kwargs) -> DistilBertMaskedLM:
    preprocessor = DistilBertMaskedLMPreprocessor(
        tokenizer(), sequence_length=12, mask_selection_rate=0.5, mask_selection_length=4
    )
    kwargs.setdefault("preprocessor", preprocessor)
    return DistilBertMaskedLM(make_backbone(vocabulary_size=len(VOCAB)), **kwargs)


def test_classifier_head_is_keras_hubs_and_computes_relu_dense_then_logits():
    model = DistilBertTextClassifier(make_backbone(), num_classes=3, hidden_dim=5, dropout=0.3)
    assert [layer.name for layer in model.layers[-3:]] == [
        "pooled_dense",
        "output_dropout",
        "logits",
    ]
    assert model.pooled_dense.units == 5 and model.output_dense.units == 3
    assert model.output_dropout.rate == 0.3
    inputs = make_inputs()
    first_token = to_numpy(model.backbone(inputs))[:, 0, :]
    kernel, bias = (to_numpy(weight) for weight in model.pooled_dense.weights)
    out_kernel, out_bias = (to_numpy(weight) for weight in model.output_dense.weights)
    expected = np.maximum(first_token @ kernel + bias, 0) @ out_kernel + out_bias
    np.testing.assert_allclose(to_numpy(model(inputs)), expected, atol=1e-5)
    assert model.count_params() == make_backbone().count_params() + 16 * 5 + 5 + 5 * 3 + 3


def test_classifier_defaults_and_config():
    model = DistilBertTextClassifier(make_backbone(), num_classes=2)
    assert model.hidden_dim == 16 and model.dropout == 0.2
    config = model.get_config()
    assert {key: config[key] for key in ("num_classes", "hidden_dim", "dropout", "activation")} == {
        "num_classes": 2,
        "hidden_dim": 16,
        "dropout": 0.2,
        "activation": "linear",
    }
    rebuilt = DistilBertTextClassifier.from_config(config)
    assert rebuilt.hidden_dim == 16 and rebuilt.count_params() == model.count_params()


def test_classifier_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"`hidden_dim` .* must be a positive integer .* got 0"):
        DistilBertTextClassifier(make_backbone(), num_classes=2, hidden_dim=0)
    with pytest.raises(ValueError, match=r"`num_classes` must be a positive integer, got 0"):
        DistilBertTextClassifier(make_backbone(), num_classes=0)
    bert = textbones.models.BertBackbone(**TINY)
    with pytest.raises(ValueError, match=r"DistilBertTextClassifier needs a .*DistilBertBackbone"):
        DistilBertTextClassifier(bert, num_classes=2)


def test_masked_lm_head_is_tied_and_gives_logits_at_the_mask_positions():
    model = DistilBertMaskedLM(make_backbone())
    assert sorted(model.input) == ["mask_positions", "padding_mask", "token_ids"]
    head = model.masked_lm_head
    assert head.token_embedding is model.backbone.token_embedding
    assert keras.activations.serialize(head.intermediate_activation) == "gelu"
    inputs = {**make_inputs(), "mask_positions": np.array([[1, 2], [0, 4], [1, 1]], "int32")}
    logits = to_numpy(model(inputs))
    assert logits.shape == (3, 2, 97)
    # The head reads the backbone's sequence output at the mask positions.
    sequence = to_numpy(model.backbone(make_inputs()))
    gathered = np.take_along_axis(sequence, inputs["mask_positions"][:, :, None], axis=1)
    np.testing.assert_allclose(
        to_numpy(head(keras.ops.convert_to_tensor(sequence, "float32"), inputs["mask_positions"])),
        logits,
        atol=1e-5,
    )
    assert gathered.shape == (3, 2, 16)
    embedding_params = 97 * 16
    head_params = 16 * 16 + 16 + 2 * 16 + 97  # dense, layer norm, output bias (tied matrix)
    assert model.count_params() == model.backbone.count_params() + head_params
    assert embedding_params == model.backbone.token_embedding.embeddings.shape[0] * 16


def test_classifier_fits_and_predicts_raw_strings():
    keras.utils.set_random_seed(1)
    model = classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(TEXTS, LABELS, epochs=8, batch_size=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = model.predict(TEXTS, verbose=0)
    assert predictions.shape == (4, 2)
    preprocessed = model.preprocessor(TEXTS)
    np.testing.assert_allclose(
        predictions, model.predict(preprocessed, verbose=0), atol=1e-5, rtol=0
    )
    pairs = model.predict((TEXTS[:2], TEXTS[2:]), verbose=0)
    assert pairs.shape == (2, 2)


def test_masked_lm_fits_raw_strings_and_learns():
    keras.utils.set_random_seed(2)
    model = masked_lm()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), weighted_metrics=[])
    history = model.fit(TEXTS * 4, epochs=6, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    logits = model.predict(TEXTS, verbose=0)
    assert logits.shape == (4, 4, len(VOCAB))


def test_keras_file_round_trips(tmp_path):
    for model in (classifier(), masked_lm()):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        restored = keras.models.load_model(path)
        assert type(restored) is type(model)
        assert type(restored.preprocessor) is type(model.preprocessor)
        x = model.preprocessor.tokenizer(TEXTS[0])
        assert restored.preprocessor.tokenizer(TEXTS[0]).tolist() == x.tolist()
        if isinstance(model, DistilBertTextClassifier):
            assert restored.hidden_dim == model.hidden_dim
            np.testing.assert_array_equal(
                restored.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0)
            )


def test_task_presets_round_trip(tmp_path):
    model = classifier(hidden_dim=6)
    model.save_to_preset(tmp_path / "classifier")
    task = json.loads((tmp_path / "classifier" / "task.json").read_text())
    assert task["registered_name"] == "keras_hub>DistilBertTextClassifier"
    assert task["config"]["hidden_dim"] == 6
    restored = textbones.models.TextClassifier.from_preset(str(tmp_path / "classifier"))
    assert type(restored) is DistilBertTextClassifier
    assert type(restored.preprocessor) is DistilBertTextClassifierPreprocessor
    np.testing.assert_array_equal(
        restored.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0)
    )
    lm = masked_lm()
    lm.save_to_preset(tmp_path / "masked_lm")
    restored = textbones.models.MaskedLM.from_preset(str(tmp_path / "masked_lm"))
    assert type(restored) is DistilBertMaskedLM
    inputs = {**make_inputs(), "mask_positions": np.array([[1, 2]] * 3, "int32")}
    inputs["token_ids"] = inputs["token_ids"] % len(VOCAB)
    np.testing.assert_array_equal(to_numpy(restored(inputs)), to_numpy(lm(inputs)))
    fresh = DistilBertTextClassifier.from_preset(str(tmp_path / "masked_lm"), num_classes=4)
    assert fresh.num_classes == 4


# Examples in KerasHub's documentation style (``keras_hub`` is textbones). -------------------

BACKBONE_EXAMPLE = """
input_data = {
    "token_ids": np.ones(shape=(1, 12), dtype="int32"),
    "padding_mask": np.array([[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]]),
}
model = keras_hub.models.DistilBertBackbone(
    vocabulary_size=30552,
    num_layers=4,
    num_heads=4,
    hidden_dim=256,
    intermediate_dim=512,
    max_sequence_length=128,
)
output = model(input_data)
"""

PRETRAINED_EXAMPLE = """
classifier = keras_hub.models.DistilBertTextClassifier.from_preset(
    PRESET,
    num_classes=2,
)
classifier.fit(x=features, y=labels, batch_size=2)
predictions = classifier.predict(x=features, batch_size=2)
masked_lm = keras_hub.models.DistilBertMaskedLM.from_preset(PRESET)
masked_lm.fit(x=features, batch_size=2)
"""


def run_example(code: str, **names) -> dict:
    namespace = {"keras_hub": textbones, "keras_nlp": textbones, "np": np, "keras": keras}
    namespace.update(names)
    exec(compile(code, "<example>", "exec"), namespace)
    return namespace


def test_backbone_example_with_a_custom_config():
    namespace = run_example(BACKBONE_EXAMPLE)
    assert tuple(namespace["output"].shape) == (1, 12, 256)
    assert np.isfinite(to_numpy(namespace["output"])).all()


def test_pretrained_example_offline_fails_clearly():
    with pytest.raises(
        PresetDownloadError,
        match="Could not download the built-in preset 'distil_bert_base_en_uncased'",
    ):
        run_example(
            PRETRAINED_EXAMPLE,
            PRESET="distil_bert_base_en_uncased",
            features=TEXTS[:2],
            labels=LABELS[:2],
        )


def test_pretrained_example_on_a_local_preset(tmp_path):
    # A backbone and tokenizer saved as a preset, as the built-in ones are.
    backbone = make_backbone(vocabulary_size=len(VOCAB))
    backbone.save_to_preset(tmp_path / "preset")
    tokenizer().save_to_preset(tmp_path / "preset")
    keras.utils.set_random_seed(3)
    namespace = run_example(
        PRETRAINED_EXAMPLE,
        PRESET=str(tmp_path / "preset"),
        features=["The quick brown fox jumped.", "I forgot my homework."],
        labels=np.array([0, 3 % 2]),
    )
    assert namespace["predictions"].shape == (2, 2)
    assert isinstance(namespace["masked_lm"], DistilBertMaskedLM)
    assert namespace["masked_lm"].backbone.count_params() == backbone.count_params()
    assert type(namespace["classifier"].backbone) is DistilBertBackbone
