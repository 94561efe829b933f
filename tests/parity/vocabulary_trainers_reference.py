"""Vocabulary trainers and safe mode: the reference-environment side of
``test_vocabulary_trainers_parity.py``.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``), where TensorFlow
and KerasHub 0.32 are installed; ``tests/parity/conftest.py`` keeps it out of the main
suite's collection. It asserts, here, that

* ``compute_word_piece_vocabulary`` gives KerasHub's list, token for token, on
  ``tf.data.Dataset``s of strings (unbatched, batched, ragged words with ``split=False``,
  batched ragged) and on file lists, for every option of KerasHub's signature
  (``lowercase``, ``strip_accents``, ``split``, ``split_on_cjk``, ``suffix_indicator``,
  ``reserved_tokens`` with repeats, sizes below the reserved tokens) and writes the same
  ``vocabulary_output_file`` (except after a NUL character, which KerasHub's TensorFlow
  splitter treats as the end of the text);
* ``compute_sentence_piece_proto`` trains, on the same ``tf.data.Dataset`` and settings,
  a model with KerasHub's pieces that tokenizes held-out text to KerasHub's ids (for each
  ``model_type`` and ``lowercase``), and takes a batched dataset too (KerasHub cannot);
* both trainers refuse a dict, a dataset of numbers (and WordPiece files with
  ``split=False``) with KerasHub's exception types, and a SentencePiece setting the
  trainer rejects is a ``RuntimeError`` as in KerasHub;
* under Keras' safe mode, ``deserialize_keras_object`` of a tokenizer config naming a
  vocabulary or proto file outside the archive, and ``keras.models.load_model`` of a
  ``.keras`` archive whose config was edited to name one, are refused by both libraries
  with a ``ValueError``, while the unedited archive and ``safe_mode=False`` load.

textbones' safe-mode cases run before ``keras_hub`` is imported: KerasHub then takes the
``keras_hub>`` names textbones registers (issue 12, point 5, handled elsewhere).

The last line of stdout is a JSON summary that the pytest side checks again.
"""

import base64
import json
import os
import pathlib
import sys
import tempfile
import zipfile

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # this checkout's textbones, whatever is installed

import numpy as np  # noqa: E402
import sentencepiece  # noqa: E402
from reference_shared import stderr_silenced  # noqa: E402

with stderr_silenced():
    import keras
    import tensorflow as tf

import textbones  # noqa: E402
from tests.helpers.sentence_piece import tiny_proto  # noqa: E402

assert pathlib.Path(textbones.__file__).resolve().is_relative_to(REPO), textbones.__file__
SUMMARY: dict = {}
WORK = pathlib.Path(tempfile.mkdtemp())
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "fox"]
PROTO_SIZE = textbones.models.AlbertTokenizer(proto=tiny_proto("albert")).vocabulary_size()


def error_of(call) -> tuple[str, str]:
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error).__name__, str(error)
    return "none", ""


def outside_vocabulary() -> str:
    path = WORK / "outside" / "vocab.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(token + "\n" for token in VOCABULARY), encoding="utf-8")
    return str(path)


def edited_archive(archive: pathlib.Path, vocabulary: str) -> pathlib.Path:
    """``archive`` with its tokenizer config naming ``vocabulary``."""
    edited = archive.with_name("edited_" + archive.name)
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(edited, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                tokenizer = config["config"]["preprocessor"]["config"]["tokenizer"]
                tokenizer["config"]["vocabulary"] = vocabulary
                data = json.dumps(config).encode("utf-8")
            target.writestr(item, data)
    return edited


def tokenizer_config(class_name: str, **arguments) -> dict:
    return {
        "module": "keras_hub.src.models",
        "class_name": class_name,
        "registered_name": f"keras_hub>{class_name}",
        "config": arguments,
    }


def safe_mode_cases(library, prefix: str) -> dict:
    """The safe-mode cases for one library (``textbones`` or ``keras_hub``)."""
    models = library.models
    path = outside_vocabulary()
    proto_path = WORK / "outside" / f"{prefix}.spm"
    proto_path.write_bytes(tiny_proto("albert"))
    results = {}
    config = tokenizer_config("BertTokenizer", vocabulary=path)
    results["vocabulary_refused"] = error_of(lambda: keras.saving.deserialize_keras_object(config))
    unsafe = keras.saving.deserialize_keras_object(config, safe_mode=False)
    assert type(unsafe).__module__.startswith(prefix), type(unsafe)
    results["vocabulary_unsafe_size"] = unsafe.vocabulary_size()
    listed = tokenizer_config("BertTokenizer", vocabulary=VOCABULARY)
    listed = keras.saving.deserialize_keras_object(listed)
    results["in_memory_size"] = listed.vocabulary_size()
    proto_config = tokenizer_config("AlbertTokenizer", proto=str(proto_path))
    results["proto_refused"] = error_of(lambda: keras.saving.deserialize_keras_object(proto_config))
    encoded = base64.b64encode(proto_path.read_bytes()).decode()
    inline = tokenizer_config("AlbertTokenizer", proto=encoded)
    results["inline_proto_size"] = keras.saving.deserialize_keras_object(inline).vocabulary_size()

    tokenizer = models.BertTokenizer(vocabulary=VOCABULARY)
    preprocessor = models.BertTextClassifierPreprocessor(tokenizer, sequence_length=8)
    backbone = models.BertBackbone(
        vocabulary_size=len(VOCABULARY),
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=8,
    )
    classifier = models.BertTextClassifier(backbone, num_classes=2, preprocessor=preprocessor)
    archive = WORK / f"{prefix}_classifier.keras"
    classifier.save(archive)
    restored = keras.models.load_model(archive)
    assert type(restored).__module__.startswith(prefix), type(restored)
    results["archive_vocabulary"] = restored.preprocessor.tokenizer.get_vocabulary() == VOCABULARY
    edited = edited_archive(archive, path)
    results["archive_refused"] = error_of(lambda: keras.models.load_model(edited))
    unsafe = keras.models.load_model(edited, safe_mode=False)
    results["archive_unsafe"] = unsafe.preprocessor.tokenizer.vocabulary_size()
    return results


def assert_safe_mode(results: dict, name: str) -> None:
    for case in ("vocabulary_refused", "proto_refused", "archive_refused"):
        kind, message = results[case]
        if name == "textbones":
            assert kind == "ValueError" and "safe mode" in message, (name, case, kind, message)
        else:
            # KerasHub's check raises a ValueError; Keras wraps what a Layer's from_config
            # raises into a TypeError, whose message carries the ValueError's.
            assert kind in ("ValueError", "TypeError"), (name, case, kind, message)
            assert "file outside of the model archive" in message, (name, case, message)
        results[case] = kind
    assert results["vocabulary_unsafe_size"] == len(VOCABULARY), results
    assert results["in_memory_size"] == len(VOCABULARY), results
    assert results["inline_proto_size"] == PROTO_SIZE, results
    assert results["archive_vocabulary"] is True, results
    assert results["archive_unsafe"] == len(VOCABULARY), results


# -- textbones' safe mode, before keras_hub claims the keras_hub> names ---------------------
SUMMARY["safe_mode_textbones"] = safe_mode_cases(textbones, "textbones")
assert_safe_mode(SUMMARY["safe_mode_textbones"], "textbones")

with stderr_silenced():
    import keras_hub

SUMMARY["safe_mode_keras_hub"] = safe_mode_cases(keras_hub, "keras_hub")
assert_safe_mode(SUMMARY["safe_mode_keras_hub"], "keras_hub")

# -- WordPiece ---------------------------------------------------------------------------
ours_wp = textbones.tokenizers.compute_word_piece_vocabulary
theirs_wp = keras_hub.tokenizers.compute_word_piece_vocabulary


def varied_corpus() -> list[str]:
    """Sentences with case, accents, punctuation, CJK, emoji, a no-break space and a tab."""
    rng = np.random.default_rng(12)
    words = (
        "The quick brown fox jumps over lazy dogs; Café naïve résumé Straße ÉCOLE "
        "running runner runs ran unbelievable believe believer 東京 大阪 😀 can't "
        "x\u00a0y tab\tbed e.g. U.S.A. 3.14 foo-bar (parens) [MASK] [UNK]"
    ).split(" ")
    return [" ".join(rng.choice(words, size=int(rng.integers(3, 12)))) for _ in range(160)]


CORPUS = varied_corpus()
wp_cases = []


def compare_wp(name: str, ours_data, theirs_data, size: int, **options) -> None:
    ours, theirs = ours_wp(ours_data, size, **options), theirs_wp(theirs_data, size, **options)
    assert ours == theirs, (name, options, ours, theirs)
    wp_cases.append({"case": name, "size": size, "options": sorted(options), "tokens": len(ours)})


dataset = tf.data.Dataset.from_tensor_slices(CORPUS)
for size in (3, 8, 60, 400):
    compare_wp(f"dataset/{size}", dataset, dataset, size)
for options in (
    dict(lowercase=True),
    dict(strip_accents=True),
    dict(lowercase=True, strip_accents=True),
    dict(split_on_cjk=False),
    dict(suffix_indicator="@@"),
    dict(reserved_tokens=[]),
    dict(reserved_tokens=["[UNK]", "<s>", "[UNK]", "the"]),
):
    compare_wp(f"dataset/{options!r}", dataset, dataset, 90, **options)
compare_wp("list_vs_dataset", CORPUS, dataset, 90, lowercase=True)
compare_wp("batched", dataset.batch(7), dataset.batch(7), 90)
compare_wp("batched_vs_unbatched", dataset.batch(7), dataset, 90)
words = dataset.map(tf.strings.split)
compare_wp("ragged_words", words, words, 90, split=False)
compare_wp("batched_ragged", dataset.batch(5).map(tf.strings.split), words, 90, split=False)


def as_dataset(texts: list[str]) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(texts)


threshold = ["the cat sat on the mat"] * 12 + ["bat"]
compare_wp("threshold", threshold, as_dataset(threshold), 30, reserved_tokens=["[UNK]"])
compare_wp("keras_hub_docstring", ["bat sat pat mat rat"], as_dataset(["bat sat pat mat rat"]), 13)
long_line = ["This is a long line that isn't split up, and it exceeds maximum length."]
compare_wp("too_long", long_line, as_dataset(long_line), 20, split=False, reserved_tokens=[])
# One known difference: TensorFlow Text's regex_split stops at a NUL character, so KerasHub
# never counts what follows one in a text; textbones counts it (as its tokenizer reads it).
nul = ["ab\x00cd ef"] * 12
ours_nul = ours_wp(nul, 30, reserved_tokens=[])
theirs_nul = theirs_wp(as_dataset(nul), 30, reserved_tokens=[])
assert "ab" in ours_nul and "ab" in theirs_nul and "ef" in ours_nul and "ef" not in theirs_nul
SUMMARY["nul_difference"] = {"textbones": ours_nul, "keras_hub": theirs_nul}
files = []
for index in range(3):
    files.append(str(WORK / f"corpus_{index}.txt"))
    pathlib.Path(files[-1]).write_text("\n".join(CORPUS[index::3]) + "\n", encoding="utf-8")
compare_wp("files", files, files, 120, lowercase=True)
ours_file, theirs_file = WORK / "ours_vocab.txt", WORK / "theirs_vocab.txt"
returned = ours_wp(dataset, 60, vocabulary_output_file=ours_file)
assert theirs_wp(dataset, 60, vocabulary_output_file=theirs_file) is None  # KerasHub: nothing
assert ours_file.read_bytes() == theirs_file.read_bytes()
assert returned == ours_file.read_text().splitlines()
SUMMARY["word_piece_cases"] = wp_cases


def compare_errors(name: str, call, ours_trainer, theirs_trainer) -> None:
    """``call(trainer)`` with both libraries' trainer: the same exception type."""
    ours = error_of(lambda: call(ours_trainer))
    theirs = error_of(lambda: call(theirs_trainer))
    assert ours[0] == theirs[0] != "none", (name, ours, theirs)
    SUMMARY.setdefault("errors", {})[name] = {"type": ours[0], "textbones": ours[1]}


numbers = tf.data.Dataset.from_tensor_slices([1, 2, 3])
floats = tf.data.Dataset.from_tensor_slices([1.5])
for name, call in (
    ("dict", lambda train: train({"text": ["bat"]}, 10)),
    ("files_unsplit", lambda train: train(files, 10, split=False)),
    ("numbers", lambda train: train(numbers, 10)),
    ("floats", lambda train: train(floats, 10)),
):
    compare_errors(f"word_piece/{name}", call, ours_wp, theirs_wp)
labelled = tf.data.Dataset.from_tensor_slices({"text": ["bat"]})
SUMMARY["errors"]["word_piece/dataset_of_dicts"] = {
    "textbones": list(error_of(lambda: ours_wp(labelled, 10))),
    "keras_hub": error_of(lambda: theirs_wp(labelled, 10))[0],
}

# -- SentencePiece ------------------------------------------------------------------------
ours_sp = textbones.tokenizers.compute_sentence_piece_proto
theirs_sp = keras_hub.tokenizers.compute_sentence_piece_proto
SP_WORDS = (
    "the quick brown fox jumps over lazy dog cat sat on mat running runner runs ran "
    "believe believer unbelievable river city music family season game team village"
).split()
SP_RNG = np.random.default_rng(3)
SP_CORPUS = [
    " ".join(SP_RNG.choice(SP_WORDS, size=int(SP_RNG.integers(3, 10)))) for _ in range(300)
]
sp_dataset = tf.data.Dataset.from_tensor_slices(SP_CORPUS)
HELD_OUT = ["The quick brown fox.", "Unseen words: zebra quokka!", "numbers 123 and CAPS"]
sp_cases = []


def pieces_and_ids(proto: bytes):
    model = sentencepiece.SentencePieceProcessor(model_proto=proto)
    pieces = [model.id_to_piece(i) for i in range(model.get_piece_size())]
    return pieces, [model.encode(text) for text in HELD_OUT]


with stderr_silenced():
    for model_type, size, lowercase in (
        ("unigram", 50, False),
        ("unigram", 50, True),
        ("bpe", 70, False),
        ("word", 30, False),
        ("char", 28, False),
    ):
        ours = ours_sp(sp_dataset, size, model_type=model_type, lowercase=lowercase)
        theirs = theirs_sp(sp_dataset, size, model_type=model_type, lowercase=lowercase)
        assert pieces_and_ids(ours) == pieces_and_ids(theirs), (model_type, lowercase)
        case = {"model_type": model_type, "size": size, "lowercase": lowercase}
        sp_cases.append({**case, "same_bytes": ours == theirs})
    batched = ours_sp(sp_dataset.batch(9), 50)
    assert pieces_and_ids(batched) == pieces_and_ids(theirs_sp(sp_dataset, 50))
    sp_files = []
    for index in range(2):
        sp_files.append(str(WORK / f"sp_{index}.txt"))
        text = "\n".join(SP_CORPUS[index::2]) + "\n"
        pathlib.Path(sp_files[-1]).write_text(text, encoding="utf-8")
    assert pieces_and_ids(ours_sp(sp_files, 50)) == pieces_and_ids(theirs_sp(sp_files, 50))
    output = WORK / "ours.spm"
    assert ours_sp(sp_dataset, 50, proto_output_file=output) == output.read_bytes()
    assert theirs_sp(sp_dataset, 50, proto_output_file=WORK / "theirs.spm") is None
    assert pieces_and_ids(output.read_bytes()) == pieces_and_ids((WORK / "theirs.spm").read_bytes())
    for name, call in (
        ("dict", lambda train: train({"a": "b"}, 10)),
        ("numbers", lambda train: train(numbers, 10)),
        ("model_type", lambda train: train(sp_dataset, 10, model_type="x")),
    ):
        compare_errors(f"sentence_piece/{name}", call, ours_sp, theirs_sp)
    # KerasHub lets sentencepiece's RuntimeError through; textbones' error is one too.
    assert error_of(lambda: theirs_sp(sp_dataset, 3))[0] == "RuntimeError"
    try:
        ours_sp(sp_dataset, 3)
    except RuntimeError as error:
        assert isinstance(error, ValueError), type(error).__mro__
        refused = {"type": type(error).__name__, "textbones": str(error)}
        SUMMARY["errors"]["sentence_piece/too_small"] = refused
SUMMARY["sentence_piece_cases"] = sp_cases
package = pathlib.Path(textbones.__file__).resolve().parent
SUMMARY["textbones_module"] = str(package.relative_to(REPO))
print(json.dumps(SUMMARY))
