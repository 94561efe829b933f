"""Malformed (and borderline valid) ``.safetensors`` files, each with the verdict of the
``safetensors`` package 0.8 on it: ``True`` when it accepts the file (opens it and hands
out every tensor's bytes), ``False`` when it refuses it.

The verdicts were found by running the package on these very bytes;
``test_checkpoint_files.py::test_pinned_verdicts_are_the_safetensors_package_s`` checks them
again in the reference environment, and textbones' reader must agree with every one.
Standard library only: the reference script imports nothing of textbones.
"""

import json
import struct

_USIZE_MAX = 2**64 - 1
_W = b'"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}'
# Tensor "a" (4 bytes), then "a" again as _W's 8 bytes: the last one counts.
_A_THEN_W = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":' + _W[4:] + b"}"
# _W with an extra field "e" whose value follows.
_W_WITH_EXTRA = b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"e":'


def _file(header, data: bytes = b"", length: int | None = None) -> bytes:
    """An 8-byte little-endian header length, the header (JSON-encoded unless bytes), data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode("utf-8")
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _entry(dtype: str, shape, start, end) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [start, end]}


def _floats(count: int) -> bytes:
    return struct.pack(f"<{count}f", *range(count))


def _nested(depth: int) -> bytes:
    """A header whose ignored extra field is ``depth`` lists deep (plus 2 for the objects)."""
    return (
        b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":'
        + b"[" * depth
        + b"]" * depth
        + b"}}"
    )


#: name -> (file bytes, the safetensors package accepts it)
CASES: dict[str, tuple[bytes, bool]] = {
    # Well-formed files, including the unusual corners the package takes.
    "plain": (_file({"w": _entry("F32", [2], 0, 8)}, _floats(2)), True),
    "with_metadata": (
        _file({"__metadata__": {"format": "pt"}, "w": _entry("F32", [2], 0, 8)}, _floats(2)),
        True,
    ),
    "metadata_null": (
        _file({"__metadata__": None, "w": _entry("F32", [2], 0, 8)}, _floats(2)),
        True,
    ),
    "no_tensors": (_file({}), True),
    "only_metadata": (_file({"__metadata__": {}}), True),
    "scalar": (_file({"w": _entry("F32", [], 0, 4)}, _floats(1)), True),
    "offsets_out_of_order": (
        _file({"b": _entry("F32", [1], 4, 8), "a": _entry("F32", [1], 0, 4)}, _floats(2)),
        True,
    ),
    "empty_tensors_between": (
        _file(
            {
                "a": _entry("F32", [1], 0, 4),
                "z": _entry("F32", [0], 4, 4),
                "b": _entry("F32", [1], 4, 8),
            },
            _floats(2),
        ),
        True,
    ),
    "empty_tensors_first": (
        _file(
            {
                "z": _entry("F32", [0], 0, 0),
                "y": _entry("F32", [0, 3], 0, 0),
                "b": _entry("F32", [1], 0, 4),
            },
            _floats(1),
        ),
        True,
    ),
    "empty_tensor_last": (
        _file({"a": _entry("F32", [1], 0, 4), "z": _entry("F32", [0], 4, 4)}, _floats(1)),
        True,
    ),
    "huge_dimension_times_zero": (_file({"w": _entry("F32", [0, 2**63], 0, 0)}), True),
    "largest_dimension_times_zero": (_file({"w": _entry("F32", [_USIZE_MAX, 0], 0, 0)}), True),
    "spaces_around_header": (_file(b"\r\n\t {" + _W + b"}  \n", _floats(2)), True),
    "extra_entry_field": (_file({"w": {**_entry("F32", [2], 0, 8), "extra": 1}}, _floats(2)), True),
    "repeated_extra_field": (
        _file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"e":1,"e":2}}', _floats(2)),
        True,
    ),
    "repeated_tensor_last_wins": (
        _file(_A_THEN_W, _floats(2)),
        True,
    ),
    "repeated_metadata_key": (
        _file(b'{"__metadata__":{"a":"b","a":"c"},' + _W + b"}", _floats(2)),
        True,
    ),
    "entry_as_list": (_file(b'{"w":["F32",[2],[0,8]]}', _floats(2)), True),
    "dtype_as_map": (
        _file(b'{"w":{"dtype":{"F32":null},"shape":[2],"data_offsets":[0,8]}}', _floats(2)),
        True,
    ),
    "escaped_names": (_file(b'{"\\u0077\\/x":' + _W[4:] + b"}", _floats(2)), True),
    "surrogate_pair": (
        _file(b'{"__metadata__":{"a":"\\ud83d\\ude00"},' + _W + b"}", _floats(2)),
        True,
    ),
    "big_integer_in_extra_field": (
        _file(_W_WITH_EXTRA + b"1" * 300 + b"}}", _floats(2)),
        True,
    ),
    "tiny_float_in_extra_field": (
        _file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"e":1e-999}}', _floats(2)),
        True,
    ),
    "nested_127_deep": (_file(_nested(125), _floats(2)), True),
    "bfloat16": (_file({"w": _entry("BF16", [2], 0, 4)}, b"\x80\x3f\x00\x40"), True),
    "uint16": (_file({"w": _entry("U16", [2], 0, 4)}, b"\1\0\2\0"), True),
    "complex64": (_file({"w": _entry("C64", [1], 0, 8)}, _floats(2)), True),
    "float8": (_file({"w": _entry("F8_E4M3", [4], 0, 4)}, b"\0\1\2\3"), True),
    "float4_packed": (_file({"w": _entry("F4", [2], 0, 1)}, b"\x21"), True),
    "float6_packed": (_file({"w": _entry("F6_E2M3", [4], 0, 3)}, b"\0\0\0"), True),
    # The length field.
    "empty_file": (b"", False),
    "shorter_than_length_field": (b"\x01\x00\x00", False),
    "length_zero": (_file(b""), False),
    "length_past_the_end": (
        _file({"w": _entry("F32", [2], 0, 8)}, _floats(2), length=10**6),
        False,
    ),
    "length_over_100_mb": (_file({"w": _entry("F32", [2], 0, 8)}, _floats(2), length=2**63), False),
    "length_too_small": (_file({"w": _entry("F32", [2], 0, 8)}, _floats(2), length=10), False),
    "password_file": (b"root:x:0:0:root:/root:/bin/bash\n", False),
    # The header text.
    "not_utf8": (_file(b'{"\xff":1}'), False),
    "byte_order_mark": (_file(b"\xef\xbb\xbf{" + _W + b"}", _floats(2)), False),
    "not_an_object": (_file(b"[]"), False),
    "a_number": (_file(b"1"), False),
    "null": (_file(b"null"), False),
    "two_objects": (_file(b"{}{}"), False),
    "trailing_garbage": (_file(b"{" + _W + b"}x", _floats(2)), False),
    "trailing_nul_padding": (_file(b"{" + _W + b"}\0\0", _floats(2)), False),
    "vertical_tab": (_file(b"\x0b{" + _W + b"}", _floats(2)), False),
    "nan": (_file(b'{"__metadata__":{"a":NaN}}'), False),
    "nan_in_extra_field": (
        _file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"e":NaN}}', _floats(2)),
        False,
    ),
    "huge_float_in_extra_field": (
        _file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"e":1e999}}', _floats(2)),
        False,
    ),
    "huge_integer_in_extra_field": (
        _file(_W_WITH_EXTRA + b"1" * 400 + b"}}", _floats(2)),
        False,
    ),
    "lone_surrogate": (_file(b'{"__metadata__":{"a":"\\ud800"},' + _W + b"}", _floats(2)), False),
    "lone_low_surrogate_in_extra_field": (
        _file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"e":"\\udc00"}}', _floats(2)),
        False,
    ),
    "control_character": (_file(b'{"w\tx":' + _W[4:] + b"}", _floats(2)), False),
    "nested_128_deep": (_file(_nested(126), _floats(2)), False),
    "repeated_metadata": (_file(b'{"__metadata__":{"a":"b"},"__metadata__":{"a":"c"}}'), False),
    "repeated_entry_field": (
        _file(b'{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', _floats(2)),
        False,
    ),
    # Metadata of the wrong type.
    "metadata_integer_value": (
        _file({"__metadata__": {"format": 1}, "w": _entry("F32", [2], 0, 8)}, _floats(2)),
        False,
    ),
    "metadata_null_value": (
        _file({"__metadata__": {"format": None}, "w": _entry("F32", [2], 0, 8)}, _floats(2)),
        False,
    ),
    "metadata_list": (
        _file({"__metadata__": ["pt"], "w": _entry("F32", [2], 0, 8)}, _floats(2)),
        False,
    ),
    "metadata_nested": (_file({"__metadata__": {"a": {"b": "c"}}}), False),
    "metadata_shaped_like_a_tensor": (
        _file({"__metadata__": _entry("F32", [1], 0, 4)}, _floats(1)),
        False,
    ),
    # Entries of the wrong shape or type.
    "entry_null": (_file({"w": None}), False),
    "entry_string": (_file({"w": "x"}), False),
    "entry_empty": (_file({"w": {}}), False),
    "entry_list_of_two": (_file(b'{"w":["F32",[2]]}', _floats(2)), False),
    "entry_list_of_four": (_file(b'{"w":["F32",[2],[0,8],1]}', _floats(2)), False),
    "entry_without_offsets": (_file({"w": {"dtype": "F32", "shape": [2]}}, _floats(2)), False),
    "unknown_dtype": (_file({"w": _entry("F31", [2], 0, 8)}, _floats(2)), False),
    "lowercase_dtype": (_file({"w": _entry("f32", [2], 0, 8)}, _floats(2)), False),
    "dtype_integer": (
        _file({"w": {"dtype": 1, "shape": [1], "data_offsets": [0, 4]}}, _floats(1)),
        False,
    ),
    "dtype_map_with_value": (
        _file(b'{"w":{"dtype":{"F32":1},"shape":[2],"data_offsets":[0,8]}}', _floats(2)),
        False,
    ),
    "shape_null": (
        _file({"w": {"dtype": "F32", "shape": None, "data_offsets": [0, 4]}}, _floats(1)),
        False,
    ),
    "shape_negative": (_file({"w": _entry("F32", [-2], 0, 8)}, _floats(2)), False),
    "shape_minus_zero": (_file(b'{"w":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}'), False),
    "shape_float": (_file({"w": _entry("F32", [2.0], 0, 8)}, _floats(2)), False),
    "shape_exponent": (
        _file(b'{"w":{"dtype":"F32","shape":[2E0],"data_offsets":[0,8]}}', _floats(2)),
        False,
    ),
    "shape_boolean": (
        _file({"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, _floats(1)),
        False,
    ),
    "shape_nested": (
        _file(b'{"w":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}}', _floats(2)),
        False,
    ),
    "shape_past_64_bits": (
        _file(b'{"w":{"dtype":"F32","shape":[18446744073709551616,0],"data_offsets":[0,0]}}'),
        False,
    ),
    "shape_overflows": (_file({"w": _entry("F32", [2**62, 2**62], 0, 8)}, _floats(2)), False),
    "bytes_overflow": (_file({"w": _entry("F32", [2**62], 0, 0)}), False),
    "bits_overflow": (_file({"w": _entry("U8", [2**62], 0, 2**62)}), False),
    "packed_not_on_a_byte": (_file({"w": _entry("F4", [3], 0, 2)}, b"\0\0"), False),
    # Offsets.
    "offset_negative": (_file({"w": _entry("F32", [2], -8, 0)}, _floats(2)), False),
    "offset_minus_zero": (
        _file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[-0,8]}}', _floats(2)),
        False,
    ),
    "offset_float": (_file({"w": _entry("F32", [2], 0.0, 8.0)}, _floats(2)), False),
    "offset_boolean": (
        _file({"w": {"dtype": "F32", "shape": [1], "data_offsets": [False, True]}}, b"\0"),
        False,
    ),
    "offset_string": (_file({"w": _entry("F32", [2], "0", "8")}, _floats(2)), False),
    "offset_past_64_bits": (_file({"w": _entry("F32", [1], 2**64, 2**64 + 4)}, _floats(1)), False),
    "offsets_near_64_bits": (
        _file({"w": _entry("F32", [1], 2**64 - 8, 2**64 - 4)}, _floats(1)),
        False,
    ),
    "three_offsets": (
        _file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}}, _floats(2)),
        False,
    ),
    "one_offset": (
        _file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}, _floats(2)),
        False,
    ),
    "offsets_as_map": (
        _file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":{"0":0,"1":8}}}', _floats(2)),
        False,
    ),
    "start_after_end": (_file({"w": _entry("F32", [0], 8, 0)}, _floats(2)), False),
    "past_the_end": (_file({"w": _entry("F32", [2], 0, 8)}, _floats(1)), False),
    "size_not_dtype_times_shape": (_file({"w": _entry("F32", [3], 0, 8)}, _floats(2)), False),
    "overlapping": (
        _file({"a": _entry("F32", [2], 0, 8), "b": _entry("F32", [2], 4, 12)}, _floats(3)),
        False,
    ),
    "same_range_twice": (
        _file({"a": _entry("F32", [2], 0, 8), "b": _entry("F32", [2], 0, 8)}, _floats(2)),
        False,
    ),
    "gap_before_first": (_file({"a": _entry("F32", [1], 4, 8)}, _floats(2)), False),
    "gap_between": (
        _file({"a": _entry("F32", [1], 0, 4), "b": _entry("F32", [1], 8, 12)}, _floats(3)),
        False,
    ),
    "bytes_after_last": (_file({"w": _entry("F32", [2], 0, 8)}, _floats(3)), False),
    "data_without_tensors": (_file({}, _floats(1)), False),
    "empty_tensor_past_the_end": (
        _file({"a": _entry("F32", [1], 0, 4), "z": _entry("F32", [0], 8, 8)}, _floats(1)),
        False,
    ),
    "repeated_tensor_first_fits": (
        _file(_A_THEN_W, _floats(1)),
        False,
    ),
}
