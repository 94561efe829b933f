"""The text embedder: KerasHub 0.32's built-in embedding presets, built offline."""

import pytest

import textbones
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
