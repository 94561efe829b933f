"""Preprocessor presets cross between KerasHub 0.32 and textbones, both ways."""

import json

import numpy as np
import pytest

from tests.helpers.reference_env import run_reference
from tests.helpers.sentence_piece import tiny_proto
from textbones.models import (
    AlbertTokenizer,
    BertTokenizer,
    FNetTokenizer,
    MaskedLMPreprocessor,
    Preprocessor,
    TextClassifierPreprocessor,
)
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
FAMILIES = {"Bert": BertTokenizer, "Albert": AlbertTokenizer, "FNet": FNetTokenizer}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("preprocessor_parity")
    vocabulary = compute_word_piece_vocabulary(FIRST + SECOND, 80, lowercase=True)
    (workdir / "vocab.txt").write_text("\n".join(vocabulary))
    (workdir / "model.spm").write_bytes(tiny_proto("albert"))
    tokenizers = {
        "Bert": BertTokenizer(vocabulary=vocabulary, lowercase=True),
        "Albert": AlbertTokenizer(proto=tiny_proto("albert")),
        "FNet": FNetTokenizer(proto=tiny_proto("albert")),
    }
    ours = {}
    import textbones

    backbone_args = {
        "Bert": dict(num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16),
        "Albert": dict(
            num_layers=1, num_heads=2, embedding_dim=8, hidden_dim=8, intermediate_dim=16
        ),
        "FNet": dict(num_layers=1, hidden_dim=8, intermediate_dim=16),
    }
    for family, tokenizer in tokenizers.items():
        for kind in ("TextClassifierPreprocessor", "MaskedLMPreprocessor"):
            name = f"{family}{kind}"
            preprocessor = getattr(textbones.models, name)(tokenizer, sequence_length=LENGTH)
            # KerasHub only loads directories that hold a backbone config.json.
            backbone = getattr(textbones.models, f"{family}Backbone")(
                vocabulary_size=tokenizer.vocabulary_size(), **backbone_args[family]
            )
            backbone.save_to_preset(workdir / "ours" / name)
            preprocessor.save_to_preset(workdir / "ours" / name)
            ours[name] = preprocessor
    request = {
        "texts": FIRST + SECOND,
        "pairs": [FIRST, SECOND],
        "sequence_length": LENGTH,
        "bert_vocabulary": str(workdir / "vocab.txt"),
        "proto": str(workdir / "model.spm"),
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


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("kind", ["TextClassifierPreprocessor", "MaskedLMPreprocessor"])
def test_keras_hub_preset_loads_here(exchange, family, kind):
    ours, response = exchange
    name = f"{family}{kind}"
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


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("kind", ["TextClassifierPreprocessor", "MaskedLMPreprocessor"])
def test_our_preset_loads_in_keras_hub(exchange, family, kind):
    ours, response = exchange
    name = f"{family}{kind}"
    entry = response["loaded_ours"][name]
    assert entry["class"] == name and entry["sequence_length"] == LENGTH
    if kind == "TextClassifierPreprocessor":
        assert entry["outputs"] == _outputs(ours[name])
    else:
        assert entry["mask_selection_length"] == 96
