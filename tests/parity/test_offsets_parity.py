"""Token offsets and word ids against Hugging Face's fast tokenizers, on the tricky corpora.

One reference process per module (``tests/parity/offsets_reference.py`` in ``.venv-ref``)
tokenizes every text, and the same texts split on whitespace (``is_split_into_words``).

* BERT: ``BertTokenizer.tokenize_with_offsets`` equals ``BertTokenizerFast`` exactly (ids,
  ``offset_mapping``, ``word_ids()``) on the 400 texts of
  ``tests/preprocessing/test_word_piece_tokenizer.py``, cased and uncased, cased with accents
  stripped, and uncased with typed special tokens kept. The special marks equal its
  ``special_tokens_mask`` plus the special tokens typed in the text, which that mask leaves
  unmarked (see ``_with_typed_specials``). (Lowercasing while keeping accents,
  ``BertTokenizerFast(do_lower_case=True, strip_accents=False)``, has no textbones
  counterpart: ``lowercase=True`` always strips accents.)
* ALBERT: ``AlbertTokenizer`` on the tiny model of ``tests/helpers/sentence_piece.py``
  against the ``AlbertTokenizer`` transformers builds from the same ``spiece.model``, with
  the options loading that checkpoint gives. Hugging Face's Rust Unigram and
  ``sentencepiece`` pick different pieces on some texts (ties, Hangul); where the ids agree
  the offsets, word ids and special marks agree too, but for the departures listed in
  ``_albert_departures`` (a lone ``"▁"`` has an empty span; characters merged into one
  belong to its piece).

Counts go to ``build/offsets_parity_report.json``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import unicodedata

import pytest

from tests.helpers import sentence_piece
from tests.helpers.reference_env import reference_python
from tests.preprocessing.test_word_piece_tokenizer import trained_vocabulary, varied_corpus
from textbones.models import AlbertTokenizer, BertTokenizer

pytestmark = pytest.mark.parity

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = pathlib.Path(__file__).with_name("offsets_reference.py")
REPORT_PATH = REPO / "build" / "offsets_parity_report.json"
SUBPROCESS_TIMEOUT_S = 300

CORPORA = {"word_piece": varied_corpus(), "sentence_piece": list(sentence_piece.corpus())}
WORDS = {name: [text.split() for text in texts] for name, texts in CORPORA.items()}

# name: (lowercase, strip_accents, special_tokens_in_strings)
BERT_CASES = {
    "cased": (False, False, False),
    "cased_strip_accents": (False, True, False),
    "uncased": (True, True, False),
    "uncased_keep_specials": (True, True, True),
}
# name: (lowercase, strip_accents); typed special tokens are kept, as loading ALBERT does.
ALBERT_CASES = {"uncased": (True, True), "cased_with_accents": (False, False)}


def _bert(name: str) -> BertTokenizer:
    lowercase, strip, keep = BERT_CASES[name]
    return BertTokenizer(
        trained_vocabulary(lowercase),
        lowercase=lowercase,
        strip_accents=strip,
        special_tokens_in_strings=keep,
    )


def _albert(name: str) -> AlbertTokenizer:
    lowercase, strip = ALBERT_CASES[name]
    return AlbertTokenizer(
        sentence_piece.tiny_proto("albert"),
        lowercase=lowercase,
        strip_accents=strip,
        normalize_quotes=True,
        special_tokens_in_strings=True,
    )


_REPORT: dict = {}


def _record(name: str, entry: dict) -> None:
    _REPORT[name] = entry
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(json.dumps(_REPORT, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("offsets_parity")
    cases = {}
    for lowercase in (False, True):
        path = workdir / f"vocab_{lowercase}.txt"
        path.write_text("".join(t + "\n" for t in trained_vocabulary(lowercase)), "utf-8")
    for name, (lowercase, strip, keep) in BERT_CASES.items():
        cases[f"bert/{name}"] = {
            "kind": "bert",
            "corpus": "word_piece",
            "vocabulary_file": str(workdir / f"vocab_{lowercase}.txt"),
            "do_lower_case": lowercase,
            "strip_accents": strip,
            "split_special_tokens": not keep,
        }
    for name, (lowercase, strip) in ALBERT_CASES.items():
        folder = workdir / f"albert_{name}"
        folder.mkdir()
        (folder / "spiece.model").write_bytes(sentence_piece.tiny_proto("albert"))
        config = {
            "tokenizer_class": "AlbertTokenizer",
            "do_lower_case": lowercase,
            "keep_accents": not strip,
        }
        (folder / "tokenizer_config.json").write_text(json.dumps(config), "utf-8")
        cases[f"albert/{name}"] = {
            "kind": "albert",
            "corpus": "sentence_piece",
            "folder": str(folder),
        }
    request = {"texts": CORPORA, "words": WORDS, "cases": cases}
    (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
    try:
        finished = subprocess.run(
            [str(reference_python()), str(SCRIPT), str(workdir / "request.json"),
             str(workdir / "response.json")],
            capture_output=True, text=True, cwd=REPO, timeout=SUBPROCESS_TIMEOUT_S, check=False,
            env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"the offsets reference run took over {SUBPROCESS_TIMEOUT_S} s", pytrace=False)
    response_path = workdir / "response.json"
    if not response_path.is_file():
        pytest.fail(
            f"the offsets reference run wrote no response (exit {finished.returncode}):\n"
            f"{finished.stderr[-4000:]}",
            pytrace=False,
        )
    response = json.loads(response_path.read_text(encoding="utf-8"))
    _REPORT["versions"] = response["versions"]
    return response["cases"]


def _case(reference: dict, name: str) -> dict:
    case = reference[name]
    if "error" in case:
        pytest.fail(f"the reference failed on {name}:\n{case['error']}", pytrace=False)
    return case


def _with_typed_specials(theirs: dict, source, vocabulary: list[str], specials) -> dict:
    """Hugging Face's row with the special tokens typed in the text marked special too.

    Its ``special_tokens_mask`` marks only what its post-processor adds (nothing, without
    ``add_special_tokens``); textbones also marks a special token read from the text: one
    whose span reads exactly that token.
    """
    marked = []
    for token, (start, end), word, mask in zip(
        theirs["ids"], theirs["offsets"], theirs["word_ids"], theirs["special"], strict=True
    ):
        text = source if isinstance(source, str) else source[word] if word >= 0 else ""
        typed = vocabulary[token] in specials and text[start:end] == vocabulary[token]
        marked.append(int(bool(mask) or typed))
    return {**theirs, "special": marked}


def _ours(spans) -> dict:
    return {
        "ids": spans.ids.tolist(),
        "offsets": spans.offsets.tolist(),
        "word_ids": spans.word_ids.tolist(),
        "special": spans.special.astype(int).tolist(),
    }


@pytest.mark.parametrize("words", [False, True], ids=["texts", "split_into_words"])
@pytest.mark.parametrize("name", BERT_CASES)
def test_bert_offsets_and_word_ids_equal_bert_tokenizer_fast(name, words, reference):
    theirs = _case(reference, f"bert/{name}")["words" if words else "texts"]
    inputs = WORDS["word_piece"] if words else CORPORA["word_piece"]
    tokenizer = _bert(name)
    ours = [
        _ours(spans) for spans in tokenizer.tokenize_with_offsets(inputs, is_split_into_words=words)
    ]
    vocabulary, specials = tokenizer.get_vocabulary(), set(tokenizer.special_tokens)
    keep = BERT_CASES[name][2]
    theirs = [
        _with_typed_specials(row, source, vocabulary, specials if keep else ())
        for row, source in zip(theirs, inputs, strict=True)
    ]
    mismatches = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    _record(
        f"bert/{name}/{'words' if words else 'texts'}",
        {"inputs": len(inputs), "tokens": sum(len(row["ids"]) for row in ours),
         "mismatches": len(mismatches)},
    )  # fmt: skip
    assert not mismatches, "\n".join(
        f"{inputs[i]!r}\n  ours: {ours[i]}\n  BertTokenizerFast: {theirs[i]}"
        for i in mismatches[:3]
    )
    # Not vacuous: many tokens, typed special tokens, words and non-trivial spans.
    assert sum(len(row["ids"]) for row in ours) > 5000
    assert any(1 in row["special"] for row in ours) == keep


def _albert_departures(ours: dict, theirs: dict, source, tokens: list[str]) -> dict | None:
    """How ``ours`` departs from Hugging Face's row with the same ids (counts of each kind
    of documented departure), or ``None`` if it departs in any other way.

    * ``lone_mark``: a piece that is only "▁" has the empty span at the start of its word
      here; Hugging Face gives it the word's first character.
    * ``composed``: a piece spelled with a character NFKC composes from several (``e`` and
      U+0301 into ``é``) covers all of them here; Hugging Face covers only the first, so
      its span would normalize to another string.
    * ``quote_pair``: the ``"`` that two backticks or two apostrophes make covers both
      here; Hugging Face covers only the second (not in this corpus where the ids agree;
      ``tests/preprocessing/test_token_offsets.py`` shows it).
    """
    if {key: ours[key] for key in ("ids", "word_ids", "special")} != {
        key: theirs[key] for key in ("ids", "word_ids", "special")
    }:
        return None
    found = {"lone_mark": 0, "composed": 0, "quote_pair": 0}
    for token, (start, end), (their_start, their_end), word in zip(
        tokens, ours["offsets"], theirs["offsets"], ours["word_ids"]
    ):
        text = source if isinstance(source, str) else source[word]
        if (start, end) == (their_start, their_end):
            continue
        if token == "\u2581" and start == end == their_start:
            found["lone_mark"] += 1
        elif (
            start == their_start
            and end > their_end
            and all(unicodedata.category(char).startswith("M") for char in text[their_end:end])
        ):
            found["composed"] += 1
        elif (start, end) == (their_start - 1, their_end) and text[start:end] in ("``", "''"):
            found["quote_pair"] += 1
        else:
            return None
    return found


@pytest.mark.parametrize("words", [False, True], ids=["texts", "split_into_words"])
@pytest.mark.parametrize("name", ALBERT_CASES)
def test_albert_offsets_and_word_ids_equal_hugging_face_where_the_ids_do(name, words, reference):
    theirs = _case(reference, f"albert/{name}")["words" if words else "texts"]
    inputs = WORDS["sentence_piece"] if words else CORPORA["sentence_piece"]
    tokenizer = _albert(name)
    vocabulary, specials = tokenizer.get_vocabulary(), set(tokenizer.special_tokens)
    theirs = [
        _with_typed_specials(row, source, vocabulary, specials)
        for row, source in zip(theirs, inputs, strict=True)
    ]
    ours = [
        _ours(spans) for spans in tokenizer.tokenize_with_offsets(inputs, is_split_into_words=words)
    ]
    same_ids = [i for i in range(len(inputs)) if ours[i]["ids"] == theirs[i]["ids"]]
    departures = {
        i: _albert_departures(
            ours[i], theirs[i], inputs[i], [vocabulary[t] for t in ours[i]["ids"]]
        )
        for i in same_ids
    }
    mismatches = [i for i, found in departures.items() if found is None]
    counted = [found for found in departures.values() if found is not None]
    _record(
        f"albert/{name}/{'words' if words else 'texts'}",
        {"inputs": len(inputs), "same_ids": len(same_ids),
         "identical_rows": sum(ours[i] == theirs[i] for i in same_ids),
         "tokens_compared": sum(len(ours[i]["ids"]) for i in same_ids),
         "lone_mark_tokens": sum(found["lone_mark"] for found in counted),
         "composed_tokens": sum(found["composed"] for found in counted),
         "quote_pair_tokens": sum(found["quote_pair"] for found in counted),
         "mismatches": len(mismatches)},
    )  # fmt: skip
    assert not mismatches, "\n".join(
        f"{inputs[i]!r}\n  ours: {ours[i]}\n  Hugging Face: {theirs[i]}" for i in mismatches[:3]
    )
    assert len(same_ids) >= 0.8 * len(inputs)  # the agreement is not vacuous
    assert sum(found["lone_mark"] for found in counted) > 0  # the departure is exercised
