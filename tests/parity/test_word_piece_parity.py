"""Parity of ``BertTokenizer`` with Hugging Face's ``BertTokenizerFast`` and with KerasHub.

The reference libraries run in ``.venv-ref`` through one subprocess per module,
``tests/parity/word_piece_reference.py``. The texts are the varied corpus of
``tests/preprocessing/test_word_piece_tokenizer.py`` (400 texts) plus two "tame" copies
of it (see ``tame``); the vocabularies are trained on that corpus, cased and uncased.
Four cases: ``lowercase`` x ``special_tokens_in_strings``.

* transformers: our ids equal ``BertTokenizerFast(vocab_file, do_lower_case=...)`` on
  every text (``add_special_tokens=False``; ``split_special_tokens`` when typed special
  tokens are not to be kept). The specification ranks this agreement first.
* KerasHub (its Python path and its tf-text path): KerasHub's ``BertTokenizer`` departs
  from BERT's reference tokenization on some character classes (``KERAS_HUB_DEPARTURES``).
  On the tame texts, which avoid those classes, ids must be identical; on the raw corpus
  every text whose ids differ must contain one of those classes. Counts go to
  ``build/word_piece_parity_report.json``.
* Presets: a preset KerasHub writes loads here as ``BertTokenizer`` with KerasHub's config
  and gives BertTokenizerFast's ids; a preset we write loads in KerasHub (specific and
  generic ``from_preset``) with our config and the same ids as KerasHub built directly.

Environment variables: ``TEXTBONES_REF_PYTHON`` (the reference interpreter, default
``<repo>/.venv-ref/bin/python``), ``TEXTBONES_REF_KERAS_BACKEND`` (default ``torch``).
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import subprocess
import time
import unicodedata

import pytest

from tests.helpers.reference_env import reference_python
from tests.preprocessing.test_word_piece_tokenizer import (
    BERT_RESERVED,
    trained_vocabulary,
    varied_corpus,
)
from textbones.models import BertBackbone
from textbones.models.bert.tokenizer import BertTokenizer
from textbones.preprocessing.tokenizer import Tokenizer
from textbones.preprocessing.word_piece_tokenizer import MAX_CHARS_PER_WORD

pytestmark = pytest.mark.parity

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = pathlib.Path(__file__).with_name("word_piece_reference.py")
REPORT_PATH = REPO / "build" / "word_piece_parity_report.json"
SUBPROCESS_TIMEOUT_S = 300
CASES = {
    f"{'uncased' if lowercase else 'cased'}{'_keep_specials' if keep else ''}": (lowercase, keep)
    for lowercase in (False, True)
    for keep in (False, True)
}
KERAS_HUB_PATHS = ("keras_hub_python", "keras_hub_tf")

# Where KerasHub 0.32's BertTokenizer departs from BERT's tokenization (which
# BertTokenizerFast and textbones follow), found on the corpus and checked here.
CONTROL = (
    "control, format, private-use or unassigned character, or U+FFFD "
    "(BERT deletes it; KerasHub splits there, or keeps it)"
)
WHITESPACE = "non-ASCII whitespace such as U+00A0 or U+3000 (BERT splits there; KerasHub does not)"
DECOMPOSED = (
    "accent or other mark when lowercasing: NFD changes it, or it is one "
    "(BERT strips it; KerasHub keeps it)"
)
CASEFOLD = "character whose NFKC case folding (KerasHub) differs from its lowercase (BERT)"
LONG_WORD = (
    f"word of at most {MAX_CHARS_PER_WORD} characters but more than {MAX_CHARS_PER_WORD} "
    "UTF-8 bytes"
)
TYPED_UNK = "[UNK] typed in the text (a special token for BERT, text for KerasHub)"
KERAS_HUB_DEPARTURES = (CONTROL, WHITESPACE, DECOMPOSED, CASEFOLD, LONG_WORD, TYPED_UNK)


def _nfkc_casefold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _is_separator(char: str) -> bool:
    category = unicodedata.category(char)
    return char.isspace() or category[0] in "PC" or (char.isascii() and not char.isalnum())


def _words(text: str) -> list[str]:
    words, current = [], []
    for char in text:
        if _is_separator(char):
            if current:
                words.append("".join(current))
            current = []
        else:
            current.append(char)
    return words + (["".join(current)] if current else [])


def _char_departures(char: str, lowercase: bool) -> set[str]:
    found = set()
    category = unicodedata.category(char)
    if (category[0] == "C" and char not in "\t\n\r") or char == "\ufffd":
        found.add(CONTROL)
    elif category in ("Zs", "Zl", "Zp") and char != " ":
        found.add(WHITESPACE)
    if lowercase:
        if unicodedata.normalize("NFD", char) != char or unicodedata.category(char) == "Mn":
            found.add(DECOMPOSED)
        if _nfkc_casefold(char) != char.lower():
            found.add(CASEFOLD)
    return found


def departures(text: str, lowercase: bool, keep_specials: bool) -> set[str]:
    """The classes of ``KERAS_HUB_DEPARTURES`` that ``text`` contains."""
    found = set()
    for char in set(text):
        found |= _char_departures(char, lowercase)
    if any(len(word) <= MAX_CHARS_PER_WORD < len(word.encode("utf-8")) for word in _words(text)):
        found.add(LONG_WORD)
    if keep_specials and "[UNK]" in text:
        found.add(TYPED_UNK)
    return found


def tame(text: str, lowercase: bool) -> str:
    """``text`` without the characters KerasHub treats differently, and shorter long words."""
    text = "".join(char for char in text if not _char_departures(char, lowercase)).replace(
        "[UNK]", "UNK"
    )
    return " ".join(
        word[:30] if len(word.encode("utf-8")) > MAX_CHARS_PER_WORD else word
        for word in text.split(" ")
    )


CORPUS = varied_corpus()
TAME = {lowercase: [tame(text, lowercase) for text in CORPUS] for lowercase in (False, True)}
TEXTS = CORPUS + TAME[False] + TAME[True]
TAME_SLICE = {
    False: slice(len(CORPUS), 2 * len(CORPUS)),
    True: slice(2 * len(CORPUS), 3 * len(CORPUS)),
}


def _ours(lowercase: bool, keep: bool) -> BertTokenizer:
    return BertTokenizer(
        trained_vocabulary(lowercase), lowercase=lowercase, special_tokens_in_strings=keep
    )


def _our_ids(tokenizer) -> list[list[int]]:
    return tokenizer(TEXTS)


# -- report -------------------------------------------------------------------------------

_REPORT: dict = {
    "texts": {"corpus": len(CORPUS), "tame_cased": len(CORPUS), "tame_uncased": len(CORPUS)}
}


def _record(key: str, name: str, entry) -> None:
    _REPORT.setdefault(key, {})[name] = entry
    _REPORT["written"] = datetime.datetime.now().isoformat(timespec="seconds")
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(
        json.dumps(_REPORT, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


# -- the reference run --------------------------------------------------------------------


@pytest.fixture(scope="module")
def exchange(tmp_path_factory) -> tuple[pathlib.Path, dict]:
    """Write vocabularies and our presets, run the reference once, return its response."""
    ref_python = reference_python()
    workdir = tmp_path_factory.mktemp("word_piece_parity")
    cases, presets = {}, {}
    for name, (lowercase, keep) in CASES.items():
        vocabulary_file = workdir / f"vocab_{'uncased' if lowercase else 'cased'}.txt"
        vocabulary_file.write_text(
            "".join(t + "\n" for t in trained_vocabulary(lowercase)), encoding="utf-8"
        )
        cases[name] = {
            "vocabulary_file": str(vocabulary_file),
            "lowercase": lowercase,
            "special_tokens_in_strings": keep,
        }
        preset = workdir / "textbones" / name
        BertBackbone(
            vocabulary_size=len(trained_vocabulary(lowercase)),
            num_layers=1,
            num_heads=1,
            hidden_dim=8,
            intermediate_dim=8,
            max_sequence_length=8,
        ).save_to_preset(preset)
        _ours(lowercase, keep).save_to_preset(preset)
        presets[name] = str(preset)
    request = {
        "texts": TEXTS,
        "cases": cases,
        "keras_hub_preset_root": str(workdir / "keras_hub"),
        "textbones_presets": presets,
    }
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.setdefault("TEXTBONES_REF_KERAS_BACKEND", "torch")
    started = time.perf_counter()
    try:
        finished = subprocess.run(
            [str(ref_python), str(SCRIPT), str(workdir / "request.json"),
             str(workdir / "response.json")],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"the WordPiece reference run took over {SUBPROCESS_TIMEOUT_S} s", pytrace=False
        )
    response_path = workdir / "response.json"
    if not response_path.is_file():
        pytest.fail(
            f"the WordPiece reference run wrote no response (exit {finished.returncode}):\n"
            f"{finished.stderr[-4000:]}",
            pytrace=False,
        )
    response = json.loads(response_path.read_text(encoding="utf-8"))
    _REPORT["reference"] = {
        **response["versions"],
        "seconds": round(time.perf_counter() - started, 2),
    }
    return workdir, response


def _case(exchange, name: str) -> dict:
    case = exchange[1]["cases"][name]
    if "error" in case:
        pytest.fail(f"the reference failed on {name}:\n{case['error']}", pytrace=False)
    return case


def _show(vocabulary, row) -> list[str]:
    return [vocabulary[i] for i in row]


# -- transformers ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_ids_equal_bert_tokenizer_fast(name, exchange):
    lowercase, keep = CASES[name]
    theirs = _case(exchange, name)["ids"]["transformers"]
    ours = _our_ids(_ours(lowercase, keep))
    mismatches = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    _record("transformers", name, {"texts": len(TEXTS), "mismatches": len(mismatches)})
    vocabulary = trained_vocabulary(lowercase)
    assert not mismatches, "\n".join(
        f"{TEXTS[i]!r}\n  ours: {_show(vocabulary, ours[i])}\n"
        f"  BertTokenizerFast: {_show(vocabulary, theirs[i])}"
        for i in mismatches[:5]
    )


# -- KerasHub -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", KERAS_HUB_PATHS)
@pytest.mark.parametrize("name", CASES)
def test_ids_equal_keras_hub_apart_from_its_documented_departures(name, path, exchange):
    lowercase, keep = CASES[name]
    theirs = _case(exchange, name)["ids"][path]
    ours = _our_ids(_ours(lowercase, keep))
    vocabulary = trained_vocabulary(lowercase)

    tame_range = range(len(TEXTS))[TAME_SLICE[lowercase]]
    tame_mismatches = [i for i in tame_range if ours[i] != theirs[i]]
    by_class = {departure: 0 for departure in KERAS_HUB_DEPARTURES}
    unexplained = []
    differing = [i for i in range(len(CORPUS)) if ours[i] != theirs[i]]
    for i in differing:
        found = departures(TEXTS[i], lowercase, keep)
        if not found:
            unexplained.append(i)
        for departure in found:
            by_class[departure] += 1
    agreeing_plain = sum(1 for i in range(len(CORPUS)) if not departures(TEXTS[i], lowercase, keep))
    _record(
        f"keras_hub/{path}",
        name,
        {
            "tame_texts": len(tame_range),
            "tame_mismatches": len(tame_mismatches),
            "corpus_texts": len(CORPUS),
            "corpus_texts_without_departures": agreeing_plain,
            "corpus_mismatches": len(differing),
            "corpus_mismatches_unexplained": len(unexplained),
            "corpus_mismatches_by_departure": by_class,
        },
    )

    def describe(indices):
        return "\n".join(
            f"{TEXTS[i]!r}\n  ours: {_show(vocabulary, ours[i])}\n"
            f"  KerasHub: {_show(vocabulary, theirs[i])}"
            for i in indices[:5]
        )

    assert not tame_mismatches, describe(tame_mismatches)
    assert not unexplained, describe(unexplained)
    assert agreeing_plain >= 120  # the agreement above is not vacuous
    assert sum(len(TEXTS[i]) > 0 for i in tame_range) >= 350


def test_departures_are_real_and_documented():
    """Each departure class is something BERT's reference tokenization does, shown on a probe."""
    tokenizer = BertTokenizer(
        BERT_RESERVED + ["zero", "##width", "a", "b", "cafe", "e", "ss", "##ss"], lowercase=True
    )
    assert tokenizer("zero\u200bwidth").tolist() == [5, 6]  # CONTROL: deleted, not a split
    assert tokenizer("a\u00a0b").tolist() == [7, 8]  # WHITESPACE: a split
    assert tokenizer("CAFÉ").tolist() == [9]  # DECOMPOSED: accents stripped
    assert tokenizer("ß").tolist() == [1]  # CASEFOLD: "ß" lowercases to itself, not "ss"
    # LONG_WORD: the limit counts characters; 100 two-byte characters are still spelled.
    spelled = BertTokenizer(BERT_RESERVED + ["é", "##é"])("é" * MAX_CHARS_PER_WORD).tolist()
    assert spelled == [5] + [6] * (MAX_CHARS_PER_WORD - 1)
    keep = BertTokenizer(BERT_RESERVED, special_tokens_in_strings=True)
    assert keep("[UNK]").tolist() == [1]  # TYPED_UNK: one token


# -- presets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_keras_hub_preset_loads_here(name, exchange):
    lowercase, _ = CASES[name]
    case = _case(exchange, name)
    preset_dir = case["keras_hub_preset"]["dir"]
    for loader in (Tokenizer, BertTokenizer):
        loaded = loader.from_preset(preset_dir)
        assert type(loaded) is BertTokenizer
        assert loaded.get_config() == case["keras_hub_preset"]["config"]
        assert loaded.get_vocabulary() == trained_vocabulary(lowercase)
        ids = _our_ids(loaded)
        assert ids == case["ids"]["transformers"]
        assert ids[TAME_SLICE[lowercase]] == case["ids"]["keras_hub_python"][TAME_SLICE[lowercase]]
    _record("keras_hub_preset_in_textbones", name, {"loaded": True, "texts": len(TEXTS)})


@pytest.mark.parametrize("name", CASES)
def test_our_preset_loads_in_keras_hub(name, exchange):
    lowercase, keep = CASES[name]
    case = _case(exchange, name)
    loaded = case["textbones_preset"]
    if "error" in loaded:
        pytest.fail(f"KerasHub could not load our preset {name}:\n{loaded['error']}", pytrace=False)
    assert loaded["class"] == loaded["generic_class"] == "BertTokenizer"
    assert loaded["config"] == _ours(lowercase, keep).get_config()
    # KerasHub tokenizes with the tokenizer it read from our files exactly as with its own.
    assert loaded["ids"] == loaded["generic_ids"] == case["ids"]["keras_hub_python"]
    ours = _our_ids(_ours(lowercase, keep))
    assert loaded["ids"][TAME_SLICE[lowercase]] == ours[TAME_SLICE[lowercase]]
    _record("textbones_preset_in_keras_hub", name, {"loaded": True, "texts": len(TEXTS)})
