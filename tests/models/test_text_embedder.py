"""The text embedder: KerasHub 0.32's built-in embedding presets (built offline), and for
every registered family the pooling (against NumPy), prompts, similarity, saving and
batching."""

import keras
import numpy as np
import pytest

import textbones
from tests.helpers import families
from textbones import registry

#: KerasHub 0.32's BERT embedding presets: parameter count and (pooling_mode, normalize),
#: the pooling the original sentence-transformers model uses. KerasHub's metadata rounds
#: the MiniLM-L12-H384 count to 33,360,000, which is also its exact count; it gives
#: paraphrase_minilm_l3_v2_en 17,066,496, which no 3-layer MiniLM-H384 with BERT's
#: 30,522-token vocabulary has: the real architecture has 17,389,824.
EMBEDDING_PRESETS = {
    "all_minilm_l6_v2_en": (22_713_216, "mean", True),
    "all_minilm_l6_v1_en": (22_713_216, "mean", True),
    "all_minilm_l12_v2_en": (33_360_000, "mean", True),
    "paraphrase_minilm_l3_v2_en": (17_389_824, "mean", False),
    "paraphrase_minilm_l6_v2_en": (22_713_216, "mean", False),
    "paraphrase_minilm_l12_v2_en": (33_360_000, "mean", False),
    "multi_qa_minilm_l6_cos_v1_en": (22_713_216, "mean", True),
    "multi_qa_minilm_l6_dot_v1_en": (22_713_216, "cls", False),
    "msmarco_minilm_l6_cos_v5_en": (22_713_216, "mean", True),
    "msmarco_minilm_l12_cos_v5_en": (33_360_000, "mean", True),
    "bge_small_en": (33_360_000, "cls", True),
    "bge_base_en": (109_482_240, "cls", True),
    "bge_large_en": (335_141_888, "cls", True),
    "bge_small_v1.5_en": (33_360_000, "cls", True),
    "bge_base_v1.5_en": (109_482_240, "cls", True),
    "bge_large_v1.5_en": (335_141_888, "cls", True),
    "bge_base_zh": (102_267_648, "cls", True),
    "bge_large_zh": (325_522_432, "cls", True),
    "bge_small_v1.5_zh": (23_953_920, "cls", True),
    "bge_base_v1.5_zh": (102_267_648, "cls", True),
    "bge_large_v1.5_zh": (325_522_432, "cls", True),
    "bge_llm_embedder": (109_482_240, "cls", True),
    "multilingual_e5_small": (117_653_760, "mean", True),
    "mxbai_embed_large_v1_en": (335_141_888, "cls", False),
    "mxbai_embed_2d_large_v1_en": (335_141_888, "cls", False),
    "mxbai_embed_xsmall_v1_en": (24_089_472, "mean", False),
}


def test_the_embedding_presets_are_built_in_with_their_counts_and_pooling():
    embedders = {
        name: entry
        for name, entry in registry.builtin_presets().items()
        if entry.get("task") == "TextEmbedder"
    }
    assert set(embedders) == set(EMBEDDING_PRESETS)
    backbone = textbones.models.BertBackbone
    for name, (count, pooling_mode, normalize) in EMBEDDING_PRESETS.items():
        entry = embedders[name]
        assert entry["family"] == "bert" and entry["class_name"] == "BertBackbone", name
        assert entry["parameter_count"] == count, name
        # tests/presets/test_loader.py builds every built-in preset and checks this count.
        assert backbone.estimate_parameter_count(entry["config"]) == count, name
        assert entry["task_config"] == {"pooling_mode": pooling_mode, "normalize": normalize}
        assert entry["kaggle_handle"].endswith(f"/keras/{name}/1"), name
    assert set(textbones.models.TextEmbedder.presets) >= set(EMBEDDING_PRESETS)
    assert set(textbones.models.BertTextEmbedder.presets) >= set(EMBEDDING_PRESETS)


@pytest.mark.parametrize(
    "name",
    # The smallest preset of each pooling (mean or cls, normalized or not).
    [
        "all_minilm_l6_v2_en",
        "paraphrase_minilm_l3_v2_en",
        "multi_qa_minilm_l6_dot_v1_en",
        "bge_small_v1.5_zh",
    ],
)
def test_an_embedding_preset_builds_offline_with_its_pooling(name):
    count, pooling_mode, normalize = EMBEDDING_PRESETS[name]
    embedder = textbones.models.TextEmbedder.from_preset(
        name, load_weights=False, preprocessor=None
    )
    assert type(embedder) is textbones.models.BertTextEmbedder
    assert (embedder.pooling_mode, embedder.normalize) == (pooling_mode, normalize)
    assert embedder.count_params() == count
    assert embedder.get_config()["pooling_mode"] == pooling_mode
    # The caller's head arguments win over the preset's.
    other = textbones.models.BertTextEmbedder.from_preset(
        name, load_weights=False, preprocessor=None, pooling_mode="max", normalize=not normalize
    )
    assert (other.pooling_mode, other.normalize) == ("max", not normalize)


def test_another_task_on_an_embedding_preset_gets_no_pooling_arguments():
    model = textbones.models.MaskedLM.from_preset(
        "paraphrase_minilm_l3_v2_en", load_weights=False, preprocessor=None
    )
    assert type(model) is textbones.models.BertMaskedLM
    assert model.backbone.num_layers == 3


# Family-wide behaviour of the text embedder ----------------------------------------

TEXTS = ["the quick brown fox ran", "a cat", "the dog sat on the mat .", "fox"]
SEQUENCE_LENGTH = 16


def _embedder(family, sequence_length=SEQUENCE_LENGTH, **kwargs):
    tokenizer = families.tiny_tokenizer(family)
    size = max(families.TINY_VOCABULARY_SIZE, tokenizer.vocabulary_size())
    backbone = families.tiny_backbone(family, vocabulary_size=size)
    preprocessor = family.preprocessors["text_embedder"](tokenizer, sequence_length=sequence_length)
    return family.tasks["text_embedder"](backbone, preprocessor, **kwargs)


def _numpy_pooling(features, mask, modes, normalize=False):
    """The pooling formulas (sentence-transformers'), in NumPy, float64; several modes are
    concatenated in sentence-transformers' fixed order, whatever order they are given in."""
    modes = [mode for mode in ORDER if mode in modes]
    features, mask = features.astype("float64"), mask.astype("float64")
    weights = mask[..., None]
    pooled = []
    for mode in modes:
        if mode == "cls":
            pooled.append(features[np.arange(len(mask)), mask.argmax(1)])
        elif mode == "max":
            pooled.append(np.where(weights > 0, features, -np.inf).max(1))
        elif mode == "lasttoken":
            last = mask.shape[1] - 1 - mask[:, ::-1].argmax(1)
            pooled.append(features[np.arange(len(mask)), last])
        else:
            if mode == "weightedmean":
                weights = weights * np.arange(1, mask.shape[1] + 1)[None, :, None]
            count = np.maximum(weights.sum(1), 1e-9)
            total = (features * weights).sum(1)
            pooled.append(total / (np.sqrt(count) if mode == "mean_sqrt_len_tokens" else count))
            weights = mask[..., None]
    output = np.concatenate(pooled, -1)
    if normalize:
        output = output / np.linalg.norm(output, axis=-1, keepdims=True)
    return output


def _features_and_inputs(embedder, texts, prompt=None):
    inputs = embedder.preprocessor.preprocess_batch(
        texts, prompt=prompt, prompt_length=prompt is not None
    )
    inputs = {key: np.asarray(value) for key, value in inputs.items()}
    backbone = embedder.backbone
    outputs = backbone({name: inputs[name] for name in backbone.input_names})
    features = keras.ops.convert_to_numpy(backbone.sequence_features(outputs))
    return features, inputs


ORDER = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
POOLINGS = [
    "mean",
    "cls",
    "max",
    "mean_sqrt_len_tokens",
    "weightedmean",
    "lasttoken",
    ["cls", "mean", "max"],
]


@pytest.mark.parametrize("pooling_mode", POOLINGS, ids=str)
@pytest.mark.parametrize("family", families.family_names())
def test_embeddings_are_the_pooling_of_the_sequence_features(family, pooling_mode):
    family = families.family(family)
    modes = [pooling_mode] if isinstance(pooling_mode, str) else pooling_mode
    embedder = _embedder(family, pooling_mode=pooling_mode, normalize=False)
    features, inputs = _features_and_inputs(embedder, TEXTS)
    expected = _numpy_pooling(features, inputs["padding_mask"], modes)
    embeddings = embedder.encode_text(TEXTS)
    assert embeddings.shape == (len(TEXTS), features.shape[-1] * len(modes))
    np.testing.assert_allclose(embeddings, expected, atol=1e-5, rtol=0)
    # Without the prompt: the prompt's tokens and the start token leave the pooling.
    embedder = _embedder(family, pooling_mode=pooling_mode, normalize=False, include_prompt=False)
    features, inputs = _features_and_inputs(embedder, TEXTS, prompt="the fox ")
    mask = inputs["padding_mask"] * (
        np.arange(mask_width := inputs["padding_mask"].shape[1])[None, :]
        >= inputs["prompt_length"][:, None]
    )
    assert mask_width == SEQUENCE_LENGTH or families.has_padding_mask(family)
    assert inputs["prompt_length"].tolist() == [1 + 2] * len(TEXTS)
    expected = _numpy_pooling(features, mask, modes)
    np.testing.assert_allclose(
        embedder.encode_text(TEXTS, prompt="the fox "), expected, atol=1e-5, rtol=0
    )


@pytest.mark.parametrize("family", families.family_names())
def test_normalize_and_truncate_dim(family):
    family = families.family(family)
    raw = _embedder(family, normalize=False).encode_text(TEXTS)
    normalized = _embedder(family).encode_text(TEXTS)
    np.testing.assert_allclose(
        normalized, raw / np.linalg.norm(raw, axis=-1, keepdims=True), atol=1e-6
    )
    truncated = _embedder(family, truncate_dim=3)
    assert truncated.embedding_dim == 3
    # Cut after normalizing, as sentence-transformers does.
    np.testing.assert_allclose(truncated.encode_text(TEXTS), normalized[:, :3], atol=1e-6)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="`truncate_dim` must be a positive integer or None"):
            _embedder(family, truncate_dim=bad)


def test_similarity_functions():
    family = families.family("bert")
    queries = np.array([[1.0, 0.0], [3.0, 4.0]])
    documents = np.array([[0.0, 2.0], [1.0, 1.0]])
    expected = {
        "dot": [[0.0, 1.0], [8.0, 7.0]],
        "cosine": [[0.0, 1 / np.sqrt(2)], [0.8, 7 / (5 * np.sqrt(2))]],
        "euclidean": [[-np.sqrt(5), -1.0], [-np.sqrt(13), -np.sqrt(13)]],
        "manhattan": [[-3.0, -1.0], [-5.0, -5.0]],
    }
    for name, scores in expected.items():
        embedder = _embedder(family, similarity_fn_name=name)
        np.testing.assert_allclose(embedder.similarity(queries, documents), scores, atol=1e-6)
    with pytest.raises(ValueError, match="Unknown similarity_fn_name 'l2'"):
        _embedder(family, similarity_fn_name="l2")


@pytest.mark.parametrize("family", families.family_names())
def test_prompts(family):
    family = families.family(family)
    prompts = {"query": "the fox ", "document": ""}
    embedder = _embedder(family, prompts=prompts)
    by_name = embedder.encode_text(TEXTS, prompt_name="query")
    np.testing.assert_allclose(by_name, embedder.encode_text(TEXTS, prompt="the fox "), atol=1e-6)
    np.testing.assert_allclose(
        by_name, embedder.encode_text(["the fox " + text for text in TEXTS]), atol=1e-6
    )
    defaulted = _embedder(family, prompts=prompts, default_prompt_name="query")
    np.testing.assert_allclose(defaulted.encode_text(TEXTS), by_name, atol=1e-6)
    np.testing.assert_allclose(
        defaulted.encode_text(TEXTS, prompt_name="document"),
        embedder.encode_text(TEXTS),
        atol=1e-6,
    )
    name = family.tasks["text_embedder"].__name__
    with pytest.raises(ValueError) as error:
        embedder.encode_text(TEXTS, prompt_name="passage")
    assert str(error.value) == (
        f"{name} has no prompt named 'passage' (its prompts: 'query', 'document'). Name one "
        "of them, pass `prompt=` with the text, or add it to `prompts`."
    )
    with pytest.raises(ValueError, match=r"^Pass `prompt` or `prompt_name`, not both\.$"):
        embedder.encode_text(TEXTS, prompt="x", prompt_name="query")
    with pytest.raises(ValueError, match="`default_prompt_name` 'passage' is not one of"):
        _embedder(family, prompts=prompts, default_prompt_name="passage")


@pytest.mark.parametrize("family", families.family_names())
def test_config_round_trip_and_saving(family, tmp_path):
    family = families.family(family)
    klass = family.tasks["text_embedder"]
    plain = _embedder(family)
    config = plain.get_config()
    # At the defaults, only KerasHub's keys: KerasHub can load what textbones saves.
    assert {"pooling_mode", "normalize"} <= set(config)
    assert not {"include_prompt", "prompts", "default_prompt_name", "truncate_dim"} & set(config)
    assert "similarity_fn_name" not in config
    options = {
        "pooling_mode": ["cls", "mean"],
        "normalize": False,
        "include_prompt": False,
        "prompts": {"query": "the fox "},
        "default_prompt_name": "query",
        "similarity_fn_name": "cosine",
        "truncate_dim": 5,
    }
    embedder = _embedder(family, **options)
    config = embedder.get_config()
    assert {key: config[key] for key in options} == options
    expected = embedder.encode_text(TEXTS)
    path = tmp_path / "embedder.keras"
    embedder.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is klass
    np.testing.assert_array_equal(restored.encode_text(TEXTS), expected)
    embedder.save_to_preset(tmp_path / "preset")
    loaded = textbones.models.TextEmbedder.from_preset(tmp_path / "preset")
    assert type(loaded) is klass
    assert {key: loaded.get_config()[key] for key in options} == options
    np.testing.assert_array_equal(loaded.encode_text(TEXTS), expected)


@pytest.mark.parametrize("family", families.family_names())
def test_bad_inputs(family):
    family = families.family(family)
    klass = family.tasks["text_embedder"]
    with pytest.raises(ValueError, match="'median'"):
        _embedder(family, pooling_mode="median")
    embedder = _embedder(family)
    with pytest.raises(ValueError) as error:
        embedder.predict((TEXTS, TEXTS))
    assert str(error.value).startswith(f"{klass.__name__}.predict got a tuple of 2 text columns.")
    other = families.other_family(family)
    with pytest.raises(ValueError) as error:
        klass(families.tiny_backbone(other))
    assert f"{klass.__name__} needs a " in str(error.value)
    assert "Use the text embedder class of the backbone's family." in str(error.value)


@pytest.mark.parametrize("family", families.family_names())
def test_predict_keeps_the_caller_s_order(family):
    family = families.family(family)
    embedder = _embedder(family)
    texts = ["fox", "the quick brown fox ran on the mat", "a", "the dog sat .", "cat cat"]
    together = embedder.encode_text(texts, batch_size=2)
    one_by_one = np.concatenate([embedder.encode_text(text) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5, rtol=0)
    assert together.dtype == np.float32


@pytest.mark.parametrize("family", families.family_names(families.has_padding_mask))
def test_dynamic_padding_changes_no_embedding(family):
    family = families.family(family)
    embedder = _embedder(family, pooling_mode=["mean", "max", "lasttoken"])
    dynamic = embedder.encode_text(TEXTS)
    features, inputs = _features_and_inputs(embedder, TEXTS)
    fixed = embedder.predict(inputs, verbose=0)  # padded to the full sequence length
    assert inputs["token_ids"].shape[1] == SEQUENCE_LENGTH
    np.testing.assert_allclose(dynamic, fixed, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "family", families.family_names(lambda family: not families.has_padding_mask(family))
)
def test_a_backbone_without_padding_mask_keeps_its_length(family):
    family = families.family(family)
    embedder = _embedder(family)
    assert not embedder._uses_dynamic_length
    features, inputs = _features_and_inputs(embedder, TEXTS)
    assert features.shape[1] == SEQUENCE_LENGTH
    expected = _numpy_pooling(features, inputs["padding_mask"], ["mean"], normalize=True)
    np.testing.assert_allclose(embedder.encode_text(TEXTS), expected, atol=1e-5, rtol=0)
