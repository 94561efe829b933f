"""Tests of ``textbones/preprocessing/multi_segment_packer.py``."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textbones.preprocessing.multi_segment_packer import MultiSegmentPacker

CLS, SEP, PAD = 101, 102, 0


def packed(packer, inputs, **kwargs):
    token_ids, segment_ids = packer(inputs, **kwargs)
    assert token_ids.dtype == np.int32 and segment_ids.dtype == np.int32
    return token_ids.tolist(), segment_ids.tolist()


# -- handmade cases ---------------------------------------------------------------------


def test_one_segment_batched():
    packer = MultiSegmentPacker(6, start_value=CLS, end_value=SEP)
    assert packed(packer, [[1, 2, 3], [4], [5, 6, 7, 8, 9]]) == (
        [[CLS, 1, 2, 3, SEP, PAD], [CLS, 4, SEP, PAD, PAD, PAD], [CLS, 5, 6, 7, 8, SEP]],
        [[0] * 6] * 3,
    )


def test_two_segments_round_robin_uneven():
    packer = MultiSegmentPacker(8, start_value=CLS, end_value=SEP)
    inputs = ([[1, 2, 3, 4, 5], [1]], [[11, 12, 13], [11, 12, 13, 14, 15, 16]])
    assert packed(packer, inputs) == (
        [[CLS, 1, 2, 3, SEP, 11, 12, SEP], [CLS, 1, SEP, 11, 12, 13, 14, SEP]],
        [[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]],
    )


def test_two_segments_waterfall_uneven():
    packer = MultiSegmentPacker(8, start_value=CLS, end_value=SEP, truncate="waterfall")
    inputs = ([[1, 2, 3, 4, 5], [1]], [[11, 12, 13], [11, 12, 13, 14, 15, 16]])
    assert packed(packer, inputs) == (
        [[CLS, 1, 2, 3, 4, 5, SEP, SEP], [CLS, 1, SEP, 11, 12, 13, 14, SEP]],
        [[0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 1, 1, 1, 1]],
    )


def test_three_segments_round_robin_gives_spare_room_to_longer_segments():
    packer = MultiSegmentPacker(12, start_value=CLS, end_value=SEP)
    # Room for 8 tokens: segment 1 only needs 1, the others share the rest in turn.
    inputs = ([[1, 2, 3, 4, 5, 6]], [[11]], [[21, 22, 23, 24, 25]])
    assert packed(packer, inputs) == (
        [[CLS, 1, 2, 3, 4, SEP, 11, SEP, 21, 22, 23, SEP]],
        [[0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2]],
    )


def test_three_segments_waterfall():
    packer = MultiSegmentPacker(12, start_value=CLS, end_value=SEP, truncate="waterfall")
    inputs = ([[1, 2, 3, 4, 5, 6]], [[11]], [[21, 22, 23, 24, 25]])
    assert packed(packer, inputs) == (
        [[CLS, 1, 2, 3, 4, 5, 6, SEP, 11, SEP, 21, SEP]],
        [[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2]],
    )


def test_left_padding_and_pad_value():
    packer = MultiSegmentPacker(
        7, start_value=CLS, end_value=SEP, pad_value=-1, padding_side="left"
    )
    assert packed(packer, ([[1, 2], [3]], [[4], [5, 6]])) == (
        [[-1, CLS, 1, 2, SEP, 4, SEP], [-1, CLS, 3, SEP, 5, 6, SEP]],
        [[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1, 1]],
    )


def test_list_valued_start_end_and_sep():
    packer = MultiSegmentPacker(
        11, start_value=[1, 1], end_value=[2, 3], sep_value=[4], pad_value=9, padding_side="left"
    )
    inputs = ([[5, 6], [5]], [[10], []], [[20, 21, 22, 23], []])
    assert packed(packer, inputs) == (
        [[1, 1, 5, 6, 4, 10, 4, 20, 21, 2, 3], [9, 9, 9, 9, 1, 1, 5, 4, 4, 2, 3]],
        [[0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2]],
    )


def test_sep_value_defaults_to_end_value_and_list_sep_is_used_between_segments():
    packer = MultiSegmentPacker(8, start_value=CLS, end_value=SEP, sep_value=[SEP, SEP])
    assert packed(packer, ([1, 2, 3, 4], [11, 12, 13, 14])) == (
        [CLS, 1, 2, SEP, SEP, 11, 12, SEP],
        [0, 0, 0, 0, 0, 1, 1, 1],
    )


def test_empty_special_values_add_nothing():
    packer = MultiSegmentPacker(4, start_value=[], end_value=[])
    assert packed(packer, [[3, 4], [5, 6, 7, 8, 9]]) == (
        [[3, 4, 0, 0], [5, 6, 7, 8]],
        [[0] * 4] * 2,
    )


@pytest.mark.parametrize(
    "inputs",
    [
        np.array([7, 8, 9]),
        [7, 8, 9],
        (np.array([7, 8, 9], dtype=np.int64),),
        np.array([7, 8, 9], np.uint16),
    ],
    ids=["array", "list", "tuple-of-one", "uint16"],
)
def test_unbatched_input_gives_one_dimensional_outputs(inputs):
    packer = MultiSegmentPacker(6, start_value=CLS, end_value=SEP)
    assert packed(packer, inputs) == ([CLS, 7, 8, 9, SEP, PAD], [0] * 6)


def test_unbatched_two_segments():
    packer = MultiSegmentPacker(6, start_value=CLS, end_value=SEP)
    assert packed(packer, (np.array([7, 8, 9]), [5])) == (
        [CLS, 7, 8, SEP, 5, SEP],
        [0, 0, 0, 0, 1, 1],
    )


def test_batched_forms_agree():
    packer = MultiSegmentPacker(5, start_value=CLS, end_value=SEP)
    expected = packed(packer, [[1, 2], [3, 4]])
    assert packed(packer, np.array([[1, 2], [3, 4]])) == expected
    assert packed(packer, [np.array([1, 2]), np.array([3, 4])]) == expected
    assert packed(packer, [(1, 2), (3, 4)]) == expected


def test_empty_segments():
    packer = MultiSegmentPacker(5, start_value=CLS, end_value=SEP)
    assert packed(packer, ([[], [1]], [[], []])) == (
        [[CLS, SEP, SEP, PAD, PAD], [CLS, 1, SEP, SEP, PAD]],
        [[0, 0, 1, 0, 0], [0, 0, 0, 1, 0]],
    )
    assert packed(packer, []) == ([CLS, SEP, PAD, PAD, PAD], [0] * 5)
    assert packed(packer, np.zeros((0, 3), dtype=np.int32)) == ([], [])
    token_ids, _ = packer(np.zeros((0, 3), dtype=np.int32))
    assert token_ids.shape == (0, 5)


def test_no_room_for_tokens_keeps_only_special_ids():
    packer = MultiSegmentPacker(3, start_value=CLS, end_value=SEP)
    assert packed(packer, ([[1, 2]], [[3]])) == ([[CLS, SEP, SEP]], [[0, 0, 1]])


def test_call_overrides_length_and_special_values():
    packer = MultiSegmentPacker(6, start_value=CLS, end_value=SEP)
    assert packed(packer, [[1, 2, 3, 4]], sequence_length=4) == ([[CLS, 1, 2, SEP]], [[0] * 4])
    assert packed(packer, [[1, 2, 3, 4]], add_end_value=False) == (
        [[CLS, 1, 2, 3, 4, PAD]],
        [[0] * 6],
    )
    assert packed(packer, [[1, 2, 3]], add_start_value=False, add_end_value=False) == (
        [[1, 2, 3, 0, 0, 0]],
        [[0] * 6],
    )


# -- configuration ----------------------------------------------------------------------


def test_config_round_trip():
    packer = MultiSegmentPacker(
        9,
        start_value=(1, 2),
        end_value=np.int64(3),
        sep_value=[4],
        pad_value=5,
        truncate="waterfall",
        padding_side="left",
    )
    config = packer.get_config()
    assert config == {
        "sequence_length": 9,
        "start_value": [1, 2],
        "end_value": 3,
        "sep_value": [4],
        "pad_value": 5,
        "truncate": "waterfall",
        "padding_side": "left",
    }
    inputs = ([[1, 2, 3, 4, 5, 6]], [[7, 8]])
    clone = MultiSegmentPacker.from_config(config)
    assert packed(clone, inputs) == packed(packer, inputs)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(packer))
    assert isinstance(restored, MultiSegmentPacker) and restored.get_config() == config


def test_keras_hub_config_resolves_to_textbones():
    keras_hub_config = {
        "module": "keras_hub.src.layers.preprocessing.multi_segment_packer",
        "class_name": "MultiSegmentPacker",
        "config": {
            "name": "multi_segment_packer",
            "trainable": True,
            "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "int32"}},
            "sequence_length": 4,
            "start_value": 1,
            "end_value": 2,
            "sep_value": None,
            "pad_value": None,
            "truncate": "round_robin",
            "padding_side": "right",
        },
        "registered_name": "keras_hub>MultiSegmentPacker",
    }
    packer = keras.saving.deserialize_keras_object(keras_hub_config)
    assert isinstance(packer, MultiSegmentPacker)
    assert packed(packer, [5, 6, 7]) == ([1, 5, 6, 2], [0, 0, 0, 0])


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"sequence_length": 1}, ValueError, r"sequence_length=1.*2 ids.*sequence_length >= 2"),
        ({"sequence_length": 0}, ValueError, "positive integer"),
        ({"sequence_length": 4.0}, ValueError, "positive integer"),
        (
            {"sequence_length": 4, "truncate": "longest_first"},
            ValueError,
            "round_robin.*longest_first",
        ),
        ({"sequence_length": 4, "padding_side": "middle"}, ValueError, "left.*middle"),
        ({"sequence_length": 4, "start_value": "[CLS]"}, TypeError, "start_value"),
        ({"sequence_length": 4, "sep_value": [1.5]}, TypeError, "sep_value"),
        ({"sequence_length": 4, "pad_value": "x"}, TypeError, "pad_value"),
        ({"sequence_length": 4, "vocabulary": "x"}, TypeError, "vocabulary"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        MultiSegmentPacker(**{"start_value": CLS, "end_value": SEP, **kwargs})


def test_too_short_for_the_special_tokens_of_several_segments():
    packer = MultiSegmentPacker(4, start_value=[1, 1], end_value=SEP)
    with pytest.raises(
        ValueError,
        match=r"sequence_length=4.*3 segment\(s\).*2 start \+ 2 x 1 separator \+ 1 end = 5",
    ):
        packer(([1], [2], [3]))
    with pytest.raises(ValueError, match=r"sequence_length >= 3"):
        packer([1], sequence_length=2)


def test_bad_inputs():
    packer = MultiSegmentPacker(8, start_value=CLS, end_value=SEP)
    with pytest.raises(ValueError, match=r"same batch size; got batch sizes \[2, 1\]"):
        packer(([[1], [2]], [[3]]))
    with pytest.raises(ValueError, match="all single examples"):
        packer(([[1], [2]], [3]))
    with pytest.raises(TypeError, match="integer token ids; got dtype float64"):
        packer([[1.0, 2.0], [3]])
    with pytest.raises(TypeError, match="integer token ids"):
        packer(np.array([[1.5]]))
    with pytest.raises(TypeError, match="integer token ids"):
        packer(["hello", "world"])
    with pytest.raises(TypeError, match="integer token ids"):
        packer(np.array([True, False]))
    with pytest.raises(ValueError, match="1-D sequence of ids.*Several segments go in a tuple"):
        packer([[[1, 2]], [[3]]])
    with pytest.raises(ValueError, match=r"shape \(1, 1, 2\)"):
        packer(np.zeros((1, 1, 2), dtype=np.int32))
    with pytest.raises(ValueError, match="at least one segment"):
        packer(())


# -- properties -------------------------------------------------------------------------


def _reference_kept_lengths(lengths: list[int], budget: int, truncate: str) -> list[int]:
    """Kept lengths by the plain definitions: deal one token at a time, or fill in order."""
    kept = [0] * len(lengths)
    if truncate == "waterfall":
        for index, length in enumerate(lengths):
            kept[index] = min(length, budget - sum(kept))
        return kept
    while sum(kept) < budget and kept != lengths:
        for index, length in enumerate(lengths):
            if kept[index] < length and sum(kept) < budget:
                kept[index] += 1
    return kept


special_ids = st.one_of(
    st.integers(1000, 1010), st.lists(st.integers(1000, 1010), min_size=0, max_size=2)
)


@st.composite
def packing_cases(draw):
    num_segments = draw(st.integers(1, 3))
    batch_size = draw(st.integers(1, 4))
    segments = tuple(
        [draw(st.lists(st.integers(1, 500), max_size=12)) for _ in range(batch_size)]
        for _ in range(num_segments)
    )
    start, end = draw(special_ids), draw(special_ids)
    sep = draw(st.one_of(st.none(), special_ids))
    num_special = (
        len(np.atleast_1d(start))
        + (num_segments - 1) * len(np.atleast_1d(end if sep is None else sep))
        + len(np.atleast_1d(end))
    )
    sequence_length = draw(st.integers(max(num_special, 1), num_special + 30))
    return {
        "segments": segments,
        "sequence_length": sequence_length,
        "start_value": start,
        "end_value": end,
        "sep_value": sep,
        "pad_value": draw(st.sampled_from([None, -7])),
        "truncate": draw(st.sampled_from(["round_robin", "waterfall"])),
        "padding_side": draw(st.sampled_from(["right", "left"])),
    }


@settings(max_examples=150, deadline=None)
@given(packing_cases())
def test_packing_properties(case):
    segments = case.pop("segments")
    packer = MultiSegmentPacker(**case)
    token_ids, segment_ids = packer(segments)
    length = case["sequence_length"]
    assert token_ids.shape == segment_ids.shape == (len(segments[0]), length)

    def as_list(value):
        return [value] if isinstance(value, int) else list(value)

    start, end = as_list(case["start_value"]), as_list(case["end_value"])
    sep = end if case["sep_value"] is None else as_list(case["sep_value"])
    pad = 0 if case["pad_value"] is None else case["pad_value"]
    num_special = len(start) + (len(segments) - 1) * len(sep) + len(end)

    for row in range(len(segments[0])):
        lengths = [len(segment[row]) for segment in segments]
        kept = _reference_kept_lengths(lengths, length - num_special, case["truncate"])
        if case["truncate"] == "round_robin":
            truncated = [k for k, n in zip(kept, lengths) if k < n]
            assert max(truncated, default=0) - min(truncated, default=0) <= 1
        expected_ids, expected_segments = list(start), [0] * len(start)
        for index, segment in enumerate(segments):
            delimiter = end if index == len(segments) - 1 else sep
            content = segment[row][: kept[index]]
            assert content == segment[row][: len(content)]  # a prefix of the input
            expected_ids += content + delimiter
            expected_segments += [index] * (len(content) + len(delimiter))
        padding = length - len(expected_ids)
        assert padding >= 0
        if case["padding_side"] == "right":
            expected_ids, expected_segments = (
                expected_ids + [pad] * padding,
                expected_segments + [0] * padding,
            )
        else:
            expected_ids, expected_segments = (
                [pad] * padding + expected_ids,
                [0] * padding + expected_segments,
            )
        assert token_ids[row].tolist() == expected_ids
        assert segment_ids[row].tolist() == expected_segments


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=4),
    st.integers(0, 60),
)
def test_round_robin_shares_room_evenly(lengths, budget):
    packer = MultiSegmentPacker(
        budget + len(lengths) + 1, start_value=CLS, end_value=SEP, sep_value=SEP
    )
    segments = tuple(np.arange(1, n + 1)[None, :] for n in lengths)
    token_ids, segment_ids = packer(segments)
    content = ~np.isin(token_ids[0], [CLS, SEP, PAD])
    kept = [int(np.sum(content & (segment_ids[0] == index))) for index in range(len(lengths))]
    assert kept == _reference_kept_lengths(lengths, budget, "round_robin")
    assert sum(kept) == min(budget, sum(lengths))
    truncated = [k for k, n in zip(kept, lengths) if k < n]
    assert max(truncated, default=0) - min(truncated, default=0) <= 1
    if truncated:  # a segment kept whole is at most one token longer than a truncated one
        assert all(n <= min(truncated) + 1 for k, n in zip(kept, lengths) if k == n)


# -- token strings (a tokenizer with dtype="string"), as KerasHub 0.32 packs them --------


def test_token_strings_with_string_special_values():
    packer = MultiSegmentPacker(8, start_value="[CLS]", end_value="[SEP]")
    token_ids, segment_ids = packer(([["a", "b", "c"], ["x"]], [["d", "e"], ["y", "z"]]))
    assert token_ids == [
        ["[CLS]", "a", "b", "c", "[SEP]", "d", "e", "[SEP]"],
        ["[CLS]", "x", "[SEP]", "y", "z", "[SEP]", "", ""],
    ]
    assert segment_ids.dtype == np.int32
    assert segment_ids.tolist() == [[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1, 0, 0]]
    single, single_segments = packer((["a"], ["b"]))
    assert single == ["[CLS]", "a", "[SEP]", "b", "[SEP]", "", "", ""]
    assert single_segments.tolist() == [0, 0, 0, 1, 1, 0, 0, 0]


def test_token_strings_with_pad_sep_truncation_and_left_padding():
    packer = MultiSegmentPacker(
        9, start_value=["<s>"], end_value="</s>", sep_value=["</s>", "</s>"], pad_value="<pad>"
    )
    assert packer(([["a"]], [["b"]]))[0] == [
        ["<s>", "a", "</s>", "</s>", "b", "</s>", "<pad>", "<pad>", "<pad>"]
    ]
    waterfall = MultiSegmentPacker(6, start_value="[CLS]", end_value="[SEP]", truncate="waterfall")
    assert waterfall((["a", "b", "c", "d"], ["e", "f"]))[0] == [
        "[CLS]",
        "a",
        "b",
        "c",
        "[SEP]",
        "[SEP]",
    ]
    left = MultiSegmentPacker(6, start_value="[CLS]", end_value="[SEP]", padding_side="left")
    assert left(np.array([["a", "b"], ["c", "d"]]))[0] == [
        ["", "", "[CLS]", "a", "b", "[SEP]"],
        ["", "", "[CLS]", "c", "d", "[SEP]"],
    ]
    assert left([[], []])[0] == [["", "", "", "", "[CLS]", "[SEP]"]] * 2
    config = MultiSegmentPacker(
        6, start_value="[CLS]", end_value=["[SEP]"], pad_value="[PAD]"
    ).get_config()
    assert (config["start_value"], config["end_value"], config["pad_value"]) == (
        "[CLS]",
        ["[SEP]"],
        "[PAD]",
    )
    assert MultiSegmentPacker.from_config(config)(["a"])[0] == [
        "[CLS]",
        "a",
        "[SEP]",
        "[PAD]",
        "[PAD]",
        "[PAD]",
    ]


def test_strings_and_ids_do_not_mix():
    with pytest.raises(TypeError, match="mix integer ids and token strings"):
        MultiSegmentPacker(6, start_value="[CLS]", end_value=2)
    with pytest.raises(TypeError, match=r"holds 5 among token strings"):
        MultiSegmentPacker(6, start_value="[CLS]", end_value="[SEP]")([5, 6])
    with pytest.raises(
        TypeError, match=r"must hold integer token ids; got dtype <U1.*string special values"
    ):
        MultiSegmentPacker(6, start_value=1, end_value=2)(["a", "b"])
    with pytest.raises(
        TypeError, match="`pad_value` must be an integer id, a token string or None"
    ):
        MultiSegmentPacker(6, start_value=1, end_value=2, pad_value=1.5)
