"""The NumPy side of ``tf_tensors``: stand-in inputs, output signatures, the arrays that cross
``tf.numpy_function``, and trial runs that leave objects as they were.

TensorFlow itself is not installed here; ``tests/parity/test_tf_map_parity.py`` runs the
whole path in ``tf.data`` and ``tf.function`` against KerasHub.
"""

import numpy as np
import pytest

from textbones.models import BertMaskedLMPreprocessor, BertTokenizer
from textbones.preprocessing import tf_tensors
from textbones.preprocessing.masked_lm_mask_generator import MaskedLMMaskGenerator
from textbones.preprocessing.multi_segment_packer import MultiSegmentPacker
from textbones.preprocessing.tf_tensors import _InputSlot, _OutputLeaf

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "the", "fox"]


def signature_of(function, template):
    """The merged signature of ``function`` over the two stand-in runs of ``template``'s slots."""
    signature = None
    for size, text in tf_tensors._STAND_INS:
        args = tf_tensors._map_structure(
            lambda leaf, s=size, t=text: (
                leaf.stand_in(s, t) if isinstance(leaf, _InputSlot) else leaf
            ),
            template,
        )
        described = tf_tensors._map_structure(
            lambda value: tf_tensors._describe(value, None), function(*args)
        )
        signature = described if signature is None else tf_tensors._merged(signature, described)
    return signature


def string_slot(shape):
    return _InputSlot(shape=shape, is_string=True, numpy_dtype=None, ragged_rank=0, first=0)


def ids_slot(shape, ragged_rank=0):
    return _InputSlot(
        shape=shape, is_string=False, numpy_dtype=np.int32, ragged_rank=ragged_rank, first=0
    )


def test_entry_points_keep_their_names_and_docs():
    assert BertTokenizer.tokenize.__name__ == "tokenize"
    assert "of a batch of strings" in BertTokenizer.tokenize.__doc__
    assert MultiSegmentPacker.__call__.__wrapped__.__name__ == "__call__"


def test_stand_ins_have_the_traced_shapes_and_decoded_strings():
    assert string_slot([]).stand_in(1, "a") == "a"
    vector = string_slot([None]).stand_in(2, "x y")
    assert vector.dtype == object and vector.tolist() == ["x y", "x y"]
    ids = ids_slot([None, 5]).stand_in(2, "a")
    assert ids.shape == (2, 5) and ids.dtype == np.int32
    ragged = ids_slot([3, None], ragged_rank=1).stand_in(2, "a")
    assert [row.tolist() for row in ragged] == [[0, 0], [0, 0], [0, 0]] and ragged[
        0
    ].dtype == np.int32


def test_ragged_inputs_reach_numpy_as_rows_of_their_dtype_empty_ones_included():
    slot = _InputSlot(
        shape=[None, None], is_string=False, numpy_dtype=np.int32, ragged_rank=1, first=0
    )
    rows = slot.from_numpy([np.array([5, 6, 7], np.int32), np.array([2, 0, 1])])
    assert [row.tolist() for row in rows] == [[5, 6], [], [7]]
    assert all(row.dtype == np.int32 for row in rows)
    words = _InputSlot(shape=[None, None], is_string=True, numpy_dtype=None, ragged_rank=1, first=0)
    assert words.from_numpy([np.array([b"caf\xc3\xa9", b"x"], object), np.array([1, 1])]) == [
        ["café"],
        ["x"],
    ]


def test_invalid_utf8_is_left_as_bytes_for_the_numpy_path_to_report():
    assert tf_tensors._decoded(np.array([b"ok", b"\xff"], object)).tolist() == ["ok", b"\xff"]


def test_a_padded_tokenizer_has_a_static_sequence_length_and_an_unknown_batch():
    tokenizer = BertTokenizer(vocabulary=VOCABULARY, sequence_length=7)
    assert signature_of(tokenizer.tokenize, (string_slot([None]),)) == _OutputLeaf(
        "int32", [None, 7]
    )
    assert signature_of(tokenizer.tokenize, (string_slot([]),)) == _OutputLeaf("int32", [7])


def test_an_unpadded_tokenizer_is_ragged_on_a_batch_and_unknown_on_one_string():
    tokenizer = BertTokenizer(vocabulary=VOCABULARY)
    assert signature_of(tokenizer.tokenize, (string_slot([None]),)) == _OutputLeaf(
        "int32", [None], ragged_rank=1
    )
    assert signature_of(tokenizer.tokenize, (string_slot([]),)) == _OutputLeaf("int32", [None])
    assert signature_of(tokenizer.tokenize, (string_slot([4]),)) == _OutputLeaf(
        "int32", [4], ragged_rank=1
    )


def test_detokenize_gives_strings():
    tokenizer = BertTokenizer(vocabulary=VOCABULARY)
    ragged = _InputSlot(
        shape=[None, None], is_string=False, numpy_dtype=np.int32, ragged_rank=1, first=0
    )
    assert signature_of(tokenizer.detokenize, (ragged,)) == _OutputLeaf("string", [None])
    one_row = _InputSlot(
        shape=[None], is_string=False, numpy_dtype=np.int32, ragged_rank=0, first=0
    )
    assert signature_of(tokenizer.detokenize, (one_row,)) == _OutputLeaf("string", [])


def test_structures_are_kept_tuples_and_dicts_alike():
    packer = MultiSegmentPacker(9, start_value=2, end_value=3)
    ragged = _InputSlot(
        shape=[None, None], is_string=False, numpy_dtype=np.int32, ragged_rank=1, first=0
    )
    packed = _OutputLeaf("int32", [None, 9])
    assert signature_of(packer, ((ragged, ragged),)) == (packed, packed)
    masker = MaskedLMMaskGenerator(10, 0.5, 4, mask_selection_length=3, seed=0)
    dense = _InputSlot(
        shape=[None, 9], is_string=False, numpy_dtype=np.int32, ragged_rank=0, first=0
    )
    assert signature_of(masker, (dense,)) == {
        "token_ids": _OutputLeaf("int32", [None, 9]),
        "mask_positions": _OutputLeaf("int32", [None, 3]),
        "mask_ids": _OutputLeaf("int32", [None, 3]),
        "mask_weights": _OutputLeaf("float32", [None, 3]),
    }


def test_python_list_outputs_take_the_dtype_of_the_object():
    assert tf_tensors._describe([[1, 2], [3]], "int64") == _OutputLeaf("int64", [2], ragged_rank=1)
    assert tf_tensors._describe([[1, 2], [3]], None) == _OutputLeaf("int32", [2], ragged_rank=1)
    assert tf_tensors._describe([["a"], []], "string") == _OutputLeaf("string", [2], ragged_rank=1)
    assert tf_tensors._describe([[], []], "string") == _OutputLeaf("string", [2], 1, row_width=0)
    assert tf_tensors._describe(["x", "y"], None) == _OutputLeaf("string", [2])
    assert tf_tensors._describe([[[1], [2, 3]], [[4]]], None) == _OutputLeaf(
        "int32", [2], ragged_rank=2
    )


def test_lists_of_rows_of_one_length_whatever_the_input_are_dense():
    # Padded string tokens given as Python lists (KerasHub's eager form) are dense in tf.data.
    first = tf_tensors._describe([["[CLS]", "a", "[SEP]"]], None)
    second = tf_tensors._describe([["[CLS]", "b", "[SEP]"], ["[CLS]", "[PAD]", "[PAD]"]], None)
    assert tf_tensors._merged(first, second) == _OutputLeaf("string", [None, 3])
    # Rows whose length follows the text stay ragged.
    short, long = (
        tf_tensors._describe([np.array([5])], None),
        tf_tensors._describe([np.arange(4)] * 2, None),
    )
    assert tf_tensors._merged(short, long) == _OutputLeaf("int64", [None], ragged_rank=1)
    with pytest.raises(ValueError, match="returned list for this batch"):
        tf_tensors._encoded(_OutputLeaf("string", [None, 3]), [["a", "b", "c"], ["d"]], owner=None)


def test_outputs_whose_structure_depends_on_the_contents_are_refused():
    with pytest.raises(TypeError, match="change structure with the input's contents"):
        tf_tensors._merged(_OutputLeaf("int32", [3]), _OutputLeaf("int32", [3], ragged_rank=1))
    with pytest.raises(TypeError, match="change structure"):
        tf_tensors._merged({"a": None}, {"b": None})


def test_ragged_outputs_cross_as_flat_values_and_row_lengths():
    leaf = _OutputLeaf("int32", [None], ragged_rank=1)
    values, lengths = tf_tensors._encoded(
        leaf, [np.array([5, 6]), np.array([], np.int32), [7]], owner=None
    )
    assert values.tolist() == [5, 6, 7] and values.dtype == np.int32
    assert lengths.tolist() == [2, 0, 1] and lengths.dtype == np.int64
    empty_values, empty_lengths = tf_tensors._encoded(leaf, [], owner=None)
    assert empty_values.shape == (0,) and empty_lengths.tolist() == []
    nested = _OutputLeaf("string", [None], ragged_rank=2)
    values, outer, inner = tf_tensors._encoded(nested, [[["é"], ["b", "c"]], [[]]], owner=None)
    assert values.tolist() == ["é".encode(), b"b", b"c"]
    assert outer.tolist() == [2, 1] and inner.tolist() == [1, 2, 0]


def test_strings_cross_as_utf8_bytes():
    encoded = tf_tensors._encoded(_OutputLeaf("string", [None]), ["naïve", "x"], owner=None)[0]
    assert encoded.dtype == object and encoded.tolist() == ["naïve".encode(), b"x"]
    assert tf_tensors._encoded(_OutputLeaf("string", []), "hi", owner=None)[0].item() == b"hi"


def test_an_output_that_breaks_its_traced_signature_names_the_class():
    promised = r"MultiSegmentPacker returned ndarray .* dense int32 of shape \[None, 9\]"
    with pytest.raises(ValueError, match=promised):
        tf_tensors._encoded(
            _OutputLeaf("int32", [None, 9]), np.zeros(9), owner=MultiSegmentPacker(9, 2, 3)
        )


def test_trial_runs_leave_random_generators_and_lazy_attributes_as_they_were():
    settings = dict(sequence_length=8, mask_selection_rate=0.5, mask_selection_length=3)
    preprocessor = BertMaskedLMPreprocessor(BertTokenizer(vocabulary=VOCABULARY), **settings)
    twin = BertMaskedLMPreprocessor(BertTokenizer(vocabulary=VOCABULARY), **settings)
    twin._mask_seed = preprocessor._mask_seed
    global_state = np.random.get_state()[1].copy()
    with tf_tensors._left_as_found(preprocessor):
        preprocessor(["a b c the fox"] * 4)
        np.random.random()
    assert preprocessor._masker is None and preprocessor._packer is None
    assert np.array_equal(np.random.get_state()[1], global_state)
    texts = ["the fox a b c", "a a a b"]
    first, again = preprocessor(texts), twin(texts)
    assert first[0]["token_ids"].tolist() == again[0]["token_ids"].tolist()

    masker = MaskedLMMaskGenerator(10, 0.5, 4, mask_selection_length=3, seed=5)
    fresh = MaskedLMMaskGenerator(10, 0.5, 4, mask_selection_length=3, seed=5)
    with tf_tensors._left_as_found(masker):
        masker(np.full((4, 9), 7))
    ids = np.arange(5, 10)[None].repeat(3, axis=0)
    assert masker(ids)["token_ids"].tolist() == fresh(ids)["token_ids"].tolist()
