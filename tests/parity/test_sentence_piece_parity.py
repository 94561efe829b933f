"""Parity with KerasHub's SentencePiece tokenizers (``AlbertTokenizer``, ``FNetTokenizer``:
those of every registered family whose tokenizer is a ``SentencePieceTokenizer``), both ways.

KerasHub runs in the reference virtualenv (``.venv-ref``) as one subprocess per module,
``tests/parity/sentence_piece_reference.py``. On the shared hard corpus and three tiny
SentencePiece models (ALBERT's published layout, KerasHub's documented recipe with a
user-defined ``[MASK]``, and a BPE model whose ``<pad>`` is not id 0):

* KerasHub's ids (its default ``sentencepiece`` path, single strings and padded batches)
  equal ours; its TensorFlow (``tf_text``) path too, except where two segmentations tie;
* presets KerasHub writes (a tiny backbone plus the tokenizer) load here as the right
  class with the same config and ids;
* presets we write load in KerasHub as the right class with the same ids.

Environment variables: ``TEXTBONES_REF_PYTHON`` (the reference interpreter, default
``<repo>/.venv-ref/bin/python``), ``TEXTBONES_REF_KERAS_BACKEND`` (default ``torch``).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time

import numpy as np
import pytest
import sentencepiece

from tests.helpers import families, sentence_piece
from tests.helpers.reference_env import reference_python
from textbones.preprocessing.tokenizer import Tokenizer

pytestmark = pytest.mark.parity

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = pathlib.Path(__file__).with_name("sentence_piece_reference.py")
SUBPROCESS_TIMEOUT_S = 300
SEQUENCE_LENGTH = 16
LAYOUTS = ("albert", "user_defined_mask", "bpe_pad_last")
#: (tokenizer class, backbone class) of each SentencePiece family, by tokenizer class name.
FAMILIES = {
    family.tokenizer.__name__: (family.tokenizer, family.backbone)
    for family in families.families()
    if not families.uses_word_piece(family)
}
# Tiny backbones, only there because KerasHub reads a preset's config.json first.
BACKBONE_CONFIG = {
    family.tokenizer.__name__: {**family.tiny_config, "max_sequence_length": SEQUENCE_LENGTH}
    for family in families.families()
    if family.tokenizer.__name__ in FAMILIES
}
KEYS = [f"{name}/{layout}" for name in FAMILIES for layout in LAYOUTS]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return list(sentence_piece.corpus())


@pytest.fixture(scope="module")
def exchange(tmp_path_factory, texts) -> tuple[pathlib.Path, dict]:
    """Write our models and presets, run the reference once, return its response."""
    ref_python = reference_python()
    workdir = tmp_path_factory.mktemp("sentence_piece_parity")
    models = {}
    for layout in LAYOUTS:
        models[layout] = f"models/{layout}.spm"
        (workdir / "models").mkdir(exist_ok=True)
        (workdir / models[layout]).write_bytes(sentence_piece.tiny_proto(layout))
    presets = {}
    for key in KEYS:
        name, layout = key.split("/")
        tokenizer_cls, backbone_cls = FAMILIES[name]
        tokenizer = tokenizer_cls(
            sentence_piece.tiny_proto(layout), sequence_length=SEQUENCE_LENGTH
        )
        preset = workdir / "textbones" / f"{name}_{layout}"
        backbone = backbone_cls(
            vocabulary_size=tokenizer.vocabulary_size(), **BACKBONE_CONFIG[name]
        )
        backbone.save_to_preset(preset)
        tokenizer.save_to_preset(preset)
        presets[key] = str(preset.relative_to(workdir))
    request = {
        "texts": texts,
        "sequence_length": SEQUENCE_LENGTH,
        "models": models,
        "classes": list(FAMILIES),
        "backbone_classes": {name: backbone.__name__ for name, (_, backbone) in FAMILIES.items()},
        "backbone_config": BACKBONE_CONFIG,
        "textbones_presets": presets,
    }
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    env = {
        **os.environ,
        "TEXTBONES_REF_KERAS_BACKEND": os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    started = time.perf_counter()
    finished = subprocess.run(
        [str(ref_python), str(SCRIPT), str(workdir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,  # a failure becomes a readable test failure below
    )
    if finished.returncode != 0:
        pytest.fail(
            f"the KerasHub reference run failed (exit {finished.returncode}):\n"
            f"{finished.stderr[-4000:]}",
            pytrace=False,
        )
    response = json.loads((workdir / "response.json").read_text(encoding="utf-8"))
    response["seconds"] = round(time.perf_counter() - started, 2)
    print(f"\nKerasHub {response['keras_hub_version']} reference run: {response['seconds']} s")
    return workdir, response


def _ours(key: str, **kwargs):
    name, layout = key.split("/")
    return FAMILIES[name][0](sentence_piece.tiny_proto(layout), **kwargs)


def _entry(section: dict, key: str) -> dict:
    entry = section[key]
    assert "error" not in entry, entry["error"]
    return entry


@pytest.mark.parametrize("key", KEYS)
def test_keras_hub_ids_equal_ours(exchange, texts, key):
    reference = _entry(exchange[1]["tokenize"], key)
    ours = _ours(key)(texts)
    for path in ("python", "python_single"):
        mismatches = [t for t, a, b in zip(texts, reference[path], ours, strict=True) if a != b]
        assert mismatches == [], f"{path}: {len(mismatches)} of {len(texts)} texts differ"
    np.testing.assert_array_equal(
        np.asarray(reference["padded"]), _ours(key, sequence_length=SEQUENCE_LENGTH)(texts)
    )
    tokenizer = _ours(key)
    assert reference["vocabulary_size"] == tokenizer.vocabulary_size()
    for name, value in reference["special_token_ids"].items():
        assert getattr(tokenizer, f"{name}_id") == value
    assert reference["detokenized"] == tokenizer.detokenize(tokenizer(texts))


@pytest.mark.parametrize("key", KEYS)
def test_keras_hub_tensorflow_path_differs_only_in_ties(exchange, texts, key):
    """KerasHub's ``tf_text`` path bundles an older SentencePiece, which breaks ties between
    equally scored segmentations differently (seen on long runs of one character, such as
    300 emoji): there, both must be best segmentations of the same text. Everywhere else the
    ids must be identical."""
    reference = _entry(exchange[1]["tokenize"], key)["tf"]
    tokenizer = _ours(key)
    model = sentencepiece.SentencePieceProcessor(model_proto=tokenizer.proto)
    ours = tokenizer(texts)
    ties = []
    for text, theirs, mine in zip(texts, reference, ours, strict=True):
        if theirs == mine:
            continue
        assert model.decode(theirs) == model.decode(mine), text
        score = sum(map(model.get_score, mine))
        assert sum(map(model.get_score, theirs)) == pytest.approx(score, rel=1e-6), text
        ties.append(text[:20])
    assert len(ties) <= 2, ties
    same = len(texts) - len(ties)
    print(f"\n{key}: tf_text path identical on {same} of {len(texts)} texts; ties: {ties}")


@pytest.mark.parametrize("key", KEYS)
def test_keras_hub_preset_loads_here(exchange, texts, key):
    workdir, response = exchange
    preset = workdir / response["keras_hub_presets"][key]
    name = key.split("/")[0]
    written = json.loads((preset / "tokenizer.json").read_text(encoding="utf-8"))
    assert written["registered_name"] == f"keras_hub>{name}"
    for loader in (Tokenizer, FAMILIES[name][0]):
        loaded = loader.from_preset(preset)
        assert type(loaded) is FAMILIES[name][0]
        assert loaded.get_config() == written["config"]
        np.testing.assert_array_equal(
            loaded(texts), np.asarray(_entry(response["tokenize"], key)["padded"])
        )


@pytest.mark.parametrize("key", KEYS)
def test_our_preset_loads_in_keras_hub(exchange, texts, key):
    loaded = exchange[1]["loaded_textbones_presets"][key]
    expected = _ours(key, sequence_length=SEQUENCE_LENGTH)(texts).tolist()
    for loader in ("generic", "family"):
        entry = _entry(loaded, loader)
        assert entry["class"] == key.split("/")[0]
        assert entry["sequence_length"] == SEQUENCE_LENGTH
        assert entry["ids"] == expected
