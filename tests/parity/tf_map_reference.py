"""Preprocessing objects on TensorFlow tensors: the reference-environment side of
``test_tf_map_parity.py``.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``), where TensorFlow
and KerasHub are installed. Usage: ``tf_map_reference.py BACKEND`` (the Keras backend).

For each registered family (``textbones.registry``: a WordPiece family on one WordPiece
vocabulary, a SentencePiece one on one tiny SentencePiece model,
``tests/helpers/sentence_piece.py``), it builds textbones' and KerasHub's tokenizer,
packer, mask generator and preprocessors on the same vocabulary, and asserts here that

* ``Dataset.map`` of each textbones object (batched and unbatched; tokenizers padded and
  ragged, ``detokenize``, the packer on one segment and on pairs, the classifier
  preprocessor with ``(x, y)``, ``(x, y, sample_weight)`` and pairs, the masked LM
  preprocessor) has KerasHub's element spec (dtypes, ranks, static shapes, ragged where
  KerasHub is ragged) and KerasHub's values, and the values of eager textbones calls on
  the same texts;
* mask generators and masked LM preprocessors (fixed seeds) give the eager shapes and
  dtypes, leave every unselected position as its input, and draw in ``Dataset.map``
  exactly the masks an eager object of the same seed draws;
* a parallel map (``num_parallel_calls=AUTOTUNE``) and a ``tf.function`` give the same
  values; eager ``tf.Tensor`` inputs (a scalar string included) give KerasHub's values,
  dense outputs as ``tf.Tensor``, ragged and string ones as Python lists;
* ``dataset.map(preprocessor)`` feeds ``fit`` of a tiny ``BertTextClassifier`` and a
  tiny ``BertMaskedLM`` (both with ``preprocessor=None``), with a falling loss.

The last line of stdout is a JSON summary that the pytest side checks again.
"""

import json
import os
import pathlib
import sys
import time

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "tensorflow"
os.environ["KERAS_BACKEND"] = BACKEND
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
from reference_shared import stderr_silenced  # noqa: E402

with stderr_silenced():
    import keras
    import keras_hub
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")

import textbones  # noqa: E402
from tests.helpers.sentence_piece import tiny_proto  # noqa: E402
from textbones import registry  # noqa: E402
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer  # noqa: E402

assert keras.config.backend() == BACKEND, keras.config.backend()

RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: The family every case runs on (the others skip what is the same code for all).
FIRST = registry.families()[0].name
WORDS = (
    "the of and to in is was for on city music family season game team film river village".split()
)
TEXTS = [
    "The city and the river.",
    "music",
    "a family film was on in the village of the team and the season game",
    "",
    "Paris London river music",
    "unknownword in the film",
]
LENGTH = 12
CHECKS = {"count": 0}
AUTOTUNE = tf.data.AUTOTUNE


def check(condition: bool, message: str) -> None:
    CHECKS["count"] += 1
    assert condition, message


def as_python(value):
    """A tensor, ragged tensor, array, list or string, as nested Python values (str decoded)."""
    if isinstance(value, tf.RaggedTensor):
        value = value.to_list()
    elif isinstance(value, tf.Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (list, tuple)):
        return [as_python(item) for item in value]
    if isinstance(value, dict):
        return {key: as_python(item) for key, item in value.items()}
    if isinstance(value, (np.generic,)):
        return value.item()
    if hasattr(value, "shape") and not isinstance(value, (str, int, float)):  # a backend tensor
        return np.asarray(value).tolist()
    return value


def spec_of(spec):
    """An element spec as JSON-able nested (kind, dtype, shape) triples."""
    if isinstance(spec, dict):
        return {key: spec_of(item) for key, item in spec.items()}
    if isinstance(spec, tuple):
        return [spec_of(item) for item in spec]
    kind = "ragged" if isinstance(spec, tf.RaggedTensorSpec) else "dense"
    return [kind, spec.dtype.name, spec.shape.as_list()]


def mapped(dataset, function, **kwargs):
    """The element spec and every element (as Python values) of ``dataset.map(function)``."""
    result = dataset.map(function, **kwargs)
    return spec_of(result.element_spec), [as_python(element) for element in result]


def same_as_keras_hub(name, ours, theirs, allowed=None):
    """Equal specs and values; ``allowed`` maps a spec path to the difference we accept."""
    our_spec, our_values = ours
    hub_spec, hub_values = theirs
    if allowed:
        our_spec, hub_spec = json.loads(json.dumps(our_spec)), json.loads(json.dumps(hub_spec))
        for path, (ours_expected, hub_expected) in allowed.items():
            ours_at, hub_at = our_spec, hub_spec
            for key in path[:-1]:
                ours_at, hub_at = ours_at[key], hub_at[key]
            check(
                ours_at[path[-1]] == ours_expected and hub_at[path[-1]] == hub_expected,
                f"{name}: {path} is {ours_at[path[-1]]} (KerasHub {hub_at[path[-1]]})",
            )
            hub_at[path[-1]] = ours_at[path[-1]]
    check(our_spec == hub_spec, f"{name}: element spec {our_spec} != KerasHub's {hub_spec}")
    check(our_values == hub_values, f"{name}: values {our_values} != KerasHub's {hub_values}")


def families():
    """``{family name: (textbones tokenizer factory, KerasHub tokenizer factory)}``."""
    vocabulary = RESERVED + sorted(set(WORDS)) + ["##s", "##ing", "a", "paris", "london", "."]
    proto = tiny_proto("albert")
    factories = {}
    for family in registry.families():
        if issubclass(family.tokenizer, WordPieceTokenizer):
            arguments = dict(vocabulary=vocabulary, lowercase=True)
        else:
            arguments = dict(proto=proto)
        factories[family.name] = (
            lambda cls=family.tokenizer, arguments=arguments, **kw: cls(**arguments, **kw),
            lambda name=family.tokenizer.__name__, arguments=arguments, **kw: getattr(
                keras_hub.models, name
            )(**arguments, **kw),
        )
    return factories


def tokenizer_cases(family, ours, theirs, summary):
    strings = tf.data.Dataset.from_tensor_slices(TEXTS)
    batched = strings.batch(4)
    eager = as_python(ours()(TEXTS))
    for label, dataset in (("batched", batched), ("unbatched", strings)):
        mine = mapped(dataset, ours())
        same_as_keras_hub(f"{family} tokenizer {label}", mine, mapped(dataset, theirs()))
        flat = [row for batch in mine[1] for row in batch] if label == "batched" else mine[1]
        check(flat == eager, f"{family} tokenizer {label}: tf.data {flat} != eager {eager}")
        padded = mapped(dataset, ours(sequence_length=LENGTH))
        hub_padded = mapped(dataset, theirs(sequence_length=LENGTH))
        same_as_keras_hub(f"{family} padded tokenizer {label}", padded, hub_padded)
    kind, _, shape = mapped(batched, ours())[0]
    summary["tokenizer_batched_spec"] = [kind, shape]

    # detokenize, of ragged rows and of padded ones.
    ids = batched.map(theirs())
    same_as_keras_hub(
        f"{family} detokenize", mapped(ids, ours().detokenize), mapped(ids, theirs().detokenize)
    )
    padded_ids = strings.map(theirs(sequence_length=LENGTH))
    same_as_keras_hub(
        f"{family} detokenize padded unbatched",
        mapped(padded_ids, ours().detokenize),
        mapped(padded_ids, theirs().detokenize),
    )
    detokenized = [text for batch in mapped(ids, ours().detokenize)[1] for text in batch]
    eager_texts = as_python(ours().detokenize(ours()(TEXTS)))
    check(detokenized == eager_texts, f"{family}: detokenize in tf.data differs from eager")

    # Parallel map and tf.function give the same values.
    parallel = mapped(batched, ours(), num_parallel_calls=AUTOTUNE)
    check(parallel == mapped(batched, ours()), f"{family}: parallel map differs")
    tokenizer = ours(sequence_length=LENGTH)
    function = tf.function(lambda texts: tokenizer(texts))
    check(
        as_python(function(tf.constant(TEXTS))) == as_python(tokenizer(TEXTS)),
        f"{family}: tf.function differs",
    )
    ragged_function = tf.function(lambda texts: ours()(texts))
    traced = ragged_function(tf.constant(TEXTS))
    check(
        isinstance(traced, tf.RaggedTensor) and traced.to_list() == eager,
        f"{family}: tf.function ragged",
    )

    # Eager tf.Tensor inputs, a scalar string included.
    scalar = ours()(tf.constant(TEXTS[0]))
    check(
        isinstance(scalar, tf.Tensor) and scalar.shape.rank == 1,
        f"{family}: eager scalar gives {scalar!r}",
    )
    check(
        as_python(scalar) == as_python(theirs()(tf.constant(TEXTS[0]))),
        f"{family}: eager scalar values",
    )
    texts = tf.constant(TEXTS)
    vector = ours()(texts)
    check(
        isinstance(vector, list) and vector == as_python(theirs()(texts)),
        f"{family}: eager {vector!r}",
    )
    dense = ours(sequence_length=LENGTH)(texts)
    check(
        isinstance(dense, tf.Tensor) and dense.shape == (len(TEXTS), LENGTH), f"{family}: {dense!r}"
    )
    hub_dense = theirs(sequence_length=LENGTH)(texts)
    check(as_python(dense) == as_python(hub_dense), f"{family}: eager padded values")
    row = tf.constant(as_python(scalar))
    text = ours().detokenize(row)
    hub_text = as_python(theirs().detokenize(row))
    check(isinstance(text, str) and text == hub_text, f"{family}: eager detokenize {text!r}")
    rows = tf.ragged.constant(eager)
    detokenized = ours().detokenize(rows)
    hub_detokenized = as_python(theirs().detokenize(rows))
    check(detokenized == hub_detokenized, f"{family}: eager ragged detokenize {detokenized!r}")


def packer_cases(family, ours, theirs, summary):
    tokenizer = ours()
    start, end, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    our_packer = textbones.layers.MultiSegmentPacker(
        LENGTH, start_value=start, end_value=end, pad_value=pad
    )
    hub_packer = keras_hub.layers.MultiSegmentPacker(
        LENGTH, start_value=start, end_value=end, pad_value=pad
    )
    strings = tf.data.Dataset.from_tensor_slices(TEXTS)
    for label, dataset in (("batched", strings.batch(4)), ("unbatched", strings)):
        ids = dataset.map(theirs())
        same_as_keras_hub(
            f"{family} packer {label}", mapped(ids, our_packer), mapped(ids, hub_packer)
        )
        same_as_keras_hub(
            f"{family} packer pairs {label}",
            mapped(ids, lambda x: our_packer((x, x[::-1] if label == "unbatched" else x))),
            mapped(ids, lambda x: hub_packer((x, x[::-1] if label == "unbatched" else x))),
        )
    eager = our_packer((tf.ragged.constant([[5, 6, 7], [8]]), tf.ragged.constant([[9], [10, 11]])))
    check(
        all(isinstance(part, tf.Tensor) for part in eager),
        f"{family}: eager packer gives {eager!r}",
    )
    expected = hub_packer(
        (tf.ragged.constant([[5, 6, 7], [8]]), tf.ragged.constant([[9], [10, 11]]))
    )
    check(as_python(eager) == as_python(expected), f"{family}: eager packer values")


def unmasked_match(masked, original, weights_or_positions):
    """Every position that was not selected keeps its input id."""
    masked, original = np.asarray(masked), np.asarray(original)
    positions, weights = weights_or_positions
    positions, weights = np.asarray(positions), np.asarray(weights)
    if masked.ndim == 1:
        masked, original, positions, weights = (
            masked[None],
            original[None],
            positions[None],
            weights[None],
        )
    selected = np.zeros(masked.shape, bool)
    for row in range(len(masked)):
        selected[row, positions[row][weights[row] > 0]] = True
    return bool(np.all(masked[~selected] == original[~selected]))


def masking_cases(family, ours, theirs, summary):
    tokenizer = ours(sequence_length=LENGTH)
    settings = dict(
        vocabulary_size=tokenizer.vocabulary_size(),
        mask_selection_rate=0.5,
        mask_token_id=tokenizer.mask_token_id,
        mask_selection_length=4,
        unselectable_token_ids=[
            tokenizer.cls_token_id,
            tokenizer.sep_token_id,
            tokenizer.pad_token_id,
        ],
    )
    strings = tf.data.Dataset.from_tensor_slices(TEXTS)
    for label, dataset in (("batched", strings.batch(3)), ("unbatched", strings)):
        ids = dataset.map(theirs(sequence_length=LENGTH))
        ours_mapped = mapped(ids, textbones.layers.MaskedLMMaskGenerator(**settings, seed=7))
        hub_mapped = mapped(ids, keras_hub.layers.MaskedLMMaskGenerator(**settings))
        # KerasHub's graph path gives int64 mask positions (its eager path int32); ours stay int32.
        dtypes = ours_mapped[0]["mask_positions"][1], hub_mapped[0]["mask_positions"][1]
        check(dtypes == ("int32", "int64"), f"mask positions dtypes {dtypes}")
        hub_spec = dict(hub_mapped[0], mask_positions=ours_mapped[0]["mask_positions"])
        check(
            ours_mapped[0] == hub_spec,
            f"{family} mask generator {label}: {ours_mapped[0]} != {hub_spec}",
        )
        inputs = [as_python(element) for element in ids]
        eager_masker = textbones.layers.MaskedLMMaskGenerator(**settings, seed=7)
        selections = sum(np.sum(element["mask_weights"]) for element in ours_mapped[1])
        check(selections > 0, f"{family} mask generator {label}: nothing was selected")
        for element, row in zip(ours_mapped[1], inputs):
            expected = as_python(eager_masker(np.asarray(row)))
            check(
                element == expected,
                f"{family} mask generator {label}: not the eager masks of the seed",
            )
            check(
                unmasked_match(
                    element["token_ids"], row, (element["mask_positions"], element["mask_weights"])
                ),
                f"{family} mask generator {label}: an unselected position changed",
            )
    eager = textbones.layers.MaskedLMMaskGenerator(**settings, seed=1)(
        tf.constant(tokenizer(TEXTS))
    )
    check(
        all(isinstance(value, tf.Tensor) for value in eager.values()), f"{family}: eager {eager!r}"
    )
    summary["mask_generator_spec"] = ours_mapped[0]


def preprocessor_cases(family, ours, theirs, summary):
    preprocessors = registry.family(family).preprocessors
    name = preprocessors["classifier"].__name__
    our_classifier = getattr(textbones.models, name)(ours(), sequence_length=LENGTH)
    hub_classifier = getattr(keras_hub.models, name)(theirs(), sequence_length=LENGTH)
    labels = np.arange(len(TEXTS), dtype="int32") % 2
    weights = np.linspace(0.5, 1.0, len(TEXTS)).astype("float32")
    datasets = {
        "x": tf.data.Dataset.from_tensor_slices(TEXTS),
        "x_y": tf.data.Dataset.from_tensor_slices((TEXTS, labels)),
        "x_y_w": tf.data.Dataset.from_tensor_slices((TEXTS, labels, weights)),
        "pairs_y": tf.data.Dataset.from_tensor_slices(((TEXTS, TEXTS[::-1]), labels)),
    }
    if family != FIRST:  # the same NumPy path for every family: pairs and weights once
        datasets = {name: datasets[name] for name in ("x", "x_y")}
    for name, dataset in datasets.items():
        for label, data in (("batched", dataset.batch(4)), ("unbatched", dataset)):
            mine, hub = mapped(data, our_classifier), mapped(data, hub_classifier)
            same_as_keras_hub(f"{family} classifier {name} {label}", mine, hub)
    parallel = mapped(datasets["x_y"].batch(4), our_classifier, num_parallel_calls=AUTOTUNE)
    serial = mapped(datasets["x_y"].batch(4), our_classifier)
    check(parallel == serial, f"{family}: parallel classifier map differs")
    eager = as_python(our_classifier(TEXTS, labels))
    check(
        [parallel[1][0][0]["token_ids"] + parallel[1][1][0]["token_ids"]]
        == [eager[0]["token_ids"]],
        f"{family}: classifier tf.data differs from eager",
    )
    function = tf.function(lambda x, y: our_classifier(x, y))
    traced = as_python(function(tf.constant(TEXTS), tf.constant(labels)))
    check(traced == eager, f"{family}: classifier tf.function differs")
    scalar = our_classifier(tf.constant(TEXTS[0]))
    shapes_ok = all(isinstance(v, tf.Tensor) and v.shape == (LENGTH,) for v in scalar.values())
    check(shapes_ok, f"{family}: eager scalar {scalar!r}")
    hub_scalar = as_python(hub_classifier(tf.constant(TEXTS[0])))
    check(as_python(scalar) == hub_scalar, f"{family}: eager scalar classifier values")
    summary["classifier_spec"] = mapped(datasets["x_y"].batch(4), our_classifier)[0]

    # Masked LM preprocessors: KerasHub's structure and static shapes; our own masks.
    settings = dict(sequence_length=LENGTH, mask_selection_rate=0.4, mask_selection_length=5)
    keras.utils.set_random_seed(3)
    masked_lm_name = preprocessors["masked_lm"].__name__
    our_masked_lm = getattr(textbones.models, masked_lm_name)(ours(), **settings)
    keras.utils.set_random_seed(3)
    eager_masked_lm = getattr(textbones.models, masked_lm_name)(ours(), **settings)
    hub_masked_lm = getattr(keras_hub.models, masked_lm_name)(theirs(), **settings)
    for label, data in (("batched", datasets["x"].batch(4)), ("unbatched", datasets["x"])):
        ours_mapped, hub_mapped = mapped(data, our_masked_lm), mapped(data, hub_masked_lm)
        hub_spec = json.loads(json.dumps(hub_mapped[0]))
        check(
            hub_spec[0]["mask_positions"][1] == "int64",
            "KerasHub's traced mask positions are int64",
        )
        hub_spec[0]["mask_positions"][1] = "int32"
        check(
            ours_mapped[0] == hub_spec,
            f"{family} masked LM {label}: {ours_mapped[0]} != {hub_spec}",
        )
        unmasked_keys = [
            key for key in ours_mapped[0][0] if key not in ("token_ids", "mask_positions")
        ]
        for (x, _, _), hub in zip(ours_mapped[1], hub_mapped[1]):
            check(
                {key: x[key] for key in unmasked_keys}
                == {key: hub[0][key] for key in unmasked_keys},
                f"{family} masked LM {label}: segment ids / padding mask differ from KerasHub's",
            )
        texts = [TEXTS[i : i + 4] for i in range(0, len(TEXTS), 4)] if label == "batched" else TEXTS
        for (x, y, w), batch in zip(ours_mapped[1], texts):
            expected = as_python(eager_masked_lm(batch))
            check(
                [x, y, w] == expected,
                f"{family} masked LM {label}: not the eager masks of the seed",
            )
            original = as_python(our_classifier(batch))["token_ids"]
            check(
                unmasked_match(x["token_ids"], original, (x["mask_positions"], w)),
                f"{family} masked LM {label}: an unselected position changed",
            )
    summary["masked_lm_spec"] = ours_mapped[0]


def fit_cases(summary):
    rng = np.random.default_rng(0)
    fruit, music = "apple pear plum grape lemon".split(), "piano violin flute drum guitar".split()
    texts, labels = [], []
    for _ in range(32):
        label = int(rng.integers(2))
        texts.append(" ".join(rng.choice(music if label else fruit, size=int(rng.integers(2, 6)))))
        labels.append(label)
    tokenizer = textbones.models.BertTokenizer(vocabulary=RESERVED + sorted(fruit + music))
    preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=8)
    keras.utils.set_random_seed(0)
    backbone = textbones.models.BertBackbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        dropout=0.0,
        max_sequence_length=8,
    )
    classifier = textbones.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-2))
    train = (
        tf.data.Dataset.from_tensor_slices((texts, np.array(labels, "int32")))
        .batch(4)
        .map(preprocessor, num_parallel_calls=AUTOTUNE)
        .cache()
        .prefetch(AUTOTUNE)
    )
    losses = classifier.fit(train, epochs=3, verbose=0).history["loss"]
    check(
        np.isfinite(losses).all() and losses[-1] < losses[0],
        f"classifier on ds.map: losses {losses}",
    )
    summary["classifier_fit_losses"] = losses
    # A batch taken from a tf.data.Dataset (eager tensors, pairs too) predicts as lists do.
    classifier.preprocessor = preprocessor
    firsts, seconds = next(iter(tf.data.Dataset.from_tensor_slices((texts, texts[::-1])).batch(4)))
    from_tensors = classifier.predict((firsts, seconds), verbose=0)
    from_lists = classifier.predict((texts[:4], texts[::-1][:4]), verbose=0)
    check(np.array_equal(from_tensors, from_lists), "predict on eager tf.Tensor pairs differs")
    check(
        np.array_equal(
            classifier.predict(firsts, verbose=0), classifier.predict(texts[:4], verbose=0)
        ),
        "predict on an eager tf.Tensor of strings differs",
    )
    classifier.preprocessor = None

    masked_lm_preprocessor = textbones.models.BertMaskedLMPreprocessor(
        tokenizer, sequence_length=8, mask_selection_rate=0.3, mask_selection_length=3
    )
    masked_lm = textbones.models.BertMaskedLM(backbone, preprocessor=None)
    masked_lm.compile(optimizer=keras.optimizers.Adam(3e-3))
    raw = tf.data.Dataset.from_tensor_slices(texts).batch(4)
    raw = raw.map(masked_lm_preprocessor, num_parallel_calls=AUTOTUNE)
    mlm_losses = masked_lm.fit(raw, epochs=2, verbose=0).history["loss"]
    check(np.isfinite(mlm_losses).all(), f"masked LM on ds.map(preprocessor): losses {mlm_losses}")
    summary["masked_lm_fit_losses"] = mlm_losses


# What runs where: every family's tokenizer and preprocessors; the packer and the mask
# generator (the same NumPy code for every family) on the first family's (BERT's) ids; on
# JAX, what depends on the backend (eager outputs, and `fit` on a mapped dataset).
PLAN = {
    "tensorflow": {
        family.name: (tokenizer_cases, preprocessor_cases)
        if family.name != FIRST
        else (tokenizer_cases, packer_cases, masking_cases, preprocessor_cases)
        for family in registry.families()
    },
    "jax": {FIRST: (tokenizer_cases,)},
}


def main() -> dict:
    summary = {"backend": BACKEND, "families": {}, "seconds": {}, "first_family": FIRST}
    plan = PLAN.get(BACKEND, PLAN["jax"])
    for family, (ours, theirs) in families().items():
        entry = summary["families"][family] = {}
        for cases in plan.get(family, ()):
            started = time.perf_counter()
            cases(family, ours, theirs, entry)
            summary["seconds"][f"{family} {cases.__name__}"] = round(
                time.perf_counter() - started, 1
            )
    started = time.perf_counter()
    fit_cases(summary)
    summary["seconds"]["fit_cases"] = round(time.perf_counter() - started, 1)
    summary["checks"] = CHECKS["count"]
    return summary


if __name__ == "__main__":
    print(json.dumps(main(), default=float))
