"""sentence-transformers folders: reading the ones this test writes by hand (both pooling
key formats, both tokenizer layouts, a missing Normalize folder, prompts), refusing what a
TextEmbedder cannot compute or what reaches outside the folder, and the round trip
``save_to_preset(format="sentence-transformers")`` -> ``from_preset``.

``tests/parity/test_sentence_transformers_parity.py`` checks the same folders against
sentence-transformers itself.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil

import keras
import numpy as np
import pytest

import textbones
from textbones.models import (
    Backbone,
    BertBackbone,
    BertTextEmbedder,
    BertTextEmbedderPreprocessor,
    BertTokenizer,
    TextEmbedder,
    TextEmbedderPreprocessor,
    Tokenizer,
)
from textbones.presets.formats import preset_format

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "query",
    "passage",
    ":",
    ".",
    "a",
    "##s",
    "##ed",
]
TEXTS = ["the quick brown fox", "a dog", "the lazy dogs jumped over the fox .", "fox"]
PROMPTS = {"query": "query : ", "passage": "passage : "}
ST = "sentence_transformers.models."
ST6 = {
    "Transformer": "sentence_transformers.base.modules.transformer.Transformer",
    "Pooling": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
    "Normalize": "sentence_transformers.base.modules.normalize.Normalize",
}


def _embedder(seed: int = 0, **arguments) -> BertTextEmbedder:
    keras.utils.set_random_seed(seed)
    backbone = BertBackbone(len(VOCABULARY), 1, 2, 8, 16, max_sequence_length=16)
    preprocessor = BertTextEmbedderPreprocessor(
        BertTokenizer(vocabulary=VOCABULARY), sequence_length=12
    )
    return BertTextEmbedder(backbone, preprocessor, **arguments)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> tuple[pathlib.Path, BertTextEmbedder]:
    """A BERT checkpoint (config.json, model.safetensors, vocab.txt, tokenizer_config.json)
    and the embedder whose backbone it holds."""
    embedder = _embedder()
    folder = tmp_path_factory.mktemp("checkpoint") / "hf"
    embedder.preprocessor.save_to_preset(folder, format="transformers")
    embedder.backbone.save_to_preset(folder, format="transformers")
    return folder, embedder


def _write_json(path: pathlib.Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content), encoding="utf-8")


def _modules(*kinds: str, paths=None, types=ST) -> list[dict]:
    paths = paths or {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize"}
    return [
        {
            "idx": index,
            "name": str(index),
            "path": paths[kind],
            "type": types[kind] if isinstance(types, dict) else types + kind,
        }
        for index, kind in enumerate(kinds)
    ]


def _folder(
    tmp_path: pathlib.Path,
    checkpoint,
    pooling: dict,
    modules: list[dict] | None = None,
    model_config: dict | None = None,
    bert_config: dict | None = None,
    normalize_folder: bool = True,
) -> pathlib.Path:
    """A sentence-transformers folder written by hand around the checkpoint."""
    folder = tmp_path / "st"
    shutil.copytree(checkpoint[0], folder)
    modules = modules if modules is not None else _modules("Transformer", "Pooling", "Normalize")
    _write_json(folder / "modules.json", modules)
    _write_json(folder / "1_Pooling" / "config.json", pooling)
    if normalize_folder:
        (folder / "2_Normalize").mkdir()
    if model_config is not None:
        _write_json(folder / "config_sentence_transformers.json", model_config)
    if bert_config is not None:
        _write_json(folder / "sentence_bert_config.json", bert_config)
    return folder


def _expected(checkpoint, **arguments) -> np.ndarray:
    """What the checkpoint's backbone gives with these TextEmbedder arguments."""
    _, embedder = checkpoint
    prompt_name = arguments.pop("prompt_name", None)
    twin = BertTextEmbedder(embedder.backbone, embedder.preprocessor, **arguments)
    return twin.encode_text(TEXTS, prompt_name=prompt_name)


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pooling",
    [
        {"embedding_dimension": 8, "pooling_mode": ["cls", "mean"], "include_prompt": True},
        {
            "word_embedding_dimension": 8,
            "pooling_mode_cls_token": True,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    ],
    ids=["v6_keys", "v5_keys"],
)
def test_both_pooling_key_formats_give_the_same_embedder(tmp_path, checkpoint, pooling):
    folder = _folder(tmp_path, checkpoint, pooling, bert_config={"max_seq_length": 12})
    embedder = TextEmbedder.from_preset(folder)
    assert type(embedder) is BertTextEmbedder
    assert embedder.pooling_mode == ["cls", "mean"]
    assert embedder.normalize is True and embedder.include_prompt is True
    assert embedder.similarity_fn_name == "cosine"  # sentence-transformers' default
    assert embedder.prompts is None and embedder.default_prompt_name is None
    assert embedder.preprocessor.sequence_length == 12
    assert embedder.embedding_dim == 16
    expected = _expected(checkpoint, pooling_mode=["cls", "mean"], similarity_fn_name="cosine")
    np.testing.assert_array_equal(embedder.encode_text(TEXTS), expected)


@pytest.mark.parametrize(
    ("flags", "mode"),
    [
        ({"pooling_mode_max_tokens": True}, "max"),
        ({"pooling_mode_mean_sqrt_len_tokens": True}, "mean_sqrt_len_tokens"),
        ({"pooling_mode_weightedmean_tokens": True}, "weightedmean"),
        ({"pooling_mode_lasttoken": True}, "lasttoken"),
        ({}, "mean"),  # no flag set: sentence-transformers pools the mean
        (
            {"pooling_mode_lasttoken": True, "pooling_mode_cls_token": True},
            ["cls", "lasttoken"],
        ),
    ],
)
def test_every_legacy_flag_names_its_mode(tmp_path, checkpoint, flags, mode):
    pooling = {"word_embedding_dimension": 8, **flags}
    folder = _folder(tmp_path, checkpoint, pooling, normalize_folder=False)
    assert TextEmbedder.from_preset(folder).pooling_mode == mode


def test_a_missing_normalize_folder_still_normalizes(tmp_path, checkpoint):
    folder = _folder(
        tmp_path,
        checkpoint,
        {"pooling_mode": "max", "include_prompt": False},
        normalize_folder=False,
    )
    assert not (folder / "2_Normalize").exists()
    embedder = TextEmbedder.from_preset(folder)
    assert (embedder.pooling_mode, embedder.normalize, embedder.include_prompt) == (
        "max",
        True,
        False,
    )
    norms = np.linalg.norm(embedder.encode_text(TEXTS), axis=-1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)


def test_without_normalize_module_the_embeddings_are_not_normalized(tmp_path, checkpoint):
    modules = _modules("Transformer", "Pooling", types=ST6)
    folder = _folder(
        tmp_path, checkpoint, {"pooling_mode": "mean"}, modules, normalize_folder=False
    )
    embedder = TextEmbedder.from_preset(folder)
    assert embedder.normalize is False
    expected = _expected(checkpoint, normalize=False, similarity_fn_name="cosine")
    np.testing.assert_array_equal(embedder.encode_text(TEXTS), expected)


def test_prompts_default_prompt_similarity_and_truncate_dim_are_read(tmp_path, checkpoint):
    model_config = {
        "__version__": {"sentence_transformers": "6.2.0"},
        "prompts": {**PROMPTS, "document": ""},
        "default_prompt_name": "query",
        "similarity_fn_name": "dot",
        "truncate_dim": 4,
    }
    folder = _folder(
        tmp_path, checkpoint, {"pooling_mode": "mean", "include_prompt": False}, None, model_config
    )
    embedder = TextEmbedder.from_preset(folder)
    assert embedder.prompts == {**PROMPTS, "document": ""}
    assert embedder.default_prompt_name == "query"
    assert embedder.similarity_fn_name == "dot"
    assert embedder.truncate_dim == 4 and embedder.embedding_dim == 4
    expected = _expected(
        checkpoint,
        include_prompt=False,
        prompts={**PROMPTS, "document": ""},
        default_prompt_name="query",
        truncate_dim=4,
        prompt_name="passage",
    )
    np.testing.assert_array_equal(embedder.encode_text(TEXTS, prompt_name="passage"), expected)


def test_from_preset_arguments_override_the_folder(tmp_path, checkpoint):
    folder = _folder(
        tmp_path, checkpoint, {"pooling_mode": "mean"}, bert_config={"max_seq_length": 12}
    )
    embedder = TextEmbedder.from_preset(
        folder, normalize=False, pooling_mode="cls", sequence_length=8
    )
    assert (embedder.normalize, embedder.pooling_mode) == (False, "cls")
    assert embedder.preprocessor.sequence_length == 8
    bare = TextEmbedder.from_preset(folder, preprocessor=None)
    assert bare.preprocessor is None


def _tokenizer_json(vocabulary: list[str], lowercase: bool = True) -> dict:
    return {
        "version": "1.0",
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": lowercase,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {token: index for index, token in enumerate(vocabulary)},
        },
    }


def test_a_sentence_transformers_6_folder_without_vocab_txt(tmp_path, checkpoint):
    """tokenizer.json instead of vocab.txt, the length limit in tokenizer_config.json, no
    sentence_bert_config.json: the same tokenizer and length as the vocab.txt layout."""
    folder = _folder(tmp_path, checkpoint, {"embedding_dimension": 8, "pooling_mode": "mean"})
    (folder / "vocab.txt").unlink()
    _write_json(folder / "tokenizer.json", _tokenizer_json(VOCABULARY))
    config = json.loads((folder / "tokenizer_config.json").read_text())
    _write_json(folder / "tokenizer_config.json", {**config, "model_max_length": 10})
    embedder = TextEmbedder.from_preset(folder)
    assert embedder.preprocessor.sequence_length == 10
    tokenizer = embedder.preprocessor.tokenizer
    assert tokenizer.get_vocabulary() == VOCABULARY
    original = checkpoint[1].preprocessor.tokenizer
    assert tokenizer(TEXTS) == original(TEXTS)
    assert Tokenizer.from_preset(folder).get_vocabulary() == VOCABULARY


def test_tokenizer_json_ids_with_gaps_keep_their_ids(tmp_path, checkpoint):
    folder = _folder(tmp_path, checkpoint, {"pooling_mode": "mean"})
    (folder / "vocab.txt").unlink()
    content = _tokenizer_json(VOCABULARY)
    del content["model"]["vocab"]["lazy"]  # id 11: a vocab.txt line that repeats another
    _write_json(folder / "tokenizer.json", content)
    tokenizer = Tokenizer.from_preset(folder)
    assert len(tokenizer.get_vocabulary()) == len(VOCABULARY)
    assert tokenizer.get_vocabulary()[11] == "[no token 11]"
    assert tokenizer(["the dog", "lazy"]) == [[5, 12], [1]]


def test_a_sentence_piece_family_needs_its_spiece_model(tmp_path):
    backbone = textbones.models.AlbertBackbone(40, 1, 2, 8, 16, 8, max_sequence_length=16)
    folder = tmp_path / "albert"
    backbone.save_to_preset(folder, format="transformers")
    _write_json(folder / "modules.json", _modules("Transformer", "Pooling"))
    _write_json(folder / "1_Pooling" / "config.json", {"pooling_mode": "mean"})
    _write_json(folder / "tokenizer.json", {"model": {"type": "Unigram", "vocab": []}})
    message = (
        f"{folder} has no spiece.model, the SentencePiece model of a albert tokenizer; its "
        "tokenizer.json holds a Unigram vocabulary that textbones cannot turn back into one. "
        "Add the model's spiece.model, or build the model with `preprocessor=None`."
    )
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)
    embedder = TextEmbedder.from_preset(folder, preprocessor=None)
    assert type(embedder).__name__ == "AlbertTextEmbedder"


def test_do_lower_case_lowercases_what_the_tokenizer_would_not(tmp_path, checkpoint):
    folder = _folder(
        tmp_path, checkpoint, {"pooling_mode": "mean"}, bert_config={"do_lower_case": True}
    )
    config = json.loads((folder / "tokenizer_config.json").read_text())
    _write_json(folder / "tokenizer_config.json", {**config, "do_lower_case": False})
    assert Tokenizer.from_preset(folder)(["The FOX"]) == [[5, 8]]


def test_every_class_loads_from_the_folder(tmp_path, checkpoint):
    folder = _folder(
        tmp_path, checkpoint, {"pooling_mode": "cls"}, bert_config={"max_seq_length": 12}
    )
    assert preset_format(folder).name == "sentence-transformers"
    assert (
        preset_format(folder).kind().describe() == "a text-embedder task preset (BertTextEmbedder)"
    )
    assert type(BertTextEmbedder.from_preset(folder)) is BertTextEmbedder
    assert type(textbones.models.Task.from_preset(folder)) is BertTextEmbedder
    backbone = Backbone.from_preset(folder)
    assert type(backbone) is BertBackbone
    for ours, theirs in zip(backbone.weights, checkpoint[1].backbone.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert type(Tokenizer.from_preset(folder)) is BertTokenizer
    preprocessor = TextEmbedderPreprocessor.from_preset(folder)
    assert type(preprocessor) is BertTextEmbedderPreprocessor
    assert preprocessor.sequence_length == 12
    assert type(textbones.models.Preprocessor.from_preset(folder)) is BertTextEmbedderPreprocessor
    # Another task on the folder's encoder gets a fresh head, as from the checkpoint.
    classifier = textbones.models.TextClassifier.from_preset(folder, num_classes=3)
    assert type(classifier).__name__ == "BertTextClassifier" and classifier.num_classes == 3


# -- refusals --------------------------------------------------------------------------------


def test_modules_a_text_embedder_cannot_compute_are_refused(tmp_path, checkpoint):
    modules = _modules("Transformer", "Pooling") + [
        {"idx": 2, "name": "2", "path": "2_Dense", "type": ST + "Dense"}
    ]
    folder = _folder(tmp_path, checkpoint, {"pooling_mode": "mean"}, modules)
    message = (
        f"{folder / 'modules.json'} lists module '2' of type 'sentence_transformers.models.Dense' "
        "at position 2, which textbones cannot load: a TextEmbedder computes a Transformer "
        "module, then a Pooling module, then optionally a Normalize module (no Dense, "
        "LayerNorm, Router or other modules). Load the encoder alone with "
        "Backbone.from_preset on the transformers checkpoint instead."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)
    with pytest.raises(ValueError, match=re.escape(message)):
        Backbone.from_preset(folder)  # the folder is read once, whatever is asked of it


@pytest.mark.parametrize(
    ("modules", "shown"),
    [
        (
            [{"idx": 0, "name": "0", "path": "", "type": "my_package.Transformer"}],
            "'0' of type 'my_package.Transformer' at position 0",
        ),
        (
            [
                {"idx": 0, "name": "0", "path": "", "type": ST + "Transformer"},
                {"idx": 1, "name": "pool", "path": "1_Pooling", "type": ST + "Normalize"},
            ],
            "'pool' of type 'sentence_transformers.models.Normalize' at position 1",
        ),
    ],
)
def test_unknown_or_misplaced_modules_are_named(tmp_path, checkpoint, modules, shown):
    folder = _folder(tmp_path, checkpoint, {"pooling_mode": "mean"}, modules)
    with pytest.raises(
        ValueError, match=re.escape(f"lists module {shown}, which textbones cannot load")
    ):
        TextEmbedder.from_preset(folder)


def test_a_transformer_without_pooling_is_refused(tmp_path, checkpoint):
    folder = _folder(tmp_path, checkpoint, {}, _modules("Transformer"))
    message = (
        f"{folder / 'modules.json'} lists 1 module(s) (Transformer); textbones loads a "
        "Transformer module, then a Pooling module, then optionally a Normalize module."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)


@pytest.mark.parametrize(
    "content",
    [{"not": "a list"}, [{"idx": 0, "path": 3, "type": "x"}]],
    ids=["object", "bad_path"],
)
def test_a_damaged_modules_json_is_refused(tmp_path, checkpoint, content):
    folder = _folder(tmp_path, checkpoint, {"pooling_mode": "mean"}, content)
    with pytest.raises(
        ValueError, match=r"modules\.json (should hold a JSON list|lists a module without)"
    ):
        TextEmbedder.from_preset(folder)


def test_pooling_modes_in_an_order_textbones_cannot_concatenate(tmp_path, checkpoint):
    folder = _folder(tmp_path, checkpoint, {"pooling_mode": ["mean", "cls"]})
    message = (
        f"{folder / '1_Pooling' / 'config.json'} concatenates the pooling modes ['mean', 'cls']; "
        "a TextEmbedder concatenates each mode once, in the order cls, max, mean, "
        "mean_sqrt_len_tokens, weightedmean, lasttoken (here: ['cls', 'mean']), so these "
        "embeddings cannot be reproduced."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)


def test_an_unknown_pooling_mode_is_refused(tmp_path, checkpoint):
    folder = _folder(tmp_path, checkpoint, {"pooling_mode": "median"})
    message = (
        f"{folder / '1_Pooling' / 'config.json'} asks for the pooling mode 'median', which "
        "textbones does not implement; it pools with cls, max, mean, mean_sqrt_len_tokens, "
        "weightedmean, lasttoken."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)


def test_a_pooling_width_other_than_the_encoders_is_refused(tmp_path, checkpoint):
    folder = _folder(tmp_path, checkpoint, {"embedding_dimension": 32, "pooling_mode": "mean"})
    message = (
        f"The Pooling module of the sentence-transformers folder at {folder} expects "
        "32-dimensional token embeddings, but its checkpoint's BertBackbone gives 8."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)


def test_bad_model_settings_are_refused(tmp_path, checkpoint):
    folder = _folder(
        tmp_path,
        checkpoint,
        {"pooling_mode": "mean"},
        model_config={"prompts": PROMPTS, "default_prompt_name": "title"},
    )
    message = (
        f"{folder / 'config_sentence_transformers.json'} sets default_prompt_name='title', "
        "which is not one of its prompts ('query', 'passage'). Fix or remove it."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)
    _write_json(folder / "config_sentence_transformers.json", {"similarity_fn_name": "jaccard"})
    message = (
        f"{folder / 'config_sentence_transformers.json'} sets similarity_fn_name='jaccard'; "
        "textbones knows cosine, dot, euclidean, manhattan."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)


@pytest.mark.parametrize("path", ["../outside", "/tmp/outside", "1_Pooling/../../outside"])
def test_module_paths_must_stay_inside_the_folder(tmp_path, checkpoint, path):
    outside = tmp_path / "outside"
    _write_json(outside / "config.json", {"pooling_mode": "mean"})
    paths = {"Transformer": "", "Pooling": path, "Normalize": "2_Normalize"}
    modules = _modules("Transformer", "Pooling", "Normalize", paths=paths)
    folder = _folder(tmp_path, checkpoint, {"pooling_mode": "mean"}, modules)
    message = (
        f"the path {path!r} of module '1' in {folder / 'modules.json'} names "
        f"'{path}/config.json', which is outside {folder}: a preset may only refer to files "
        "inside its own folder."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        TextEmbedder.from_preset(folder)


def test_a_linked_module_folder_that_leaves_the_folder_is_refused(tmp_path, checkpoint):
    outside = tmp_path / "outside"
    _write_json(outside / "config.json", {"pooling_mode": "mean"})
    folder = _folder(tmp_path, checkpoint, {"pooling_mode": "mean"})
    shutil.rmtree(folder / "2_Normalize")
    os.symlink(outside, folder / "2_Normalize")
    with pytest.raises(ValueError, match=re.escape(f"which is outside {folder}")):
        TextEmbedder.from_preset(folder)


def test_a_transformer_module_in_a_subfolder(tmp_path, checkpoint):
    """Old sentence-transformers models keep the checkpoint in 0_Transformer/."""
    folder = tmp_path / "old"
    shutil.copytree(checkpoint[0], folder / "0_Transformer")
    paths = {"Transformer": "0_Transformer", "Pooling": "1_Pooling", "Normalize": "2_Normalize"}
    _write_json(
        folder / "modules.json", _modules("Transformer", "Pooling", "Normalize", paths=paths)
    )
    _write_json(folder / "1_Pooling" / "config.json", {"pooling_mode_mean_tokens": True})
    _write_json(folder / "0_Transformer" / "sentence_bert_config.json", {"max_seq_length": 9})
    embedder = TextEmbedder.from_preset(folder)
    assert embedder.preprocessor.sequence_length == 9
    expected = _expected(checkpoint, similarity_fn_name="cosine")
    assert embedder.encode_text(TEXTS).shape == expected.shape


# -- writing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        dict(pooling_mode="mean"),
        dict(pooling_mode=["cls", "max"], normalize=False, similarity_fn_name="euclidean"),
        dict(
            pooling_mode="weightedmean",
            include_prompt=False,
            prompts=PROMPTS,
            default_prompt_name="query",
            truncate_dim=6,
        ),
    ],
    ids=["mean", "combination", "prompts"],
)
def test_round_trip_keeps_the_embeddings_and_the_config(tmp_path, arguments):
    embedder = _embedder(**arguments, seed=3)
    folder = tmp_path / "st"
    embedder.save_to_preset(folder, format="sentence-transformers")
    normalize = arguments.get("normalize", True)
    expected_files = [
        "1_Pooling/config.json",
        *(["2_Normalize/config.json"] if normalize else []),
        "config.json",
        "config_sentence_transformers.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
        "tokenizer_config.json",
        "vocab.txt",
    ]
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == (
        expected_files
    )
    modules = json.loads((folder / "modules.json").read_text())
    kinds = ["Transformer", "Pooling"] + (["Normalize"] if normalize else [])
    assert modules == _modules(*kinds, types=ST6)
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    assert pooling == {
        "embedding_dimension": 8,
        "pooling_mode": arguments["pooling_mode"],
        "include_prompt": arguments.get("include_prompt", True),
    }
    assert json.loads((folder / "sentence_bert_config.json").read_text()) == {
        "max_seq_length": 12,
        "do_lower_case": False,
    }
    model_config = json.loads((folder / "config_sentence_transformers.json").read_text())
    assert model_config == {
        "__version__": {"textbones": textbones.__version__},
        "model_type": "SentenceTransformer",
        "prompts": arguments.get("prompts", {}),
        "default_prompt_name": arguments.get("default_prompt_name"),
        "similarity_fn_name": arguments.get("similarity_fn_name", "dot"),
        **({"truncate_dim": 6} if "truncate_dim" in arguments else {}),
    }
    loaded = TextEmbedder.from_preset(folder)
    for key in (
        "pooling_mode",
        "normalize",
        "include_prompt",
        "default_prompt_name",
        "truncate_dim",
    ):
        assert getattr(loaded, key) == getattr(embedder, key)
    assert loaded.similarity_fn_name == embedder.similarity_fn_name
    assert (loaded.prompts or None) == (embedder.prompts or None)
    assert loaded.preprocessor.sequence_length == 12
    prompt_name = "passage" if "prompts" in arguments else None
    np.testing.assert_array_equal(
        loaded.encode_text(TEXTS, prompt_name=prompt_name),
        embedder.encode_text(TEXTS, prompt_name=prompt_name),
    )


def test_distil_bert_and_albert_round_trip(tmp_path):
    from tests.helpers.sentence_piece import tiny_proto

    albert_tokenizer = textbones.models.AlbertTokenizer(proto=tiny_proto("albert"))
    embedders = [
        textbones.models.DistilBertTextEmbedder(
            textbones.models.DistilBertBackbone(
                len(VOCABULARY), 1, 2, 8, 16, max_sequence_length=16
            ),
            textbones.models.DistilBertTextEmbedderPreprocessor(
                textbones.models.DistilBertTokenizer(vocabulary=VOCABULARY), sequence_length=12
            ),
            pooling_mode="max",
        ),
        textbones.models.AlbertTextEmbedder(
            textbones.models.AlbertBackbone(
                albert_tokenizer.vocabulary_size(), 1, 2, 8, 16, 8, max_sequence_length=16
            ),
            textbones.models.AlbertTextEmbedderPreprocessor(albert_tokenizer, sequence_length=12),
            pooling_mode="lasttoken",
            normalize=False,
        ),
    ]
    for embedder in embedders:
        folder = tmp_path / type(embedder).__name__
        embedder.save_to_preset(folder, format="sentence-transformers")
        loaded = TextEmbedder.from_preset(folder)
        assert type(loaded) is type(embedder)
        assert (loaded.pooling_mode, loaded.normalize) == (
            embedder.pooling_mode,
            embedder.normalize,
        )
        np.testing.assert_array_equal(loaded.encode_text(TEXTS), embedder.encode_text(TEXTS))


def test_saving_over_a_folder_leaves_no_stale_module(tmp_path):
    folder = tmp_path / "st"
    _embedder(normalize=True).save_to_preset(folder, format="sentence-transformers")
    (folder / "README.md").write_text("mine")
    _embedder(normalize=False).save_to_preset(folder, format="sentence-transformers")
    assert not (folder / "2_Normalize").exists()
    assert (folder / "README.md").read_text() == "mine"
    assert TextEmbedder.from_preset(folder).normalize is False
    # A Keras preset saved over it replaces the sentence-transformers files too.
    _embedder().save_to_preset(folder)
    assert not (folder / "modules.json").exists() and not (folder / "1_Pooling").exists()
    assert preset_format(folder).name == "keras"


def test_only_a_whole_text_embedder_is_written(tmp_path):
    embedder = _embedder()
    message = (
        "A sentence-transformers folder holds a whole embedding model (encoder, pooling, "
        "tokenizer), so a BertBackbone (backbone) alone cannot be saved in it. Save a "
        'TextEmbedder with format="sentence-transformers", or this backbone with '
        'format="transformers".'
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        embedder.backbone.save_to_preset(tmp_path / "b", format="sentence-transformers")
    with pytest.raises(ValueError, match="so a BertTokenizer \\(tokenizer\\) alone"):
        embedder.preprocessor.tokenizer.save_to_preset(
            tmp_path / "t", format="sentence-transformers"
        )
    with pytest.raises(ValueError, match="so a BertTextEmbedderPreprocessor \\(preprocessor\\)"):
        embedder.preprocessor.save_to_preset(tmp_path / "p", format="sentence-transformers")
    bare = BertTextEmbedder(embedder.backbone)
    message = (
        "This BertTextEmbedder has no preprocessor, and a sentence-transformers folder needs "
        "the tokenizer. Attach a preprocessor (its tokenizer and sequence_length) before saving."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        bare.save_to_preset(tmp_path / "e", format="sentence-transformers")
    classifier = textbones.models.BertTextClassifier(embedder.backbone, 2)
    message = (
        "A sentence-transformers folder holds a text embedder; a BertTextClassifier cannot be "
        'saved in it. Save it with format="keras" or format="transformers".'
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        classifier.save_to_preset(tmp_path / "c", format="sentence-transformers")
    assert not any((tmp_path / name).exists() for name in "btpec")


# -- hf:// handles ---------------------------------------------------------------------------


def test_an_hf_handle_of_a_cached_sentence_transformers_repository(tmp_path, monkeypatch):
    import huggingface_hub.constants as hf_constants

    embedder = _embedder(pooling_mode="cls", prompts=PROMPTS)
    source = tmp_path / "saved"
    embedder.save_to_preset(source, format="sentence-transformers")
    repo = pathlib.Path(hf_constants.HF_HUB_CACHE, "models--some-org--tiny-st")
    commit = "b" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    blobs = repo / "blobs"
    blobs.mkdir()
    for index, path in enumerate(sorted(p for p in source.rglob("*") if p.is_file())):
        # As huggingface_hub stores them: the snapshot's files link into blobs/.
        blob = blobs / f"blob{index}"
        shutil.copy(path, blob)
        target = snapshot / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, target.parent), target)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    loaded = TextEmbedder.from_preset("hf://some-org/tiny-st")
    assert type(loaded) is BertTextEmbedder
    assert (loaded.pooling_mode, loaded.prompts) == ("cls", PROMPTS)
    np.testing.assert_array_equal(
        loaded.encode_text(TEXTS, prompt_name="query"),
        embedder.encode_text(TEXTS, prompt_name="query"),
    )
