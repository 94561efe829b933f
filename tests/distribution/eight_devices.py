"""Tasks on 8 devices: ``keras.distribution.DataParallel`` and a 2 x 4 ``ModelParallel`` mesh
against one device, on raw strings, uneven last batches included.

Run in its own process by ``test_eight_devices.py``, with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` set before JAX starts (JAX only; Keras
3.15 has no distribution for torch, and TensorFlow's is a prototype). Each check trains or
predicts the same model, built under the same seed, once on one device and once distributed,
on the same batches, and compares weights and outputs to 1e-5. The optimizer is SGD: Adam
divides each update by the gradient's own size, so that a weight whose gradient is at the
level of rounding (a layer norm's offset) moves by the learning rate either way, and two
exact computations in different orders part by far more than their rounding. Batch sizes
are multiples of 8 and the row counts are not, so every fit and predict meets an uneven batch.
"""

from __future__ import annotations

import contextlib
import random

import jax
import keras
import numpy as np
import pytest

import textbones
from tests.conftest import to_numpy
from tests.helpers import families
from tests.models.test_question_answerer_learning import VOCABULARY as QA_VOCABULARY
from tests.models.test_question_answerer_learning import examples as qa_examples
from tests.models.test_task_learning import RESERVED, classifier_tokenizer, topic_sentences
from tests.models.test_text_embedder_learning import CONCEPTS, paraphrase_pairs
from tests.models.test_token_classifier_learning import (
    ENDINGS,
    FILLERS,
    FIRST_STEMS,
    LABELS,
    LAST_STEMS,
    PEOPLE,
    PLACES,
    sentence,
)

TOLERANCE = 1e-5


@pytest.fixture(autouse=True, scope="module")
def eight_devices():
    devices = jax.devices()
    assert len(devices) == 8, (
        f"these checks need 8 devices, JAX has {len(devices)}: run them with "
        "XLA_FLAGS=--xla_force_host_platform_device_count=8 set before JAX starts "
        "(tests/distribution/test_eight_devices.py does)"
    )


def mesh() -> keras.distribution.DeviceMesh:
    return keras.distribution.DeviceMesh(
        (2, 4), ["batch", "model"], keras.distribution.list_devices()
    )


def make_distribution(kind: str, family):
    if kind == "data_parallel":
        return keras.distribution.DataParallel()
    layout_map = family.backbone.get_layout_map(mesh())
    return keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")


@contextlib.contextmanager
def distributed(distribution):
    keras.distribution.set_distribution(distribution)
    try:
        yield
    finally:
        keras.distribution.set_distribution(None)


def backbone(family, vocabulary_size: int, sequence_length: int = 16):
    heads = {"num_heads": 4} if "num_heads" in family.tiny_config else {}
    return family.backbone(
        **families.tiny_config(
            family,
            vocabulary_size=vocabulary_size,
            num_layers=2,
            **heads,
            hidden_dim=16,
            intermediate_dim=32,
            dropout=0.0,
            max_sequence_length=sequence_length,
        )
    )


def weights_of(model) -> dict[str, np.ndarray]:
    return {variable.path: to_numpy(variable) for variable in model.weights}


def assert_same_weights(got: dict, expected: dict, moved_from: dict) -> None:
    assert got.keys() == expected.keys()
    for path, value in expected.items():
        np.testing.assert_allclose(got[path], value, rtol=0, atol=TOLERANCE, err_msg=path)
    # Training did move the weights: the comparison is not of two untouched models.
    assert max(float(np.abs(expected[p] - moved_from[p]).max()) for p in expected) > 1e-3


def assert_sharded_as_laid_out(model, layout_map) -> int:
    """Every variable's sharding is its layout's (replicated where it has none); returns how
    many variables are split."""
    split = 0
    for variable in model.weights:
        layout = layout_map[variable.path]
        axes = (None,) * len(variable.shape) if layout is None else tuple(layout.axes)
        spec = tuple(variable.value.sharding.spec)
        spec += (None,) * (len(variable.shape) - len(spec))
        assert spec == axes, variable.path
        if any(axes):
            split += 1
            shard = variable.value.addressable_shards[0].data.shape
            sizes = {"batch": 2, "model": 4, None: 1}
            assert shard == tuple(n // sizes[a] for n, a in zip(variable.shape, axes))
    return split


def run_twice(build, train, kind: str, family):
    """``build()`` then ``train(model)`` on one device and under ``kind``'s distribution,
    each after ``keras.utils.set_random_seed(0)``: (one device's weights, its result, the
    distributed model's weights, its result, the initial weights, the distributed model)."""
    keras.utils.set_random_seed(0)
    model = build()
    start = weights_of(model)
    result = train(model)
    single = (weights_of(model), result)
    distribution = make_distribution(kind, family)
    with distributed(distribution):
        keras.utils.set_random_seed(0)
        spread = build()
        spread_result = train(spread)
        spread_weights = weights_of(spread)
    return single[0], single[1], spread_weights, spread_result, start, spread, distribution


#: Every family on the 2 x 4 mesh (its layout map); data parallelism, which is the same for
#: every family, on BERT (and on the other tasks below).
CLASSIFIER_CASES = [
    *(
        pytest.param(family, "model_parallel", id=f"{family.name}-model_parallel")
        for family in families.families()
    ),
    pytest.param(families.family("bert"), "data_parallel", id="bert-data_parallel"),
]


@pytest.mark.parametrize(("family", "kind"), CLASSIFIER_CASES)
def test_classifier_trains_and_predicts_as_on_one_device(family, kind, tmp_path):
    tokenizer = classifier_tokenizer(family)
    texts, labels = topic_sentences(random.Random(0), 44)  # batches of 16, 16 and 12
    held_out, _ = topic_sentences(random.Random(1), 13)  # batches of 8 and 5

    def build():
        preprocessor = family.preprocessors["classifier"](tokenizer, sequence_length=16)
        model = family.tasks["classifier"](
            backbone(family, tokenizer.vocabulary_size()),
            num_classes=2,
            preprocessor=preprocessor,
            dropout=0.0,
        )
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        return model

    def train(model):
        model.fit(texts, labels, batch_size=16, epochs=2, verbose=0)  # shuffled
        return model.predict(held_out, batch_size=8, verbose=0)

    weights, logits, spread_weights, spread_logits, start, spread, distribution = run_twice(
        build, train, kind, family
    )
    assert_same_weights(spread_weights, weights, start)
    assert spread_logits.shape == (13, 2)
    np.testing.assert_allclose(spread_logits, logits, rtol=0, atol=TOLERANCE)
    if kind == "model_parallel":
        assert assert_sharded_as_laid_out(spread, distribution._layout_map) >= 8
        # A sharded model saves a preset that loads on one device with the same outputs.
        with distributed(distribution):
            spread.save_to_preset(tmp_path / "preset")
        loaded = textbones.models.TextClassifier.from_preset(tmp_path / "preset")
        assert all(len(v.value.sharding.device_set) == 1 for v in loaded.weights)
        np.testing.assert_allclose(
            loaded.predict(held_out, batch_size=8, verbose=0), logits, rtol=0, atol=TOLERANCE
        )


def test_masked_lm_trains_as_on_one_device():
    """Per-token weights (the mask weights) on a padded batch."""
    kind = "data_parallel"
    family = families.family("bert")
    tokenizer = classifier_tokenizer(family)
    texts, _ = topic_sentences(random.Random(0), 20)  # batches of 8, 8 and 4

    def masker():
        return family.preprocessors["masked_lm"](
            tokenizer, sequence_length=16, mask_selection_rate=0.3
        )

    held_out = keras.utils.unpack_x_y_sample_weight(
        masker().preprocess_batch(texts[:13], rng=np.random.default_rng(5))
    )[0]

    def build():
        preprocessor = masker()
        model = family.tasks["masked_lm"](
            backbone(family, tokenizer.vocabulary_size()), preprocessor=preprocessor
        )
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        return model

    def train(model):
        model.fit(texts, batch_size=8, epochs=2, verbose=0)
        return model.predict(held_out, batch_size=8, verbose=0)

    weights, logits, spread_weights, spread_logits, start, *_ = run_twice(
        build, train, kind, family
    )
    assert_same_weights(spread_weights, weights, start)
    np.testing.assert_allclose(spread_logits, logits, rtol=0, atol=TOLERANCE)


def test_token_classifier_tags_as_on_one_device():
    family = families.family("bert")
    rng = random.Random(0)
    train_set = [sentence(rng) for _ in range(20)]
    vocabulary = RESERVED + FILLERS + PEOPLE + PLACES + FIRST_STEMS + LAST_STEMS
    vocabulary += [f"##{ending}" for ending in ENDINGS]
    tokenizer = families.tiny_tokenizer(family, vocabulary=vocabulary, lowercase=True)
    texts = [" ".join(words) for words, _ in [sentence(random.Random(1)) for _ in range(11)]]

    def build():
        preprocessor = family.preprocessors["token_classifier"](tokenizer, sequence_length=32)
        model = family.tasks["token_classifier"](
            backbone(family, len(vocabulary), 32), preprocessor=preprocessor, id2label=LABELS
        )
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        return model

    def train(model):
        words, tags = [w for w, _ in train_set], [t for _, t in train_set]
        model.fit(words, tags, batch_size=8, epochs=2, verbose=0)
        entities = model.predict_entities(texts, aggregation_strategy="none", ignore_labels=())
        return model.predict(texts, batch_size=8, verbose=0), entities

    weights, (logits, entities), spread_weights, (spread_logits, spread_entities), start, *_ = (
        run_twice(build, train, "data_parallel", family)
    )
    assert_same_weights(spread_weights, weights, start)
    np.testing.assert_allclose(spread_logits, logits, rtol=0, atol=TOLERANCE)
    assert [[e["entity"] for e in row] for row in spread_entities] == [
        [e["entity"] for e in row] for row in entities
    ]


def test_question_answerer_answers_as_on_one_device():
    """Windows of long contexts: no batch has a row count fixed in advance."""
    family = families.family("bert")
    tokenizer = families.tiny_tokenizer(family, vocabulary=QA_VOCABULARY, lowercase=True)
    questions, contexts, answers, _ = qa_examples(random.Random(0), 21)

    def build():
        preprocessor = family.preprocessors["question_answerer"](
            tokenizer, sequence_length=32, doc_stride=8
        )
        model = family.tasks["question_answerer"](
            backbone(family, len(QA_VOCABULARY), 32), preprocessor
        )
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        return model

    def train(model):
        # In order: preprocessed windows are arrays, which Keras shuffles with its own
        # random state on one device and textbones' batches with theirs when distributed.
        model.fit((questions, contexts), answers, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return model.answer(questions[:5], contexts[:5], top_k=2, doc_stride=8)

    weights, found, spread_weights, spread_found, start, *_ = run_twice(
        build, train, "data_parallel", family
    )
    assert_same_weights(spread_weights, weights, start)
    for got, expected in zip(spread_found, found):
        assert [(a["answer"], a["start"], a["end"]) for a in got] == [
            (a["answer"], a["start"], a["end"]) for a in expected
        ]
        np.testing.assert_allclose(
            [a["score"] for a in got], [a["score"] for a in expected], rtol=1e-4
        )


def test_embedder_leaves_out_the_rows_in_batch_negatives_cannot_pad():
    """With in-batch negatives a copied row would be a negative for its own original: each
    epoch leaves out its last rows instead (20 pairs, 8 devices: 16 used), as a one-device
    fit on those 16 pairs does."""
    family = families.family("bert")
    anchors, positives, _ = paraphrase_pairs(random.Random(0), 20)
    vocabulary = RESERVED + [f"c{c}{side}" for c in range(CONCEPTS) for side in "ab"]
    tokenizer = families.tiny_tokenizer(family, vocabulary=vocabulary, lowercase=True)

    def build():
        preprocessor = family.preprocessors["text_embedder"](tokenizer, sequence_length=16)
        model = family.tasks["text_embedder"](backbone(family, len(vocabulary)), preprocessor)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        return model

    keras.utils.set_random_seed(0)
    single = build()
    start = weights_of(single)
    single.fit((anchors[:16], positives[:16]), batch_size=8, epochs=2, shuffle=False, verbose=0)
    with distributed(keras.distribution.DataParallel()):
        keras.utils.set_random_seed(0)
        spread = build()
        spread.fit((anchors, positives), batch_size=8, epochs=2, shuffle=False, verbose=0)
        encoded = spread.encode_text(anchors[:13])
        with pytest.raises(ValueError, match=r"`batch_size=12` does not split evenly over the 8"):
            spread.fit((anchors, positives), batch_size=12, verbose=0)
    assert_same_weights(weights_of(spread), weights_of(single), start)
    np.testing.assert_allclose(encoded, single.encode_text(anchors[:13]), rtol=0, atol=TOLERANCE)
