"""Preprocessor presets cross between KerasHub 0.32 and textbones, both ways, for the
classifier and masked-LM preprocessors of every registered family."""

import json

import numpy as np
import pytest

from tests.helpers import families
from tests.helpers.reference_env import run_reference
from tests.helpers.sentence_piece import tiny_proto
from textbones.models import MaskedLMPreprocessor, Preprocessor, TextClassifierPreprocessor
from textbones.tokenizers import compute_word_piece_vocabulary

pytestmark = pytest.mark.parity

LENGTH = 16
# Plain lowercase ASCII: the character classes where KerasHub's WordPiece differs from
# BERT's are covered by the tokenizer parity tests, not here.
FIRST = [
    "the quick brown fox jumped over the dog",
    "a dog slept",
    "",
    "the end of the story is near now",
]
SECOND = ["it was quick", "the fox ran away from the dog at night", "only this", ""]
KINDS = {"TextClassifierPreprocessor": "classifier", "MaskedLMPreprocessor": "masked_lm"}


def _tokenizer_args(family) -> dict:
    """The tokenizer's arguments besides its vocabulary (the same in both libraries)."""
    return {"lowercase": True} if families.uses_word_piece(family) else {}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("preprocessor_parity")
    vocabulary = compute_word_piece_vocabulary(FIRST + SECOND, 80, lowercase=True)
    (workdir / "vocab.txt").write_text("\n".join(vocabulary))
    (workdir / "model.spm").write_bytes(tiny_proto("albert"))
    ours = {}
    for family in families.families():
        tokenizer = families.tiny_tokenizer(
            family, vocabulary=vocabulary, proto=tiny_proto("albert"), **_tokenizer_args(family)
        )
        for kind in KINDS.values():
            preprocessor_class = family.preprocessors[kind]
            preprocessor = preprocessor_class(tokenizer, sequence_length=LENGTH)
            # KerasHub only loads directories that hold a backbone config.json.
            backbone = family.backbone(
                **families.tiny_config(family, vocabulary_size=tokenizer.vocabulary_size())
            )
            name = preprocessor_class.__name__
            backbone.save_to_preset(workdir / "ours" / name)
            preprocessor.save_to_preset(workdir / "ours" / name)
            ours[name] = preprocessor
    # What KerasHub builds of each family: classes of the same names as ours.
    request_families = {
        family.name: {
            "word_piece": families.uses_word_piece(family),
            "tokenizer_class": family.tokenizer.__name__,
            "tokenizer_args": _tokenizer_args(family),
            "backbone_class": family.backbone.__name__,
            "backbone_args": dict(family.tiny_config),
            "preprocessor_classes": [
                family.preprocessors[kind].__name__ for kind in KINDS.values()
            ],
        }
        for family in families.families()
    }
    request = {
        "texts": FIRST + SECOND,
        "pairs": [FIRST, SECOND],
        "sequence_length": LENGTH,
        "bert_vocabulary": str(workdir / "vocab.txt"),
        "proto": str(workdir / "model.spm"),
        "families": request_families,
        "textbones_presets": {name: str(workdir / "ours" / name) for name in ours},
    }
    (workdir / "request.json").write_text(json.dumps(request))
    run_reference("preprocessor_reference.py", workdir)
    return ours, json.loads((workdir / "response.json").read_text())


def _outputs(preprocessor) -> dict:
    return {
        key: np.asarray(value).astype("int64").tolist()
        for key, value in preprocessor((FIRST, SECOND)).items()
    }


@pytest.mark.parametrize("family", families.family_params())
@pytest.mark.parametrize("kind", list(KINDS))
def test_keras_hub_preset_loads_here(exchange, family, kind):
    ours, response = exchange
    name = family.preprocessors[KINDS[kind]].__name__
    entry = response["keras_hub"][name]
    base = MaskedLMPreprocessor if kind == "MaskedLMPreprocessor" else TextClassifierPreprocessor
    for loader in (Preprocessor, base):
        loaded = loader.from_preset(entry["dir"])
        assert type(loaded).__name__ == name
        assert loaded.sequence_length == LENGTH
    if kind == "TextClassifierPreprocessor":
        assert _outputs(loaded) == entry["outputs"]
    else:
        assert loaded.mask_selection_length == 96 and loaded.mask_selection_rate == 0.15


@pytest.mark.parametrize("family", families.family_params())
@pytest.mark.parametrize("kind", list(KINDS))
def test_our_preset_loads_in_keras_hub(exchange, family, kind):
    ours, response = exchange
    name = family.preprocessors[KINDS[kind]].__name__
    entry = response["loaded_ours"][name]
    assert entry["class"] == name and entry["sequence_length"] == LENGTH
    if kind == "TextClassifierPreprocessor":
        assert entry["outputs"] == _outputs(ours[name])
    else:
        assert entry["mask_selection_length"] == 96
