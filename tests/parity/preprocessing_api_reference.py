"""KerasHub 0.32 and textbones side by side on the preprocessing API of issue 12.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub``. ``tests/parity/conftest.py`` keeps it out of the main suite's collection;
``test_preprocessing_api_parity.py`` runs it as one subprocess. The repository holding this
script goes first on ``sys.path``, so its own ``textbones`` is the one compared.

Every case calls the same thing on both libraries, eagerly, on NumPy/Python input, with the
same vocabulary or SentencePiece model, and compares the outputs' *structure* (Python list
or array, dtype, shape, the Python type of list items) and values:

* ``tokenizers``: ``WordPieceTokenizer``, ``SentencePieceTokenizer`` and every registered
  family's tokenizer (``BertTokenizer``, ...) with ``dtype`` int32 and ``"string"``, with and
  without ``sequence_length``, on one string, a list, a tuple and a NumPy array of strings;
  ``detokenize`` of ids and of pieces;
* ``split_false``: ``WordPieceTokenizer(split=False)`` on words, lists of words, batches;
* ``packer_strings``: ``MultiSegmentPacker`` on token strings with string special values;
* ``start_end_packer``: ``StartEndPacker`` on ids and strings, one row and batches;
* ``mask_generator``: ``MaskedLMMaskGenerator`` on ragged and dense rows with
  ``mask_selection_length`` None, 0 and positive: exact values where no random choice
  matters (every token selected, all masked, no cap reached), otherwise structure and
  invariants (the two libraries draw different random numbers).

Where textbones departs from KerasHub on purpose the case is listed in ``DEVIATIONS``
and checked to still differ as described, so a change on either side is noticed.
The last line of stdout is a JSON summary.
"""

import json
import os
import pathlib
import sys
import warnings

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
# Not "numpy": under that backend KerasHub reads NumPy string arrays as tensors and fails.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from reference_shared import stderr_silenced  # noqa: E402

with stderr_silenced():
    import keras_hub

import textbones  # noqa: E402
from tests.helpers.sentence_piece import tiny_proto  # noqa: E402

assert pathlib.Path(textbones.__file__).resolve().is_relative_to(REPO), textbones.__file__

WORD_PIECE_VOCABULARY = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "qu",
    "##ick",
    "fox",
    ".",
    "Fox",
    "brown",
    "un",
    "##aff",
    "##able",
]
TEXTS = ["the quick fox.", "fox", "", "unaffable brown Fox zzz"]
PIECE_TEXTS = ["the quick brown fox.", "the lazy dog", "", "東京 😀"]

#: Cases where textbones differs on purpose, with the reason (also in the report).
DEVIATIONS = {
    "empty batch with sequence_length": "KerasHub gives shape (0,); textbones (0, sequence_length)",
    "SentencePiece strings padded": "KerasHub pads string rows with the int 0; textbones with ''",
    "SentencePiece detokenize of one row of pieces": (
        "KerasHub decodes each piece as a row of characters"
    ),
    "StartEndPacker sequence_length too short": (
        "KerasHub returns rows longer than sequence_length; textbones raises"
    ),
}


def describe(value):
    """A JSON-able picture of an output: containers, dtypes, shapes and values."""
    if isinstance(value, dict):
        return {"dict": {key: describe(item) for key, item in sorted(value.items())}}
    if isinstance(value, tuple):
        return {"tuple": [describe(item) for item in value]}
    if isinstance(value, list):
        return {"list": [describe(item) for item in value]}
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        array = np.asarray(value)
        return {"array": str(array.dtype), "shape": list(array.shape), "values": array.tolist()}
    return {type(value).__name__: value}


def outcome(call):
    try:
        return describe(call())
    except Exception as error:  # noqa: BLE001 - an error is an outcome to compare
        return {"error": type(error).__name__}


class Comparison:
    def __init__(self):
        self.compared = {}
        self.mismatches = []
        self.deviations = {}

    def same(self, topic, name, keras_hub_call, textbones_call):
        expected, got = outcome(keras_hub_call), outcome(textbones_call)
        self.compared[topic] = self.compared.get(topic, 0) + 1
        if "error" in expected and "error" in got:
            return
        if expected != got:
            self.mismatches.append(
                {"topic": topic, "case": name, "keras_hub": expected, "textbones": got}
            )

    def differs(self, deviation, keras_hub_call, textbones_call, check):
        """A known deviation: both sides run, and ``check(keras_hub, textbones)`` holds."""
        expected, got = outcome(keras_hub_call), outcome(textbones_call)
        assert check(expected, got), (deviation, expected, got)
        self.deviations[deviation] = DEVIATIONS[deviation]


def compare_tokenizers(result: Comparison) -> None:
    proto = tiny_proto("albert")
    # The two generic tokenizers, then every registered family's, on the asset of its kind.
    families = [
        (
            "WordPieceTokenizer",
            keras_hub.tokenizers.WordPieceTokenizer,
            textbones.tokenizers.WordPieceTokenizer,
            WORD_PIECE_VOCABULARY,
            TEXTS,
        ),
        (
            "SentencePieceTokenizer",
            keras_hub.tokenizers.SentencePieceTokenizer,
            textbones.tokenizers.SentencePieceTokenizer,
            proto,
            PIECE_TEXTS,
        ),
    ]
    for family in textbones.registry.families():
        name = family.tokenizer.__name__
        word_piece = issubclass(family.tokenizer, textbones.tokenizers.WordPieceTokenizer)
        families.append(
            (
                name,
                getattr(keras_hub.models, name),
                family.tokenizer,
                WORD_PIECE_VOCABULARY if word_piece else proto,
                TEXTS if word_piece else PIECE_TEXTS,
            )
        )
    for family, hub_cls, ours_cls, asset, texts in families:
        pieces = not issubclass(ours_cls, textbones.tokenizers.WordPieceTokenizer)
        for dtype in ("int32", "string"):
            for length in (None, 6):
                hub, ours = (
                    hub_cls(asset, sequence_length=length, dtype=dtype),
                    ours_cls(asset, sequence_length=length, dtype=dtype),
                )
                name = f"{family} dtype={dtype} sequence_length={length}"
                inputs = {
                    "one string": texts[0],
                    "empty string": "",
                    "list": list(texts),
                    "tuple": tuple(texts),
                    "array": np.array(texts),
                    "bytes": [text.encode() for text in texts],
                }
                for kind, value in inputs.items():
                    if pieces and dtype == "string" and length:
                        # KerasHub pads string rows with the int 0 here; compare the rest.
                        result.differs(
                            "SentencePiece strings padded",
                            lambda: hub(value),
                            lambda: ours(value),
                            lambda e, g: (
                                _strip_padding(e, {"int": 0}) == _strip_padding(g, {"str": ""})
                            ),
                        )
                        continue
                    result.same(
                        "tokenizers", f"{name} {kind}", lambda: hub(value), lambda: ours(value)
                    )
                if length and dtype == "int32":
                    result.differs(
                        "empty batch with sequence_length",
                        lambda: hub([]),
                        lambda: ours([]),
                        lambda e, g: e["shape"] == [0] and g["shape"] == [0, length],
                    )
                else:
                    result.same(
                        "tokenizers", f"{name} empty batch", lambda: hub([]), lambda: ours([])
                    )
                ids = [[5, 6, 7], [8], []]
                for kind, value in {
                    "ids batch": ids,
                    "ids row": ids[0],
                    "ids array": np.array([[5, 6], [8, 9]]),
                    "one id": 5,
                    "empty row": [],
                }.items():
                    result.same(
                        "tokenizers",
                        f"{name} detokenize {kind}",
                        lambda: hub.detokenize(value),
                        lambda: ours.detokenize(value),
                    )
            if pieces:
                hub, ours = hub_cls(asset, dtype="string"), ours_cls(asset, dtype="string")
                batch = ours(texts)
                result.same(
                    "tokenizers",
                    f"{family} detokenize pieces batch",
                    lambda: hub.detokenize(batch),
                    lambda: ours.detokenize(batch),
                )
                result.differs(
                    "SentencePiece detokenize of one row of pieces",
                    lambda: hub.detokenize(batch[0]),
                    lambda: ours.detokenize(batch[0]),
                    lambda e, g: "list" in e and g == {"str": texts[0]},
                )


def _strip_padding(described, pad):
    if "list" not in described:
        return described
    rows = described["list"]
    if rows and "list" in rows[0]:
        return [[item for item in row["list"] if item != pad] for row in rows]
    return [item for item in rows if item != pad]


def compare_split_false(result: Comparison) -> None:
    inputs = {
        "one word": "quick",
        "words": ["quick", "the"],
        "batch": [["quick", "the"], ["fox"]],
        "array row": np.array(["quick", "fox"]),
        "array batch": np.array([["quick", "fox"], ["the", "the"]]),
        "a word with a space": ["the quick"],
        "tuple row": ("fox",),
        "batch of tuples": [("fox",), ["the"]],
        "empty batch row": [[]],
        "cased": ["Fox"],
        "punctuation": ["fox."],
    }
    for dtype in ("int32", "string"):
        for length in (None, 5):
            hub = keras_hub.tokenizers.WordPieceTokenizer(
                WORD_PIECE_VOCABULARY, split=False, sequence_length=length, dtype=dtype
            )
            ours = textbones.tokenizers.WordPieceTokenizer(
                WORD_PIECE_VOCABULARY, split=False, sequence_length=length, dtype=dtype
            )
            for kind, value in inputs.items():
                result.same(
                    "split_false",
                    f"dtype={dtype} sequence_length={length} {kind}",
                    lambda: hub(value),
                    lambda: ours(value),
                )
    hub = keras_hub.tokenizers.WordPieceTokenizer(
        WORD_PIECE_VOCABULARY, split=False, lowercase=True
    )
    ours = textbones.tokenizers.WordPieceTokenizer(
        WORD_PIECE_VOCABULARY, split=False, lowercase=True
    )
    result.same(
        "split_false", "lowercase", lambda: hub(["FOX", "The"]), lambda: ours(["FOX", "The"])
    )


def compare_packer_strings(result: Comparison) -> None:
    cases = [
        (
            dict(sequence_length=8, start_value="[CLS]", end_value="[SEP]"),
            (["a", "b", "c"], ["d", "e"]),
            {},
        ),
        (
            dict(sequence_length=8, start_value="[CLS]", end_value="[SEP]"),
            ([["a", "b", "c"], ["x"]], [["d", "e"], ["y", "z"]]),
            {},
        ),
        (
            dict(sequence_length=8, start_value="[CLS]", end_value="[SEP]", pad_value="[PAD]"),
            [["a"], ["x", "y"]],
            {},
        ),
        (
            dict(
                sequence_length=9,
                start_value=["<s>"],
                end_value="</s>",
                sep_value=["</s>", "</s>"],
                pad_value="<pad>",
            ),
            ([["a"]], [["b"]]),
            {},
        ),
        (
            dict(sequence_length=6, start_value="[CLS]", end_value="[SEP]", padding_side="left"),
            ["a", "b"],
            {},
        ),
        (
            dict(sequence_length=6, start_value="[CLS]", end_value="[SEP]"),
            (["a", "b", "c", "d"], ["e", "f", "g"]),
            {},
        ),
        (
            dict(sequence_length=6, start_value="[CLS]", end_value="[SEP]", truncate="waterfall"),
            (["a", "b", "c", "d"], ["e", "f", "g"]),
            {},
        ),
        (
            dict(sequence_length=6, start_value="[CLS]", end_value="[SEP]"),
            ["a", "b"],
            dict(add_start_value=False, sequence_length=5),
        ),
        (
            dict(sequence_length=6, start_value="[CLS]", end_value="[SEP]"),
            np.array([["a", "b"], ["c", "d"]]),
            {},
        ),
        (dict(sequence_length=6, start_value="[CLS]", end_value="[SEP]"), [[], []], {}),
        (dict(sequence_length=4, start_value=[], end_value=[]), [["a"], ["b", "c"]], {}),
    ]
    for index, (config, inputs, call) in enumerate(cases):
        hub, ours = (
            keras_hub.layers.MultiSegmentPacker(**config),
            textbones.layers.MultiSegmentPacker(**config),
        )
        result.same(
            "packer_strings",
            f"case {index}",
            lambda: hub(inputs, **call),
            lambda: ours(inputs, **call),
        )
    # The pipeline of the issue: string tokens from a tokenizer, packed with its special tokens.
    hub_tokens = keras_hub.models.BertTokenizer(WORD_PIECE_VOCABULARY, dtype="string")(TEXTS)
    ours_tokens = textbones.models.BertTokenizer(WORD_PIECE_VOCABULARY, dtype="string")(TEXTS)
    config = dict(sequence_length=10, start_value="[CLS]", end_value="[SEP]", pad_value="[PAD]")
    result.same(
        "packer_strings",
        "tokenizer then packer",
        lambda: keras_hub.layers.MultiSegmentPacker(**config)((hub_tokens, hub_tokens[::-1])),
        lambda: textbones.layers.MultiSegmentPacker(**config)((ours_tokens, ours_tokens[::-1])),
    )


def compare_start_end_packer(result: Comparison) -> None:
    cases = [
        (dict(sequence_length=6, start_value=1, end_value=2), [5, 6, 7], {}),
        (dict(sequence_length=6, start_value=1, end_value=2), [[5, 6, 7], [8]], {}),
        (dict(sequence_length=4, start_value=1, end_value=2), [[5, 6, 7], [8]], {}),
        (dict(sequence_length=6, start_value=1, end_value=2), np.array([[5, 6], [7, 8]]), {}),
        (
            dict(sequence_length=6, start_value=1, end_value=2, return_padding_mask=True),
            [[5, 6, 7], [8]],
            {},
        ),
        (dict(sequence_length=6, start_value=1, end_value=2, return_padding_mask=True), [5], {}),
        (dict(sequence_length=6, start_value="<s>", end_value="</s>"), [["a", "b"], ["c"]], {}),
        (
            dict(
                sequence_length=6,
                start_value="<s>",
                end_value="</s>",
                pad_value="<pad>",
                return_padding_mask=True,
            ),
            ["a", "b"],
            {},
        ),
        (dict(sequence_length=4), [[5, 6, 7, 8, 9], [1]], {}),
        (
            dict(sequence_length=7, start_value=[1, 1], end_value=[2, 3], pad_value=9),
            [[5], [6, 7]],
            {},
        ),
        (
            dict(sequence_length=6, start_value=1, end_value=2),
            [[5, 6, 7], [8]],
            dict(sequence_length=4, add_start_value=False),
        ),
        (
            dict(sequence_length=6, start_value=1, end_value=2),
            [[5, 6, 7, 8, 9, 10]],
            dict(add_end_value=False),
        ),
        (
            dict(
                sequence_length=6,
                start_value=1,
                end_value=2,
                padding_side="left",
                return_padding_mask=True,
            ),
            [[5], [6, 7]],
            {},
        ),
        (dict(sequence_length=4, start_value=1, end_value=2), [], {}),
        (dict(sequence_length=4, start_value=1, end_value=2), [[], []], {}),
        (
            dict(
                sequence_length=5,
                start_value=["<s>", "<t>"],
                end_value="</s>",
                padding_side="left",
                return_padding_mask=True,
            ),
            [["a", "b", "c", "d"], ["x"]],
            {},
        ),
        (dict(sequence_length=5, start_value="<s>"), np.array([["a", "b"], ["c", "d"]]), {}),
        (dict(sequence_length=4, start_value=1.5), None, None),
    ]
    for index, (config, inputs, call) in enumerate(cases):
        if call is None:  # a constructor error on both sides
            result.same(
                "start_end_packer",
                f"case {index}",
                lambda: keras_hub.layers.StartEndPacker(**config),
                lambda: textbones.layers.StartEndPacker(**config),
            )
            continue
        hub, ours = (
            keras_hub.layers.StartEndPacker(**config),
            textbones.layers.StartEndPacker(**config),
        )
        result.same(
            "start_end_packer",
            f"case {index}",
            lambda: hub(inputs, **call),
            lambda: ours(inputs, **call),
        )
        hub_config = {
            k: v for k, v in hub.get_config().items() if k not in ("name", "trainable", "dtype")
        }
        round_trip = textbones.layers.StartEndPacker.from_config(hub.get_config())
        ours_config = {k: v for k, v in round_trip.get_config().items() if k != "name"}
        assert json.loads(json.dumps(hub_config)) == ours_config, (hub_config, ours_config)
    config = dict(sequence_length=1, start_value=[1, 1], end_value=2)
    result.differs(
        "StartEndPacker sequence_length too short",
        lambda: keras_hub.layers.StartEndPacker(**config)([5]),
        lambda: textbones.layers.StartEndPacker(**config)([5]),
        lambda e, g: e["shape"] == [3] and g == {"error": "ValueError"},
    )


def _structure(described):
    """``describe`` output without the values: containers, dtypes, shapes, item types."""
    if "dict" in described:
        return {key: _structure(item) for key, item in described["dict"].items()}
    if "list" in described:
        return ["list", [_structure(item) for item in described["list"]]]
    if "array" in described:
        return ["array", described["array"], described["shape"]]
    return next(iter(described))


def compare_mask_generator(result: Comparison) -> dict:
    rng = np.random.default_rng(7)
    exact = dict(
        vocabulary_size=30,
        mask_selection_rate=1.0,
        mask_token_id=4,
        unselectable_token_ids=[0, 2, 3],
        mask_token_rate=1.0,
        random_token_rate=0.0,
    )
    inputs = {
        "ragged": [[2, 5, 6, 7, 3], [2, 8, 3], [2, 9, 10, 3]],
        "dense": np.array([[2, 5, 6, 3, 0], [2, 8, 3, 0, 0]]),
        "equal selections": [[2, 5, 3], [2, 6, 3, 0]],
        "one row": [2, 5, 6, 7, 3],
        "an empty row": [[], [2, 5, 3]],
    }
    for length in (None, 0, 3, 8):
        hub = keras_hub.layers.MaskedLMMaskGenerator(**exact, mask_selection_length=length)
        ours = textbones.layers.MaskedLMMaskGenerator(**exact, mask_selection_length=length)
        for kind, value in inputs.items():
            if length == 3 and kind == "ragged":
                continue  # a row with more selections than the cap: a random subset
            result.same(
                "mask_generator",
                f"exact mask_selection_length={length} {kind}",
                lambda: hub(value),
                lambda: ours(value),
            )
    # Random cases: the same structure, and KerasHub's and textbones' outputs both hold the
    # invariants.
    invariants_checked = 0
    for trial in range(40):
        length = [None, 0, 4][trial % 3]
        config = dict(
            vocabulary_size=30,
            mask_selection_rate=float(rng.uniform(0.2, 0.9)),
            mask_token_id=4,
            unselectable_token_ids=[0],
            mask_selection_length=length,
        )
        rows = [
            rng.integers(5, 30, size=int(n)).tolist()
            for n in rng.integers(1, 9, size=int(rng.integers(1, 5)))
        ]
        dense = trial % 2 == 1
        if dense:
            width = max(len(row) for row in rows)
            rows = np.array([row + [0] * (width - len(row)) for row in rows])
        hub_out = keras_hub.layers.MaskedLMMaskGenerator(**config)(rows)
        ours_out = textbones.layers.MaskedLMMaskGenerator(**config, seed=trial)(rows)
        for out in (hub_out, ours_out):
            _check_mask_invariants(rows, out, length)
            invariants_checked += 1
        hub_shape, ours_shape = _structure(describe(hub_out)), _structure(describe(ours_out))
        result.compared["mask_generator"] += 1
        if length is None:
            # The number of selections per row is random, and with it whether the masks are
            # ragged (lists) or not (arrays); the token ids and the dtypes still agree.
            hub_shape.pop("mask_positions"), ours_shape.pop("mask_positions")
            (
                hub_shape.pop("mask_ids"),
                ours_shape.pop("mask_ids"),
                hub_shape.pop("mask_weights"),
                ours_shape.pop("mask_weights"),
            )
        if hub_shape != ours_shape:
            result.mismatches.append(
                {
                    "topic": "mask_generator",
                    "case": f"random {trial}",
                    "keras_hub": hub_shape,
                    "textbones": ours_shape,
                }
            )
    return {"invariants_checked": invariants_checked}


def _check_mask_invariants(rows, out, length):
    rows = [list(row) for row in (rows.tolist() if isinstance(rows, np.ndarray) else rows)]
    token_ids = (
        [list(row) for row in np.asarray(out["token_ids"]).tolist()]
        if not isinstance(out["token_ids"], list)
        else out["token_ids"]
    )
    positions, ids, weights = (out[name] for name in ("mask_positions", "mask_ids", "mask_weights"))
    positions, ids, weights = (
        [list(r) for r in (np.asarray(v).tolist() if not isinstance(v, list) else v)]
        for v in (positions, ids, weights)
    )
    assert [len(row) for row in token_ids] == [len(row) for row in rows]
    for row, masked, where, originals, weight in zip(rows, token_ids, positions, ids, weights):
        if length is not None:
            assert len(where) == len(originals) == len(weight) == length
        count = int(sum(weight))
        assert weight == [1.0] * count + [0.0] * (len(weight) - count)
        assert where[:count] == sorted(set(where[:count]))
        assert originals[:count] == [row[p] for p in where[:count]]
        assert all(row[p] != 0 for p in where[:count])
        untouched = set(range(len(row))) - set(where[:count])
        assert all(masked[p] == row[p] for p in untouched)


def main() -> dict:
    result = Comparison()
    compare_tokenizers(result)
    compare_split_false(result)
    compare_packer_strings(result)
    compare_start_end_packer(result)
    extra = compare_mask_generator(result)
    for mismatch in result.mismatches:
        print("MISMATCH", json.dumps(mismatch), file=sys.stderr)
    assert not result.mismatches, (
        f"{len(result.mismatches)} case(s) differ from KerasHub (see stderr)"
    )
    return {
        "keras_hub": keras_hub.__version__,
        "compared": result.compared,
        "mismatches": len(result.mismatches),
        "deviations": result.deviations,
        **extra,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
