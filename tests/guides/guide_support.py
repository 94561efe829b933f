"""What the keras.io guide scripts share: the step runner, synthetic data, tiny presets, fake hubs.

The guide scripts (``*_guide.py`` next to this file) run in the reference interpreter
(``.venv-ref``: TensorFlow, KerasHub, textbones) as plain scripts, so this module is imported
as ``guide_support`` from their folder. ``tests/guides/conftest.py`` keeps every module here
but the pytest ones out of the main suite's collection (they import TensorFlow).

Each guide is a module whose ``step_*`` functions, in the order they are defined, are the
guide's code blocks, written against ``s.keras_nlp`` — ``textbones`` or ``keras_hub``,
imported as the guides import ``keras_nlp``. A step keeps what later steps use on the shared
:class:`State`. :func:`run_guide` runs every step, records ``passed`` / ``failed`` (with the
exception) / ``blocked`` (an earlier step that failed did not make something this one uses),
and never stops at a failure, so one run shows every gap of a guide.

Downloads are replaced by synthetic data of the same structure (an ``aclImdb`` folder of text
files, SST-2 ``.tsv`` files, WikiText ``.raw`` lines, SNLI-like dictionaries, IMDB batches of
four), and built-in preset names by tiny presets that :func:`build_presets` writes with the
library under test (KerasHub writes KerasHub's presets in the KerasHub run).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import pathlib
import re
import shutil
import sys
import tempfile
import time
import traceback
import types

import numpy as np

LIBRARIES = ("textbones", "keras_hub")
REPOSITORY = pathlib.Path(__file__).resolve().parents[2]

RESERVED_BERT_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# The synthetic corpus: short movie reviews whose sentiment shows in their adjectives. The
# words include capitals, accents, punctuation and IMDB's "<br />" so that lowercasing,
# accent stripping and punctuation splitting all have work to do.
POSITIVE = "great wonderful brilliant moving superb delightful charming excellent".split()
NEGATIVE = "awful boring dull terrible weak painful clumsy tedious".split()
NOUNS = "film movie story acting plot cast ending music script director".split()
OPENERS = ["The", "This", "Honestly, the", "Overall the", "I thought the"]
EXTRAS = [
    "I watched it twice.",
    "The café scene felt naïve.",
    "My friends agreed!",
    "It runs almost two hours.",
    "<br /><br />",
    "What a surprise, really.",
]
SNLI_SUBJECTS = ["a man", "a woman", "two kids", "a dog", "an old couple", "the band"]
SNLI_ACTIONS = ["plays a guitar", "walks in the park", "eats lunch", "sleeps", "sings loudly"]


# --------------------------------------------------------------------------------------------
# Running the steps of a guide


class MissingState(AttributeError):
    """A step used something that no earlier step made (because that step failed)."""


class State(types.SimpleNamespace):
    """What the steps of one guide share; a missing name raises :class:`MissingState`."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise MissingState(name)


INNER_ERROR = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|MissingState)): (.*)$")


def describe(error: BaseException) -> tuple[str, str]:
    """``(exception name, message)``, one line, at most 300 characters. An error raised
    while ``tf.data`` or AutoGraph traced a function ("in user code: ...") is described by
    the error it wraps, which is the last ``Name: message`` line of its text."""
    name, text = type(error).__name__, str(error)
    if text.lstrip().startswith("in user code:"):
        inner = [INNER_ERROR.match(line) for line in text.splitlines()]
        inner = [match for match in inner if match]
        if inner:
            name, text = inner[-1].group(1).rsplit(".", 1)[-1], inner[-1].group(2)
            # TensorFlow's own messages go on with generic advice after their first sentence.
            text = text.split(". ", 1)[0]
    text = " ".join(text.split())
    return name, text if len(text) <= 300 else text[:297] + "..."


def first_line(error: BaseException) -> str:
    name, text = describe(error)
    return f"{name}: {text}" if text else name


def guide_steps(module) -> list:
    """The ``step_*`` functions of ``module`` in the order they are written."""
    steps = [
        value
        for name, value in vars(module).items()
        if name.startswith("step_") and callable(value)
    ]
    return sorted(steps, key=lambda function: function.__code__.co_firstlineno)


def makers(steps: list, name: str) -> list[str]:
    """The steps whose code assigns ``s.<name>``."""
    assignment = re.compile(rf"\bs\.{re.escape(name)}\s*=(?!=)")
    return [step.__name__ for step in steps if assignment.search(inspect.getsource(step))]


def run_guide(module, state: State) -> list[dict]:
    """Run every step of ``module``; one record per step, in order."""
    records = []
    failed = []
    steps = guide_steps(module)
    for step in steps:
        # The title is the docstring's first paragraph, its lines joined (long ones are wrapped).
        summary = (step.__doc__ or "").strip().split("\n\n")[0]
        title = " ".join(line.strip() for line in summary.splitlines())
        record = {"name": step.__name__, "title": title or step.__name__}
        started = time.perf_counter()
        try:
            # Progress bars and summaries go to stderr: the last stdout line is the summary.
            with contextlib.redirect_stdout(sys.stderr):
                step(state)
        except BaseException as error:  # Every failure is recorded; Ctrl-C still stops.
            if isinstance(error, KeyboardInterrupt):
                raise
            inner_name, inner_text = describe(error)
            if isinstance(error, MissingState) or inner_name == "MissingState":
                name = error.args[0] if isinstance(error, MissingState) else inner_text
                culprits = [maker for maker in makers(steps, name) if maker in failed]
                record["status"] = "blocked" if culprits else "failed"
                record["error"] = (
                    f"needs `s.{name}`, which {' / '.join(culprits)} (failed) makes"
                    if culprits
                    else f"needs `s.{name}`, which no earlier step makes"
                )
            else:
                record["status"] = "failed"
                record["error"] = first_line(error)
                record["traceback"] = "".join(traceback.format_exception(error)[-6:])[-3000:]
            failed.append(step.__name__)
        else:
            record["status"] = "passed"
        record["seconds"] = round(time.perf_counter() - started, 2)
        print(
            f"[{module.GUIDE}] {record['name']}: {record['status']} {record.get('error', '')}",
            file=sys.stderr,
        )
        records.append(record)
    teardown = getattr(module, "teardown", None)
    if teardown is not None:
        teardown(state)
    return records


def import_library(library: str):
    """``textbones`` or ``keras_hub``, imported the way the guides import ``keras_nlp``."""
    if library not in LIBRARIES:
        raise SystemExit(f"library must be one of {LIBRARIES}, got {library!r}")
    if library == "textbones" and str(REPOSITORY) not in sys.path:
        sys.path.insert(0, str(REPOSITORY))  # This checkout's textbones, not an installed one.
    return importlib.import_module(library)


def new_state(library: str, workdir: pathlib.Path) -> State:
    import keras
    import tensorflow as tf

    keras_nlp = import_library(library)
    return State(library=library, keras_nlp=keras_nlp, keras=keras, tf=tf, workdir=workdir, np=np)


def reset_keras() -> None:
    """What one guide sets globally must not leak into the next (the guides run one per
    Colab session): the dtype policy, the seed and Keras' name counters."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


@contextlib.contextmanager
def inside(directory: pathlib.Path):
    """Run with ``directory`` as the working directory (the guides write relative paths)."""
    previous = os.getcwd()
    directory.mkdir(parents=True, exist_ok=True)
    os.chdir(directory)
    try:
        yield directory
    finally:
        os.chdir(previous)


def run_guides(library: str, modules: list, backend: str) -> dict:
    """Run the given guide modules with ``library``; the summary printed as JSON."""
    summary = {"library": library, "backend": backend, "guides": {}}
    with tempfile.TemporaryDirectory(prefix="keras_io_guides_") as root:
        root = pathlib.Path(root)
        for module in modules:
            reset_keras()
            workdir = root / module.GUIDE
            with inside(workdir):
                state = new_state(library, workdir)
                started = time.perf_counter()
                steps = run_guide(module, state)
            summary["guides"][module.GUIDE] = {
                "title": module.TITLE,
                "source": module.SOURCE,
                "seconds": round(time.perf_counter() - started, 1),
                "steps": steps,
            }
        reset_keras()
    return summary


def main(modules: list, argv: list[str]) -> None:
    """``python <guide script> [textbones|keras_hub]``: run, print the JSON summary last."""
    library = argv[1] if len(argv) > 1 else "textbones"
    backend = os.environ.get("KERAS_BACKEND", "jax")
    summary = run_guides(library, modules, backend)
    print(json.dumps(summary, default=str))


def set_backend_from_environment() -> None:
    """The guides select JAX; a run may choose another backend with KERAS_BACKEND."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# --------------------------------------------------------------------------------------------
# Synthetic data in the downloads' formats


def review(rng: np.random.Generator, label: int) -> str:
    """One to four sentences of a review; label 1 is positive, 0 negative."""
    adjectives = POSITIVE if label else NEGATIVE
    sentences = []
    for _ in range(int(rng.integers(1, 5))):
        sentence = f"{rng.choice(OPENERS)} {rng.choice(NOUNS)} was {rng.choice(adjectives)}"
        if rng.random() < 0.5:
            sentence += f" and {rng.choice(adjectives)}"
        sentences.append(sentence + rng.choice([".", "!", "..."]))
        if rng.random() < 0.3:
            sentences.append(str(rng.choice(EXTRAS)))
    return " ".join(sentences)


def reviews(count: int, seed: int) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(seed)
    labels = [int(label) for label in rng.permutation(np.arange(count) % 2)]
    return [review(rng, label) for label in labels], labels


def corpus_words() -> list[str]:
    """Every lowercased, accent-free word and punctuation mark the synthetic texts use."""
    import unicodedata

    text = " ".join(POSITIVE + NEGATIVE + NOUNS + OPENERS + EXTRAS + SNLI_SUBJECTS + SNLI_ACTIONS)
    text += " was and . ! ... , < > / wikipedia article history city river"
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(character for character in text if unicodedata.category(character) != "Mn")
    words = set()
    for token in text.replace("<", " < ").replace(">", " > ").replace("/", " / ").split():
        stripped = token.strip(".,!?")
        if stripped:
            words.add(stripped)
        words.update(character for character in token if character in ".,!?")
    return sorted(words)


def bert_vocabulary() -> list[str]:
    """A BERT-style uncased vocabulary for the synthetic corpus: the reserved tokens first
    (at BERT's positions 0, 100-103 only by name), then whole words and a few pieces."""
    return RESERVED_BERT_TOKENS + corpus_words() + ["##s", "##ed", "##ing", "##ly"]


def write_imdb_folder(
    root: pathlib.Path, train: int = 32, test: int = 16, unsup: bool = True
) -> pathlib.Path:
    """An ``aclImdb`` folder as the IMDB archive unpacks: ``train|test/pos|neg/*.txt``
    (and ``train/unsup``, which the guides delete)."""
    folder = root / "aclImdb"
    for split, count, seed in (("train", train, 1), ("test", test, 2)):
        texts, labels = reviews(count, seed)
        for index, (text, label) in enumerate(zip(texts, labels)):
            target = folder / split / ("pos" if label else "neg")
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{index}_{7 if label else 2}.txt").write_text(text, encoding="utf-8")
    if unsup:
        (folder / "train" / "unsup").mkdir(parents=True, exist_ok=True)
        (folder / "train" / "unsup" / "0_0.txt").write_text("no label here", encoding="utf-8")
    return folder


def write_sst2_folder(root: pathlib.Path, train: int = 32, dev: int = 16) -> pathlib.Path:
    """``SST-2/train.tsv`` and ``dev.tsv`` with the header ``sentence<TAB>label``."""
    folder = root / "SST-2"
    folder.mkdir(parents=True, exist_ok=True)
    for name, count, seed in (("train.tsv", train, 3), ("dev.tsv", dev, 4)):
        texts, labels = reviews(count, seed)
        rows = ["sentence\tlabel"] + [
            f"{text.lower()}\t{label}" for text, label in zip(texts, labels)
        ]
        (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def write_wikitext_folder(root: pathlib.Path, train: int = 40, valid: int = 16) -> pathlib.Path:
    """``wikitext-103-raw/wiki.train.raw`` and ``wiki.valid.raw``: headings, blank lines and
    long paragraph lines (only lines over 100 characters are kept by the guide)."""
    folder = root / "wikitext-103-raw"
    folder.mkdir(parents=True, exist_ok=True)
    for name, count, seed in (("wiki.train.raw", train, 5), ("wiki.valid.raw", valid, 6)):
        rng = np.random.default_rng(seed)
        lines = []
        for index in range(count):
            if index % 4 == 0:
                lines += ["", f" = {rng.choice(NOUNS).title()} history = ", ""]
            paragraph = " ".join(review(rng, int(rng.integers(2))) for _ in range(3))
            lines.append(" " + paragraph)
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_vocabulary_file(path: pathlib.Path) -> pathlib.Path:
    path.write_text("\n".join(bert_vocabulary()) + "\n", encoding="utf-8")
    return path


def snli_dataset(tf, count: int, seed: int):
    """An SNLI-like ``tf.data.Dataset`` as ``tfds.load("snli", split=...)`` yields it:
    unbatched dictionaries of scalar ``hypothesis`` / ``premise`` strings and an int64
    ``label`` in {0, 1, 2}, with some ``-1`` labels (no annotator agreement)."""
    rng = np.random.default_rng(seed)
    premises, hypotheses, labels = [], [], []
    for index in range(count):
        subject, action = rng.choice(SNLI_SUBJECTS), rng.choice(SNLI_ACTIONS)
        label = -1 if index % 7 == 6 else int(rng.integers(3))
        premises.append(f"{subject.capitalize()} {action} outside.")
        other = action if label == 0 else rng.choice([a for a in SNLI_ACTIONS if a != action])
        hypotheses.append(f"{subject.capitalize()} {other}.")
        labels.append(label)
    return tf.data.Dataset.from_tensor_slices(
        {"hypothesis": hypotheses, "label": np.array(labels, dtype="int64"), "premise": premises}
    )


def imdb_reviews_batches(tf, count: int, seed: int, batch_size: int = 4):
    """``tfds.load("imdb_reviews", as_supervised=True, batch_size=4)``: (text, int64 label)."""
    texts, labels = reviews(count, seed)
    return tf.data.Dataset.from_tensor_slices((texts, np.array(labels, dtype="int64"))).batch(
        batch_size
    )


# --------------------------------------------------------------------------------------------
# Tiny presets in place of the built-in names

PRESET_SEQUENCE_LENGTH = 64
TINY_BERT = dict(
    num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=512
)


def build_presets(keras_nlp, keras, root: pathlib.Path) -> dict[str, str]:
    """Tiny stand-ins for the built-in presets the guides name, saved with ``keras_nlp``.

    ``bert_tiny_en_uncased``: a BERT backbone (2 layers, hidden 16; 512 positions, as the real
    one) with its tokenizer and a text-classifier preprocessor packing to 64 tokens.
    ``bert_tiny_en_uncased_sst2``: a two-class ``BertTextClassifier`` on that backbone, with
    its preprocessor, as the fine-tuned task preset is.
    """
    keras.utils.set_random_seed(7)
    presets = {}
    tokenizer = keras_nlp.models.BertTokenizer(vocabulary=bert_vocabulary(), lowercase=True)
    backbone = keras_nlp.models.BertBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), **TINY_BERT
    )
    # The preset's preprocessor packs to PRESET_SEQUENCE_LENGTH tokens unless a guide asks for
    # another length (KerasHub reads `preprocessor.json` for the default): the real preset's
    # 512 would make every step several times slower on a CPU.
    preprocessor = keras_nlp.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=PRESET_SEQUENCE_LENGTH
    )
    folder = root / "bert_tiny_en_uncased"
    backbone.save_to_preset(str(folder))
    preprocessor.save_to_preset(str(folder))
    presets["bert_tiny_en_uncased"] = str(folder)

    classifier = keras_nlp.models.BertTextClassifier(
        backbone, num_classes=2, preprocessor=preprocessor
    )
    folder = root / "bert_tiny_en_uncased_sst2"
    classifier.save_to_preset(str(folder))
    presets["bert_tiny_en_uncased_sst2"] = str(folder)
    return presets


# --------------------------------------------------------------------------------------------
# Kaggle and Hugging Face on this machine


class FakeHubs:
    """Kaggle Models and the Hugging Face Hub as folders under ``root``.

    While installed, ``kagglehub.model_upload`` / ``model_download`` and ``huggingface_hub``'s
    ``create_repo``, ``file_exists``, ``upload_folder``, ``hf_hub_download``,
    ``snapshot_download`` and ``whoami`` are replaced by functions that copy folders and
    files here, the way both libraries call them (KerasHub asks for one file at a time,
    textbones for the whole folder). Nothing leaves the machine.
    """

    def __init__(self, root: pathlib.Path, username: str = "guide-user"):
        self.root = root
        self.username = username
        self.saved = []

    def kaggle_folder(self, handle: str) -> pathlib.Path:
        owner, model, framework, variation = handle.split("/")[:4]
        return self.root / "kaggle" / owner / model / framework / variation

    def hf_folder(self, repo_id: str) -> pathlib.Path:
        return self.root / "hf" / repo_id

    # kagglehub
    def model_upload(self, handle, local_model_dir, *args, **kwargs):
        target = self.kaggle_folder(handle)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(local_model_dir, target)

    def model_download(self, handle, path=None, **kwargs):
        folder = self.kaggle_folder(handle)
        if not folder.is_dir():
            raise ValueError(f"Kaggle model {handle!r} does not exist (404 Client Error)")
        if path is None:
            return str(folder)
        if not (folder / path).is_file():
            raise ValueError(f"'{path}' is not present in the model files")
        return str(folder / path)

    # huggingface_hub
    def create_repo(self, repo_id, *args, exist_ok=False, **kwargs):
        self.hf_folder(repo_id).mkdir(parents=True, exist_ok=exist_ok)
        return types.SimpleNamespace(repo_id=repo_id)

    def file_exists(self, repo_id, filename, **kwargs):
        return (self.hf_folder(repo_id) / filename).is_file()

    def upload_folder(self, *args, repo_id, folder_path, **kwargs):
        shutil.copytree(folder_path, self.hf_folder(repo_id), dirs_exist_ok=True)

    def hf_hub_download(self, repo_id, filename, **kwargs):
        from huggingface_hub.utils import EntryNotFoundError

        path = self.hf_folder(repo_id) / filename
        if not path.is_file():
            raise EntryNotFoundError(f"{filename} is not in {repo_id}")
        return str(path)

    def snapshot_download(self, repo_id, *args, **kwargs):
        folder = self.hf_folder(repo_id)
        if not folder.is_dir():
            raise FileNotFoundError(f"Hugging Face repository {repo_id!r} does not exist")
        return str(folder)

    def whoami(self, *args, **kwargs):
        return {"name": self.username}

    def install(self) -> None:
        import huggingface_hub
        import kagglehub

        for module, names in (
            (kagglehub, ("model_upload", "model_download")),
            (
                huggingface_hub,
                (
                    "create_repo",
                    "file_exists",
                    "upload_folder",
                    "hf_hub_download",
                    "snapshot_download",
                    "whoami",
                ),
            ),
        ):
            for name in names:
                self.saved.append((module, name, getattr(module, name)))
                setattr(module, name, getattr(self, name))

    def uninstall(self) -> None:
        while self.saved:
            module, name, original = self.saved.pop()
            setattr(module, name, original)
