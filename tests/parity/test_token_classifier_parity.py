"""Parity of ``TokenClassifier`` with ``transformers``' ``*ForTokenClassification`` and its
token-classification pipeline, for every family with a ``transformers`` mapping.

One reference process (``token_classifier_reference.py``, in ``.venv-ref``) serves the whole
module: it makes a random-weight ``*ForTokenClassification`` checkpoint per family (from the
family's tiny backbone's config), loads what textbones exported, and runs the pipeline with
every aggregation strategy (and ``stride`` on long texts) on the exported models. Here
textbones loads their checkpoints (logits within 1e-4), compares the logits of the exports,
and finds the same entities (labels, words, offsets; scores within 1e-4).

The pipeline is compared on the families with a padding mask: FNet mixes the padding into
every token (the pipeline feeds unpadded rows, textbones FNet's fixed-length ones). The
SentencePiece families need the tokenizer's offsets (``tokenize_with_offsets``).
"""

from __future__ import annotations

import json
import types
import warnings

import numpy as np
import pytest

from tests.helpers import families
from tests.helpers.reference_env import run_reference
from textbones.models import TokenClassifier

pytestmark = pytest.mark.parity

TOLERANCE = 1e-4
SEQUENCE_LENGTH = 16
STRIDE = 4
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-MISC"]
STRATEGIES = ["none", "simple", "first", "average", "max"]
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "john lives in new york ##er ##s the a fox dog sat on mat . , ! and paris mary ##ly"
    " ran to".split()
)
TEXTS = [
    "John lives in New Yorker.",
    "Mary and John sat on the mat, in Paris!",
    "Zorblax ran to the dogs",
    "the fox",
    "Café john  and\tMARY ran to New York, Paris and the mat.",  # cut at 14 tokens
]
LONG_TEXTS = [
    " ".join(["John lives in New Yorker, and Mary sat on the mat in Paris."] * 4),
    "the fox ran to the dogs and Mary ran to Paris " * 3,
]
FAMILIES = families.family_params(lambda family: family.transformers is not None)
# WordPiece families only. FNet: the pipeline feeds unpadded rows, textbones' FNet a fixed
# length. ALBERT: a lone "▁" piece has an empty span here and its word's first character
# in transformers (a documented departure of the SentencePiece offsets), so entities that
# hold one differ in start/end; see the issue-15 note.
PIPELINE_FAMILIES = families.family_params(
    lambda family: family.transformers is not None and families.uses_word_piece(family)
)


def _tokenizer(family):
    if families.uses_word_piece(family):
        return families.tiny_tokenizer(family, vocabulary=VOCABULARY, lowercase=True)
    return families.tiny_tokenizer(family)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("token_classifier_parity")
    request = {"make": {}, "exports": {}, "pipelines": {}}
    taggers, inputs = {}, {}
    id2label = {str(index): label for index, label in enumerate(LABELS)}
    for param in FAMILIES:
        family = param.values[0]
        name = family.name
        tokenizer = _tokenizer(family)
        size = max(families.TINY_VOCABULARY_SIZE, tokenizer.vocabulary_size())
        backbone = families.tiny_backbone(family, seed=3, vocabulary_size=size)
        preprocessor = family.preprocessors["token_classifier"](
            tokenizer, sequence_length=SEQUENCE_LENGTH
        )
        tagger = family.tasks["token_classifier"](
            backbone, id2label=LABELS, preprocessor=preprocessor
        )
        families.perturb_weights(tagger, seed=3)
        families.perturb_weights(tagger.output_dense, seed=4)  # a head far from its init
        taggers[name] = tagger
        exported = workdir / "ours" / name
        tagger.save_to_preset(exported, format="transformers")
        batch = families.backbone_inputs(
            family, lengths=(9, 6, 2), total=9, seed=5, vocabulary_size=size
        )
        inputs[name] = batch
        inputs_path = workdir / f"{name}_inputs.npz"
        np.savez(inputs_path, **batch)
        config = {
            **family.transformers.config_fields(backbone),
            "id2label": id2label,
            "label2id": {label: index for index, label in enumerate(LABELS)},
        }
        request["make"][name] = {
            "model_type": family.transformers.model_type,
            "config": config,
            "inputs": str(inputs_path),
        }
        request["exports"][name] = {"path": str(exported), "inputs": str(inputs_path)}
        if families.has_padding_mask(family):
            request["pipelines"][name] = {
                "path": str(exported),
                "texts": TEXTS,
                "long_texts": LONG_TEXTS,
                "stride": STRIDE,
                "strategies": STRATEGIES,
            }
    (workdir / "request.json").write_text(json.dumps(request))
    run_reference("token_classifier_reference.py", workdir, timeout=900)
    result = json.loads((workdir / "result.json").read_text())
    return types.SimpleNamespace(workdir=workdir, result=result, taggers=taggers, inputs=inputs)


def _logits(reference, file_name: str) -> np.ndarray:
    return np.load(reference.workdir / "hf" / file_name)["logits"]


@pytest.mark.parametrize("family", FAMILIES)
def test_their_checkpoint_loads_with_its_labels_and_logits(reference, family):
    made = reference.result["made"][family.name]
    architecture = family.transformers.architecture("token_classifier", "ForTokenClassification")
    assert made["class"] == architecture
    # BERT's and ALBERT's token classifiers have no pooler; FNet's has.
    has_pooler = any(".pooler." in key for key in made["keys"])
    assert has_pooler == (family.name == "f_net")
    assert {key for key in made["keys"] if key.startswith("classifier.")} == {
        "classifier.weight",
        "classifier.bias",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning about the missing pooler
        loaded = TokenClassifier.from_preset(made["path"], preprocessor=None)
    assert type(loaded) is family.tasks["token_classifier"]
    assert loaded.id2label == dict(enumerate(LABELS))
    ours = loaded.predict(reference.inputs[family.name], verbose=0)
    theirs = _logits(reference, f"{family.name}.npz")
    assert ours.shape == theirs.shape == (3, 9, len(LABELS))
    difference = float(np.abs(ours - theirs).max())
    print(f"{family.name} load: max |logits difference| {difference:.2e}")
    assert difference <= TOLERANCE


@pytest.mark.parametrize("family", FAMILIES)
def test_their_library_loads_our_export(reference, family):
    report = reference.result["exports"][family.name]
    assert report["class"] == family.transformers.architecture(
        "token_classifier", "ForTokenClassification"
    )
    assert report["missing_keys"] == [] and report["mismatched_keys"] == [], report
    assert all(".pooler." in key for key in report["unexpected_keys"]), report
    assert report["id2label"] == {str(index): label for index, label in enumerate(LABELS)}
    ours = reference.taggers[family.name].predict(reference.inputs[family.name], verbose=0)
    theirs = _logits(reference, f"export_{family.name}.npz")
    difference = float(np.abs(ours - theirs).max())
    print(f"{family.name} export: max |logits difference| {difference:.2e}")
    assert difference <= TOLERANCE


def _assert_same_entities(ours, theirs, where: str) -> float:
    """Equal entities (all but the score exactly); returns the largest score difference."""
    assert len(ours) == len(theirs), f"{where}: {len(ours)} texts, {len(theirs)} expected"
    largest = 0.0
    for index, (mine, expected) in enumerate(zip(ours, theirs)):
        strip = [{key: value for key, value in e.items() if key != "score"} for e in mine]
        wanted = [{key: value for key, value in e.items() if key != "score"} for e in expected]
        assert strip == wanted, f"{where}, text {index}"
        for a, b in zip(mine, expected):
            largest = max(largest, abs(a["score"] - b["score"]))
    assert largest <= TOLERANCE, f"{where}: scores differ by {largest}"
    return largest


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("family", PIPELINE_FAMILIES)
def test_the_pipeline_s_entities(reference, family, strategy):
    found = reference.result["pipelines"][family.name]
    tagger = reference.taggers[family.name]
    ours = tagger.predict_entities(TEXTS, aggregation_strategy=strategy)
    assert sum(map(len, ours)) > 3  # random weights tag plenty of tokens
    largest = _assert_same_entities(ours, found[strategy], f"{family.name} {strategy}")
    if strategy != "none":
        long = tagger.predict_entities(LONG_TEXTS, aggregation_strategy=strategy, stride=STRIDE)
        largest = max(
            largest,
            _assert_same_entities(long, found[f"{strategy}_stride"], f"{strategy} stride"),
        )
    print(f"{family.name} {strategy}: max |score difference| {largest:.2e}")
