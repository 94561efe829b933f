"""Tests of ``textbones/preprocessing/start_end_packer.py``."""

import keras
import numpy as np
import pytest

import textbones
from textbones.preprocessing.start_end_packer import StartEndPacker


def test_ids_batch_and_single_row():
    packer = StartEndPacker(6, start_value=1, end_value=2)
    batch = packer([[5, 6, 7], [8]])
    assert isinstance(batch, np.ndarray) and batch.dtype == np.int32
    assert batch.tolist() == [[1, 5, 6, 7, 2, 0], [1, 8, 2, 0, 0, 0]]
    single = packer([5, 6, 7])
    assert single.shape == (6,) and single.tolist() == [1, 5, 6, 7, 2, 0]
    assert packer(np.array([[5, 6], [7, 8]])).tolist() == [[1, 5, 6, 2, 0, 0], [1, 7, 8, 2, 0, 0]]
    assert packer([]).tolist() == [1, 2, 0, 0, 0, 0]
    assert packer([[], []]).tolist() == [[1, 2, 0, 0, 0, 0]] * 2


def test_truncation_keeps_the_start_and_end_values():
    assert StartEndPacker(4, start_value=1, end_value=2)([[5, 6, 7], [8]]).tolist() == [
        [1, 5, 6, 2],
        [1, 8, 2, 0],
    ]
    packer = StartEndPacker(7, start_value=[1, 1], end_value=[2, 3], pad_value=9)
    assert packer([[5], [6, 7]]).tolist() == [[1, 1, 5, 2, 3, 9, 9], [1, 1, 6, 7, 2, 3, 9]]
    assert StartEndPacker(4)([[5, 6, 7, 8, 9], [1]]).tolist() == [[5, 6, 7, 8], [1, 0, 0, 0]]


def test_call_arguments():
    packer = StartEndPacker(6, start_value=1, end_value=2)
    assert packer([[5, 6, 7], [8]], sequence_length=4, add_start_value=False).tolist() == [
        [5, 6, 7, 2],
        [8, 2, 0, 0],
    ]
    assert packer([[5, 6, 7, 8, 9, 10]], add_end_value=False).tolist() == [[1, 5, 6, 7, 8, 9]]
    assert packer([3] * 9, add_start_value=False, add_end_value=False).tolist() == [3] * 6


def test_padding_mask_and_left_padding():
    packer = StartEndPacker(6, start_value=1, end_value=2, return_padding_mask=True)
    ids, mask = packer([[5, 6, 7], [8]])
    assert ids.tolist() == [[1, 5, 6, 7, 2, 0], [1, 8, 2, 0, 0, 0]]
    assert mask.dtype == bool and mask.tolist() == [[True] * 5 + [False], [True] * 3 + [False] * 3]
    left = StartEndPacker(
        6, start_value=1, end_value=2, padding_side="left", return_padding_mask=True
    )
    ids, mask = left([[5], [6, 7]])
    assert ids.tolist() == [[0, 0, 0, 1, 5, 2], [0, 0, 1, 6, 7, 2]]
    assert mask.tolist() == [[False] * 3 + [True] * 3, [False] * 2 + [True] * 4]
    ids, mask = packer([5])
    assert ids.shape == mask.shape == (6,)


def test_token_strings():
    packer = StartEndPacker(6, start_value="<s>", end_value="</s>")
    assert packer([["a", "b"], ["c"]]) == [
        ["<s>", "a", "b", "</s>", "", ""],
        ["<s>", "c", "</s>", "", "", ""],
    ]
    padded = StartEndPacker(
        6, start_value="<s>", end_value="</s>", pad_value="<pad>", return_padding_mask=True
    )
    tokens, mask = padded(["a", "b"])
    assert tokens == ["<s>", "a", "b", "</s>", "<pad>", "<pad>"]
    assert mask.tolist() == [True] * 4 + [False] * 2
    assert StartEndPacker(3, start_value="<s>")([[], []]) == [["<s>", "", ""]] * 2
    assert StartEndPacker(3)(np.array([["a", "b"]])) == [["a", "b", ""]]


def test_errors():
    with pytest.raises(ValueError, match="mix integer ids and token strings"):
        StartEndPacker(4, start_value="<s>", end_value=2)
    with pytest.raises(ValueError, match="values are string tokens .* input holds int tokens"):
        StartEndPacker(4, start_value="<s>")([5])
    with pytest.raises(ValueError, match="a mix of ids and token strings"):
        StartEndPacker(4)([["a"], [5]])
    with pytest.raises(
        ValueError,
        match=r"`start_value` must be an integer id, a token string, a list of them, or None; "
        r"got 1.5",
    ):
        StartEndPacker(4, start_value=1.5)
    with pytest.raises(
        ValueError, match=r"`sequence_length=1` is too short for 2 start and 1 end value\(s\)"
    ):
        StartEndPacker(1, start_value=[1, 1], end_value=2)([5])
    with pytest.raises(ValueError, match="`sequence_length` must be a positive integer, got 0"):
        StartEndPacker(0)
    with pytest.raises(ValueError, match="`padding_side` must be one of"):
        StartEndPacker(4, padding_side="middle")
    with pytest.raises(
        ValueError, match=r"one row \(1-D\) or a batch of rows \(2-D\), got shape \(1, 1, 1\)"
    ):
        StartEndPacker(4)(np.zeros((1, 1, 1), dtype=int))
    with pytest.raises(TypeError, match="unexpected argument"):
        StartEndPacker(4, truncate="waterfall")


def test_config_round_trip_and_keras_serialization():
    packer = StartEndPacker(
        8,
        start_value=[1, 1],
        end_value=2,
        pad_value=0,
        return_padding_mask=True,
        name="p",
        padding_side="left",
    )
    config = packer.get_config()
    assert config == {
        "name": "p",
        "sequence_length": 8,
        "start_value": [1, 1],
        "end_value": 2,
        "pad_value": 0,
        "return_padding_mask": True,
        "padding_side": "left",
    }
    assert StartEndPacker.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(packer))
    assert isinstance(restored, StartEndPacker) and restored.get_config() == config
    keras_hub_config = {
        **config,
        "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}},
    }
    from_hub = keras.saving.deserialize_keras_object(
        {
            "module": "keras_hub.src.layers.preprocessing.start_end_packer",
            "class_name": "StartEndPacker",
            "config": keras_hub_config,
            "registered_name": "keras_hub>StartEndPacker",
        }
    )
    assert isinstance(from_hub, StartEndPacker) and from_hub.get_config() == config


def test_exported_as_a_layer():
    assert textbones.layers.StartEndPacker is StartEndPacker
    assert "StartEndPacker" in textbones.layers.__all__
