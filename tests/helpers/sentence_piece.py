"""A hard text corpus and tiny SentencePiece models trained on it, shared by the tokenizer tests.

The models are trained once per process (``functools.cache``) in well under a second.
Fixtures wrapping them live in ``tests/preprocessing/conftest.py``; tests elsewhere (the
model families, the parity tests) call these functions directly, as pytest only shares a
conftest's fixtures with the tests below it.
"""

import functools
import random

from textbones.preprocessing.sentence_piece_vocabulary import (
    compute_sentence_piece_proto,
)

# Texts written for these tests: every kind of character a tokenizer trips on.
_HAND_WRITTEN = [
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX! the quick brown fox? ThE qUiCk BrOwN fOx...",
    "Café, naïve, résumé, Zoë, Ångström, façade, jalapeño, über, œuvre.",
    "Cafe\u0301 with a combining accent, and ﬁne ﬂoor ligatures.",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ and ① ② ③ and ½ ¼.",
    "日本語のテキストと漢字、そして中文句子。",
    "한국어 문장도 있습니다.",
    "Привет, мир! Ελληνικά γράμματα. עברית ועוד. مرحبا بالعالم.",
    "हिन्दी पाठ और ไทยภาษา",
    "Punctuation: ()[]{}<>«»“”‘’—–-…!?¡¿;:,./\\|@#$%^&*_+=~`'\"",
    "Emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ and ✨ stars.",
    "Control chars: tab\there, bell\x07, escape\x1b[0m, nul\x00end, del\x7f.",
    "Zero\u200bwidth\u200cjoin\u200dand\ufeffbom and soft\u00adhyphen.",
    "Line one\nline two\r\nline three\u2028separator\u2029paragraph.",
    "A [MASK] in the text, and [CLS] and [SEP] typed by hand, also <pad> and <unk>.",
    "[MASK][MASK] [mask] [ MASK ] MASK",
    "",
    " ",
    "   \t\n  ",
    "x",
    "supercalifragilisticexpialidocious" * 40,
    "a" * 3000,
    "日" * 500,
    "😀" * 300,
    "numbers 0 1 2 3 3.14159 1,000,000 -42 1e-9 0x1F 2024-01-31",
    "URLs like https://example.com/path?query=1&x=y#frag and me@example.org",
    "  leading and trailing spaces  ",
    "multiple     spaces\u00a0and\u3000ideographic space",
    "Mixed日本English中文Русский123😀end",
    "Tabs\tand\tmore\ttabs",
    "\u0301 a string that starts with a combining mark",
    "private use \ue000\uf8ff and unassigned \U000e0001 tag \U0010fffd",
]

_WORDS = (
    "the of and to in is was for on that with as by at from it his an were are which this be "
    "or has had one their new after but who not they have her she two been other when there "
    "all during into school time may years more most only over city some world would where "
    "Paris London river music family season game team party film war album village naïve "
    "café über 東京 北京 서울 Москва Αθήνα 😀 🎉 [MASK] don't e-mail well-known 2024 3.14"
).split()


@functools.cache
def training_corpus() -> tuple[str, ...]:
    """Sentences the tiny models are trained on (seeded, so every run trains the same models)."""
    rng = random.Random(1234)
    sentences = [text for text in _HAND_WRITTEN if text.strip()]
    for _ in range(400):
        words = rng.choices(_WORDS, k=rng.randint(3, 25))
        sentence = " ".join(words)
        sentences.append(sentence.capitalize() + rng.choice([".", "!", "?", ",", ""]))
    return tuple(sentences)


@functools.cache
def corpus() -> tuple[str, ...]:
    """The texts whose ids are compared: the hand-written ones plus unseen random mixtures."""
    rng = random.Random(99)
    alphabet = "".join(_HAND_WRITTEN)
    mixtures = []
    for _ in range(200):
        pieces = [rng.choice(_WORDS) for _ in range(rng.randint(0, 12))]
        noise = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        mixtures.append(" ".join(pieces) + noise)
    return tuple(_HAND_WRITTEN) + tuple(mixtures)


# Trainer settings of each layout; `hard_vocab_limit=False` lets the tiny corpus stop short.
LAYOUTS = {
    # The published ALBERT model's layout: <pad> 0, <unk> 1, control [CLS] 2, [SEP] 3, [MASK] 4.
    "albert": dict(
        bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"], lowercase=True
    ),
    # KerasHub's documented recipe: [CLS]/[SEP] as bos/eos, [MASK] kept whole in text.
    "user_defined_mask": dict(
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        pad_piece="<pad>",
        unk_piece="<unk>",
        user_defined_symbols=["[MASK]"],
    ),
    # Cased BPE with the pad piece away from id 0.
    "bpe_pad_last": dict(
        model_type="bpe",
        pad_id=4,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
    ),
    # No [MASK] at all: a model the ALBERT and FNet tokenizers must refuse.
    "no_mask": dict(bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]"]),
}


@functools.cache
def tiny_proto(layout: str = "albert") -> bytes:
    """A small SentencePiece model (about 400 pieces) of one of the ``LAYOUTS``."""
    return compute_sentence_piece_proto(
        list(training_corpus()),
        vocabulary_size=400,
        hard_vocab_limit=False,
        **LAYOUTS[layout],
    )
