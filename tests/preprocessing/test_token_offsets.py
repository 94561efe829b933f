"""``Tokenizer.tokenize_with_offsets``: each token's span in the original text and its word.

Real values on tiny vocabularies (WordPiece) and the tiny SentencePiece models of
``tests/helpers/sentence_piece.py``; batches, single strings and pre-split words; special
tokens typed in the text and added by ``add_bos``/``add_eos``; lowercasing, accents, CJK
and control characters; bad input. The property tests at the end check, on the tricky
corpora, that each span's characters are what its token spells (see ``_check_spells``).
"""

from __future__ import annotations

import numpy as np
import pytest
from tokenizers import normalizers

from tests.helpers import sentence_piece
from tests.preprocessing.test_word_piece_tokenizer import VOCAB, trained_vocabulary, varied_corpus
from textbones.models import AlbertTokenizer, BertTokenizer
from textbones.preprocessing.sentence_piece_offsets import normalized_alignment
from textbones.preprocessing.sentence_piece_tokenizer import SentencePieceTokenizer
from textbones.preprocessing.token_spans import NO_WORD, TokenSpans
from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer


def _rows(tokenizer, spans: TokenSpans) -> list[tuple]:
    """(token, (start, end), word, special, span text) of every token."""
    return [
        (
            tokenizer.id_to_token(token),
            tuple(spans.offsets[index].tolist()),
            int(spans.word_ids[index]),
            bool(spans.special[index]),
            spans.span_text(index),
        )
        for index, token in enumerate(spans.ids.tolist())
    ]


def _check_shapes(spans: TokenSpans) -> None:
    count = len(spans)
    assert spans.ids.dtype == np.int32 and spans.ids.shape == (count,)
    assert spans.offsets.dtype == np.int32 and spans.offsets.shape == (count, 2)
    assert spans.word_ids.dtype == np.int32 and spans.word_ids.shape == (count,)
    assert spans.special.dtype == bool and spans.special.shape == (count,)


# -- WordPiece ------------------------------------------------------------------------------


def test_word_piece_lowercase_strips_accents_and_sets_cjk_apart():
    tokenizer = BertTokenizer(VOCAB, lowercase=True)
    spans = tokenizer.tokenize_with_offsets("The  CAFÉ, 东京!")
    _check_shapes(spans)
    assert _rows(tokenizer, spans) == [
        ("the", (0, 3), 0, False, "The"),
        ("cafe", (5, 9), 1, False, "CAFÉ"),
        (",", (9, 10), 2, False, ","),
        ("东", (11, 12), 3, False, "东"),
        ("京", (12, 13), 4, False, "京"),
        ("!", (13, 14), 5, False, "!"),
    ]


def test_word_piece_cased_keeps_accents_and_unknown_words_span_the_word():
    tokenizer = BertTokenizer(VOCAB)
    spans = tokenizer.tokenize_with_offsets("The  CAFÉ, café")
    assert _rows(tokenizer, spans) == [
        ("[UNK]", (0, 3), 0, False, "The"),
        ("[UNK]", (5, 9), 1, False, "CAFÉ"),
        (",", (9, 10), 2, False, ","),
        ("café", (11, 15), 3, False, "café"),
    ]
    stripped = BertTokenizer(VOCAB, strip_accents=True)
    # The combining accent is stripped, so no span covers it (as BertTokenizerFast).
    assert _rows(stripped, stripped.tokenize_with_offsets("café Cafe\u0301")) == [
        ("cafe", (0, 4), 0, False, "café"),
        ("[UNK]", (5, 9), 1, False, "Cafe"),
    ]


def test_word_piece_control_and_zero_width_characters_are_skipped_inside_words():
    tokenizer = BertTokenizer(VOCAB, lowercase=True)
    spans = tokenizer.tokenize_with_offsets("un\x00aff\u200bable a\x07b\tthe")
    assert _rows(tokenizer, spans) == [
        ("un", (0, 2), 0, False, "un"),
        ("##aff", (3, 6), 0, False, "aff"),
        ("##able", (7, 11), 0, False, "able"),
        ("a", (12, 13), 1, False, "a"),
        ("##b", (14, 15), 1, False, "b"),
        ("the", (16, 19), 2, False, "the"),
    ]


def test_word_piece_batch_equals_single_strings_and_empty_texts_have_no_tokens():
    tokenizer = BertTokenizer(VOCAB, lowercase=True)
    texts = ["Quick fox", "", "   ", "xyz the"]
    batch = tokenizer.tokenize_with_offsets(texts)
    assert isinstance(batch, list) and len(batch) == 4
    for text, spans in zip(texts, batch):
        single = tokenizer.tokenize_with_offsets(text)
        assert spans.text == text == single.text
        assert spans.ids.tolist() == single.ids.tolist() == tokenizer(text).tolist()
        assert spans.offsets.tolist() == single.offsets.tolist()
    assert batch[0].offsets.tolist() == [[0, 2], [2, 5], [6, 9]]
    assert batch[1].offsets.shape == batch[2].offsets.shape == (0, 2)
    assert _rows(tokenizer, batch[3]) == [
        ("[UNK]", (0, 3), 0, False, "xyz"),
        ("the", (4, 7), 1, False, "the"),
    ]
    assert tokenizer.tokenize_with_offsets([]) == []


def test_word_piece_typed_special_tokens_are_marked_special_when_kept():
    kept = BertTokenizer(VOCAB, lowercase=True, special_tokens_in_strings=True)
    assert _rows(kept, kept.tokenize_with_offsets("a[MASK]b [mask] [UNK]")) == [
        ("a", (0, 1), 0, False, "a"),
        ("[MASK]", (1, 7), 1, True, "[MASK]"),
        ("b", (7, 8), 2, False, "b"),
        ("[", (9, 10), 3, False, "["),
        ("mask", (10, 14), 4, False, "mask"),
        ("]", (14, 15), 5, False, "]"),
        ("[UNK]", (16, 21), 6, True, "[UNK]"),  # typed: special
    ]
    # An unknown word's [UNK] spans the word: not special.
    assert _rows(kept, kept.tokenize_with_offsets("xyz")) == [("[UNK]", (0, 3), 0, False, "xyz")]
    split = BertTokenizer(VOCAB, lowercase=True)
    assert [row[:4] for row in _rows(split, split.tokenize_with_offsets("a[MASK]"))] == [
        ("a", (0, 1), 0, False),
        ("[", (1, 2), 1, False),
        ("mask", (2, 6), 2, False),
        ("]", (6, 7), 3, False),
    ]


def test_word_piece_pre_split_words_index_their_word():
    tokenizer = BertTokenizer(VOCAB, lowercase=True, special_tokens_in_strings=True)
    spans = tokenizer.tokenize_with_offsets(["the", "[MASK]", "Quick,"], is_split_into_words=True)
    assert spans.text == ["the", "[MASK]", "Quick,"]
    assert _rows(tokenizer, spans) == [
        ("the", (0, 3), 0, False, "the"),
        ("[MASK]", (0, 6), 1, True, "[MASK]"),
        ("qu", (0, 2), 2, False, "Qu"),
        ("##ick", (2, 5), 2, False, "ick"),
        (",", (5, 6), 2, False, ","),
    ]
    batch = tokenizer.tokenize_with_offsets([["fox"], [], ["a", "b"]], is_split_into_words=True)
    assert [spans.word_ids.tolist() for spans in batch] == [[0], [], [0, 1]]
    assert [spans.offsets.tolist() for spans in batch] == [[[0, 3]], [], [[0, 1], [0, 1]]]


def test_word_piece_without_split_reads_words_as_tokenize_does():
    tokenizer = WordPieceTokenizer(["[UNK]", "new", "york", "##er"], split=False)
    one = tokenizer.tokenize_with_offsets("yorker")
    assert one.text == ["yorker"] and one.offsets.tolist() == [[0, 4], [4, 6]]
    example = tokenizer.tokenize_with_offsets(["new", "yorker"])
    assert example.ids.tolist() == tokenizer(["new", "yorker"]).tolist() == [1, 2, 3]
    assert example.word_ids.tolist() == [0, 1, 1]
    batch = tokenizer.tokenize_with_offsets([["new"], ["york", "new"]])
    assert [spans.word_ids.tolist() for spans in batch] == [[0], [0, 1]]


# -- SentencePiece ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def albert() -> AlbertTokenizer:
    """ALBERT's tokenizer as loading a Hugging Face checkpoint configures it."""
    return AlbertTokenizer(
        sentence_piece.tiny_proto("albert"),
        lowercase=True,
        strip_accents=True,
        normalize_quotes=True,
        special_tokens_in_strings=True,
    )


def test_sentence_piece_spans_leave_out_the_whitespace_before_a_word(albert):
    spans = albert.tokenize_with_offsets("Hello  world")
    _check_shapes(spans)
    assert _rows(albert, spans) == [
        ("▁h", (0, 1), 0, False, "H"),
        ("ell", (1, 4), 0, False, "ell"),
        ("o", (4, 5), 0, False, "o"),
        ("▁world", (7, 12), 1, False, "world"),
    ]


def test_sentence_piece_lone_word_mark_has_an_empty_span_where_its_word_starts(albert):
    assert _rows(albert, albert.tokenize_with_offsets("Zoë 日本 a\x07b")) == [
        ("▁z", (0, 1), 0, False, "Z"),
        ("o", (1, 2), 0, False, "o"),
        ("e", (2, 3), 0, False, "ë"),  # accent stripped; the span is the original character
        ("▁", (4, 4), 1, False, ""),
        ("日本", (4, 6), 1, False, "日本"),
        ("▁a", (7, 8), 2, False, "a"),  # the deleted bell character belongs to no piece
        ("b", (9, 10), 2, False, "b"),
    ]


def test_sentence_piece_merged_and_expanded_characters(albert):
    # Two backticks make one quote; the quote covers both.
    assert _rows(albert, albert.tokenize_with_offsets("``q''")) == [
        ("▁", (0, 0), 0, False, ""),
        ('"', (0, 2), 0, False, "``"),
        ("q", (2, 3), 0, False, "q"),
        ('"', (3, 5), 0, False, "''"),
    ]
    # "½" reads as "1⁄2", cut into two pieces: both cover it.
    assert _rows(albert, albert.tokenize_with_offsets("½x")) == [
        ("▁1⁄", (0, 1), 0, False, "½"),
        ("2", (0, 1), 0, False, "½"),
        ("x", (1, 2), 0, False, "x"),
    ]
    cased = AlbertTokenizer(sentence_piece.tiny_proto("albert"))
    # NFKC composes "e" and U+0301 into "é": the piece covers both characters.
    assert _rows(cased, cased.tokenize_with_offsets("Cafe\u0301 x"))[0] == (
        "▁café",
        (0, 5),
        0,
        False,
        "Cafe\u0301",
    )


def test_sentence_piece_typed_special_tokens_are_words_of_their_own(albert):
    assert _rows(albert, albert.tokenize_with_offsets("a[MASK]b")) == [
        ("▁a", (0, 1), 0, False, "a"),
        ("[MASK]", (1, 7), 1, True, "[MASK]"),
        ("▁b", (7, 8), 2, False, "b"),
    ]
    plain = AlbertTokenizer(sentence_piece.tiny_proto("albert"), lowercase=True)
    assert [row[:4] for row in _rows(plain, plain.tokenize_with_offsets("a[MASK]b"))] == [
        ("▁a", (0, 1), 0, False),
        ("[", (1, 2), 0, False),
        ("mask", (2, 6), 0, False),
        ("]", (6, 7), 0, False),
        ("b", (7, 8), 0, False),
    ]


def test_sentence_piece_added_bos_and_eos_are_special_with_no_word():
    proto = sentence_piece.tiny_proto("user_defined_mask")
    for kept in (False, True):
        tokenizer = SentencePieceTokenizer(
            proto, add_bos=True, add_eos=True, special_tokens_in_strings=kept
        )
        spans = tokenizer.tokenize_with_offsets("the [MASK] dog")
        assert spans.ids.tolist() == tokenizer("the [MASK] dog").tolist()
        assert _rows(tokenizer, spans) == [
            ("[CLS]", (0, 0), NO_WORD, True, ""),
            ("▁the", (0, 3), 0, False, "the"),
            ("▁", (4, 4), 1, False, ""),
            ("[MASK]", (4, 10), 1, False, "[MASK]"),  # a user-defined piece, no special token
            ("▁", (11, 11), 2, False, ""),
            ("d", (11, 12), 2, False, "d"),
            ("o", (12, 13), 2, False, "o"),
            ("g", (13, 14), 2, False, "g"),
            ("[SEP]", (0, 0), NO_WORD, True, ""),
        ]


def test_sentence_piece_batches_and_pre_split_words(albert):
    texts = ["The Café", "", "  "]
    batch = albert.tokenize_with_offsets(texts)
    assert [spans.text for spans in batch] == texts
    assert _rows(albert, batch[0]) == [
        ("▁the", (0, 3), 0, False, "The"),
        ("▁", (4, 4), 1, False, ""),
        ("c", (4, 5), 1, False, "C"),
        ("a", (5, 6), 1, False, "a"),
        ("f", (6, 7), 1, False, "f"),
        ("e", (7, 8), 1, False, "é"),
    ]
    assert len(batch[1]) == len(batch[2]) == 0 and batch[2].offsets.shape == (0, 2)
    for text, spans in zip(texts, batch):
        assert spans.offsets.tolist() == albert.tokenize_with_offsets(text).offsets.tolist()
    words = albert.tokenize_with_offsets(["New", "Café", "[MASK]"], is_split_into_words=True)
    assert _rows(albert, words) == [
        ("▁new", (0, 3), 0, False, "New"),
        ("▁", (0, 0), 1, False, ""),
        ("c", (0, 1), 1, False, "C"),
        ("a", (1, 2), 1, False, "a"),
        ("f", (2, 3), 1, False, "f"),
        ("e", (3, 4), 1, False, "é"),
        ("[MASK]", (0, 6), 2, True, "[MASK]"),
    ]


def test_sentence_piece_ids_equal_tokenize_on_the_corpus(any_sentence_piece_proto):
    texts = list(sentence_piece.corpus())
    for options in (
        {},
        {"lowercase": True, "strip_accents": True, "normalize_quotes": True},
        {"special_tokens_in_strings": True, "add_eos": True},
    ):
        try:
            tokenizer = SentencePieceTokenizer(any_sentence_piece_proto, **options)
        except ValueError:  # a model without an eos piece
            continue
        batch = tokenizer.tokenize_with_offsets(texts)
        assert [spans.ids.tolist() for spans in batch] == tokenizer(texts)
        for text, spans in zip(texts, batch):
            starts, ends = spans.offsets[:, 0], spans.offsets[:, 1]
            assert (0 <= starts).all() and (starts <= ends).all() and (ends <= len(text)).all()
            plain = ~spans.special
            assert (np.diff(starts[plain]) >= 0).all()  # spans come in text order
            assert (np.diff(spans.word_ids[plain]) >= 0).all()


def test_sentence_piece_releases_naming_the_output_immutable_proto_are_read():
    class OlderProcessor:
        """Answers "immutable_proto" as the current release answers "proto", and refuses
        "proto" as older releases do."""

        def __init__(self, processor):
            self.processor = processor

        def encode(self, texts, out_type, **kwargs):
            if out_type == "proto":
                raise RuntimeError("unknown out_type")
            assert out_type == "immutable_proto"
            return self.processor.encode(texts, out_type="proto", **kwargs)

        def __getattr__(self, name):
            return getattr(self.processor, name)

    older = AlbertTokenizer(sentence_piece.tiny_proto("albert"), lowercase=True)
    expected = older.tokenize_with_offsets("Hello  world").offsets.tolist()
    older._processor = OlderProcessor(older._processor)
    assert older.tokenize_with_offsets("Hello  world").offsets.tolist() == expected
    assert expected == [[0, 1], [1, 4], [4, 5], [7, 12]]


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda: BertTokenizer(VOCAB), lambda: AlbertTokenizer(sentence_piece.tiny_proto("albert"))],
    ids=["word_piece", "sentence_piece"],
)
def test_bad_input_is_refused_with_a_reason(make):
    tokenizer = make()
    with pytest.raises(ValueError, match="lone surrogate"):
        tokenizer.tokenize_with_offsets(["fine", "bad \ud800 text"])
    with pytest.raises(ValueError, match="with is_split_into_words=True the input is words"):
        tokenizer.tokenize_with_offsets("a string", is_split_into_words=True)
    with pytest.raises(ValueError, match="item 1 of the batch is a NoneType"):
        tokenizer.tokenize_with_offsets(["a", None])
    with pytest.raises(ValueError, match="item 1 is 'b'"):
        tokenizer.tokenize_with_offsets([["a"], "b"], is_split_into_words=True)


def test_string_dtype_and_missing_model_are_refused():
    with pytest.raises(ValueError, match="dtype='string'; tokenize_with_offsets returns ids"):
        BertTokenizer(VOCAB, dtype="string").tokenize_with_offsets("the")
    with pytest.raises(ValueError, match="has no SentencePiece model yet"):
        SentencePieceTokenizer().tokenize_with_offsets("the")


def test_sentence_piece_surrogate_error_names_the_row(albert):
    with pytest.raises(
        ValueError, match=r"Item 1 of the batch .* lone surrogate '\\ud800' at position 4"
    ):
        albert.tokenize_with_offsets(["ok", "bad \ud800"])


# -- the alignment helper and span_text -----------------------------------------------------


def test_normalized_alignment_maps_each_character_back():
    normalizer = normalizers.Sequence(
        [normalizers.Replace("``", '"'), normalizers.NFKD(), normalizers.StripAccents(),
         normalizers.Lowercase()]
    )  # fmt: skip
    normalized, starts, ends = normalized_alignment("``Éﬁ", normalizer)
    assert normalized == '"efi'
    assert starts.tolist() == [0, 2, 3, 3] and ends.tolist() == [2, 3, 4, 4]


def test_normalized_alignment_falls_back_to_whole_text_spans_when_pieces_do_not_join():
    class Inconsistent:
        """Its ``normalize_str`` disagrees with its alignment (``normalize``)."""

        normalize = staticmethod(normalizers.Lowercase().normalize)

        @staticmethod
        def normalize_str(text):
            return text.upper()

    normalized, starts, ends = normalized_alignment("ab", Inconsistent())
    assert normalized == "AB" and starts.tolist() == [0, 0] and ends.tolist() == [2, 2]


def test_span_text_reads_the_text_or_the_word():
    spans = TokenSpans.from_lists(["ab", "cd"], [1, 2, 3], [(0, 1), (1, 2), (0, 0)], [0, 1, None])
    assert [spans.span_text(index) for index in range(3)] == ["a", "d", ""]
    assert TokenSpans.from_lists("hello", [5], [(1, 4)], [0]).span_text(0) == "ell"


# -- the property: a span's characters are what its token spells ------------------------------


def _groups(spans: TokenSpans) -> list[list[int]]:
    """Token indices grouped where spans overlap (one character spelled by several tokens)."""
    groups: list[list[int]] = []
    reach = -1
    for index, (start, end) in enumerate(spans.offsets.tolist()):
        if groups and start < end and start < reach:
            groups[-1].append(index)
        else:
            groups.append([index])
        reach = max(reach, end) if start < end else reach
    return groups


def _check_spells(tokenizer, texts, normalize, marker: str, unknown: int) -> dict:
    """Assert, for every token of every text, that its span holds what it spells.

    Tokens are grouped where their spans overlap (a character read as several pieces);
    for each group of ordinary tokens, ``normalize(text[start:end])`` over the group's
    whole span equals the concatenation of ``detokenize([id])`` of its tokens with the
    ``marker`` (``"##"`` at the start, or every ``"▁"``) removed. The exceptions, also
    asserted: a special token's span reads the special token itself (or is empty, for an
    added one); the unknown token's span is not empty (its characters are not in the
    vocabulary, so nothing can be compared); an empty span belongs to a token that spells
    nothing (SentencePiece's lone ``"▁"``). Returns counts of each kind.
    """
    counts = {"groups": 0, "tokens_in_shared_spans": 0, "special": 0, "unknown": 0, "empty": 0}
    for spans in tokenizer.tokenize_with_offsets(texts):
        for group in _groups(spans):
            ids = [int(spans.ids[index]) for index in group]
            start = int(spans.offsets[group, 0].min())
            end = int(spans.offsets[group, 1].max())
            if len(group) == 1 and spans.special[group[0]]:
                counts["special"] += 1
                assert spans.span_text(group[0]) in ("", tokenizer.id_to_token(ids[0]))
                continue
            if unknown in ids:
                counts["unknown"] += 1
                assert end > start, (spans.text, group)
                continue
            spelled = "".join(tokenizer.detokenize([token]) for token in ids)
            if marker == "##":
                spelled = "".join(tokenizer.detokenize([token]).removeprefix("##") for token in ids)
            else:
                spelled = spelled.replace(marker, "")
            if start == end:
                counts["empty"] += 1
                assert spelled == "", (spans.text, group)
                continue
            counts["groups"] += 1
            counts["tokens_in_shared_spans"] += len(group) if len(group) > 1 else 0
            assert normalize(spans.text[start:end]) == spelled, (spans.text, start, end, ids)
    return counts


@pytest.mark.parametrize("lowercase, strip_accents", [(False, False), (False, True), (True, True)])
def test_word_piece_spans_spell_their_tokens_on_the_corpus(lowercase, strip_accents):
    tokenizer = BertTokenizer(
        trained_vocabulary(lowercase), lowercase=lowercase, strip_accents=strip_accents
    )
    bert_normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=True,
        strip_accents=strip_accents or lowercase,
        lowercase=lowercase,
    )
    counts = _check_spells(
        tokenizer,
        varied_corpus(),
        lambda text: bert_normalizer.normalize_str(text).strip(),
        "##",
        tokenizer.unk_token_id,
    )
    assert counts["groups"] > 5000 and counts["unknown"] > 0 and counts["empty"] == 0


@pytest.mark.parametrize("lowercase", [False, True])
def test_sentence_piece_spans_spell_their_pieces_on_the_corpus(lowercase):
    tokenizer = AlbertTokenizer(
        sentence_piece.tiny_proto("albert"),
        lowercase=lowercase,
        strip_accents=lowercase,
        normalize_quotes=True,
        special_tokens_in_strings=True,
    )
    processor = tokenizer._require_processor()
    python_side = tokenizer._text_normalizer()

    def normalize(text: str) -> str:
        text = python_side.normalize_str(text) if python_side else text
        return processor.normalize(text).replace("▁", "")

    counts = _check_spells(
        tokenizer, list(sentence_piece.corpus()), normalize, "▁", tokenizer.unk_token_id
    )
    assert counts["groups"] > 3000 and counts["special"] > 0 and counts["empty"] > 0
    assert counts["tokens_in_shared_spans"] > 0 and counts["unknown"] > 0
