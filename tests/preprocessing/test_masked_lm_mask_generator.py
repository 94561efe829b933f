"""Tests of ``textbones/preprocessing/masked_lm_mask_generator.py``."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textbones.preprocessing.masked_lm_mask_generator import MaskedLMMaskGenerator

PAD, CLS, SEP, MASK = 0, 1, 2, 3
VOCABULARY_SIZE = 1000


def make_masker(**overrides) -> MaskedLMMaskGenerator:
    kwargs = {
        "vocabulary_size": VOCABULARY_SIZE,
        "mask_selection_rate": 0.15,
        "mask_token_id": MASK,
        "mask_selection_length": 8,
        "unselectable_token_ids": [PAD, CLS, SEP, MASK],
        "seed": 0,
    }
    return MaskedLMMaskGenerator(**{**kwargs, **overrides})


def packed_batch(rng: np.random.Generator, batch_size: int, sequence_length: int) -> np.ndarray:
    """Rows ``[CLS] ids [SEP] [PAD]...`` of random real lengths, ids from 4 up."""
    ids = rng.integers(4, VOCABULARY_SIZE, size=(batch_size, sequence_length))
    lengths = rng.integers(0, sequence_length - 1, size=batch_size)
    columns = np.arange(sequence_length)
    ids = np.where(columns[None, :] <= lengths[:, None], ids, PAD)
    ids[:, 0] = CLS
    ids[np.arange(batch_size), lengths + 1] = SEP
    return ids


def dense_masks(outputs: dict) -> dict:
    """``outputs`` with ragged ``mask_*`` lists (``mask_selection_length=None``) padded
    into arrays, after checking that their items are Python ints and floats."""
    dense = dict(outputs)
    for name, dtype, kind in (
        ("mask_positions", np.int32, int),
        ("mask_ids", np.int32, int),
        ("mask_weights", np.float32, float),
    ):
        value = outputs[name]
        if isinstance(value, list):
            assert all(type(item) is kind for row in value for item in row)
            width = max(len(row) for row in value)
            assert any(len(row) != width for row in value)  # lists only where ragged
            dense[name] = np.array([row + [0] * (width - len(row)) for row in value], dtype=dtype)
    return dense


def check_invariants(masker: MaskedLMMaskGenerator, token_ids: np.ndarray, outputs: dict) -> None:
    batch_size, sequence_length = token_ids.shape
    outputs = dense_masks(outputs)
    width = masker.mask_selection_length
    if width is None:  # no limit: as wide as the row with the most selections
        width = int(outputs["mask_weights"].sum(axis=1).max(initial=0))
    assert set(outputs) == {"token_ids", "mask_positions", "mask_ids", "mask_weights"}
    assert outputs["token_ids"].shape == token_ids.shape and outputs["token_ids"].dtype == np.int32
    for name, dtype in (
        ("mask_positions", np.int32),
        ("mask_ids", np.int32),
        ("mask_weights", np.float32),
    ):
        assert outputs[name].shape == (batch_size, width) and outputs[name].dtype == dtype
    weights = outputs["mask_weights"]
    assert set(np.unique(weights)) <= {0.0, 1.0}
    unselectable = np.isin(token_ids, masker.unselectable_token_ids)
    for row in range(batch_size):
        count = int(weights[row].sum())
        assert count <= width
        assert np.all(weights[row, :count] == 1.0) and np.all(weights[row, count:] == 0.0)
        positions = outputs["mask_positions"][row, :count]
        assert np.all(np.diff(positions) > 0)  # ascending, no repeats
        assert np.all((positions >= 0) & (positions < sequence_length))
        assert not np.any(unselectable[row, positions])
        np.testing.assert_array_equal(outputs["mask_ids"][row, :count], token_ids[row, positions])
        assert np.all(outputs["mask_positions"][row, count:] == 0) and np.all(
            outputs["mask_ids"][row, count:] == 0
        )
        untouched = np.setdiff1d(np.arange(sequence_length), positions)
        np.testing.assert_array_equal(
            outputs["token_ids"][row, untouched], token_ids[row, untouched]
        )
    assert np.all((outputs["token_ids"] >= 0) & (outputs["token_ids"] < VOCABULARY_SIZE))


# -- handmade cases ---------------------------------------------------------------------


def test_select_everything_and_mask_it():
    masker = make_masker(
        mask_selection_rate=1.0, mask_token_rate=1.0, random_token_rate=0.0, mask_selection_length=4
    )
    outputs = masker(np.array([[CLS, 7, 8, SEP, PAD], [CLS, 9, SEP, PAD, PAD]]))
    np.testing.assert_array_equal(
        outputs["token_ids"], [[CLS, MASK, MASK, SEP, PAD], [CLS, MASK, SEP, PAD, PAD]]
    )
    np.testing.assert_array_equal(outputs["mask_positions"], [[1, 2, 0, 0], [1, 0, 0, 0]])
    np.testing.assert_array_equal(outputs["mask_ids"], [[7, 8, 0, 0], [9, 0, 0, 0]])
    np.testing.assert_array_equal(outputs["mask_weights"], [[1, 1, 0, 0], [1, 0, 0, 0]])


def test_keep_rate_leaves_selected_tokens_unchanged():
    masker = make_masker(mask_selection_rate=1.0, mask_token_rate=0.0, random_token_rate=0.0)
    token_ids = np.array([[CLS, 7, 8, 9, SEP]])
    outputs = masker(token_ids)
    np.testing.assert_array_equal(outputs["token_ids"], token_ids)
    np.testing.assert_array_equal(outputs["mask_positions"][0, :3], [1, 2, 3])


def test_zero_selection_rate_selects_nothing():
    masker = make_masker(mask_selection_rate=0.0)
    token_ids = packed_batch(np.random.default_rng(0), 4, 16)
    outputs = masker(token_ids)
    np.testing.assert_array_equal(outputs["token_ids"], token_ids)
    assert not outputs["mask_weights"].any() and not outputs["mask_positions"].any()


def test_cap_keeps_a_random_subset_of_the_selections():
    masker = make_masker(
        mask_selection_rate=1.0, mask_selection_length=3, mask_token_rate=1.0, random_token_rate=0.0
    )
    token_ids = np.arange(10, 30)[None, :].repeat(500, axis=0)
    outputs = masker(token_ids)
    check_invariants(masker, token_ids, outputs)
    assert np.all(outputs["mask_weights"].sum(axis=1) == 3)
    assert np.all((outputs["token_ids"] == MASK).sum(axis=1) == 3)
    # Every position is kept about equally often (500 * 3 / 20 = 75 times each).
    counts = np.bincount(outputs["mask_positions"].ravel(), minlength=20)
    assert counts.min() > 40 and counts.max() < 115


def test_unbatched_input_and_lists():
    masker = make_masker(
        mask_selection_rate=1.0, mask_token_rate=1.0, random_token_rate=0.0, mask_selection_length=3
    )
    outputs = masker([CLS, 5, 6, SEP])
    assert {name: value.shape for name, value in outputs.items()} == {
        "token_ids": (4,),
        "mask_positions": (3,),
        "mask_ids": (3,),
        "mask_weights": (3,),
    }
    np.testing.assert_array_equal(outputs["token_ids"], [CLS, MASK, MASK, SEP])
    np.testing.assert_array_equal(outputs["mask_ids"], [5, 6, 0])
    batched = masker([[CLS, 5, 6, SEP], [CLS, 7, SEP, PAD]])
    assert batched["token_ids"].shape == (2, 4) and batched["mask_weights"].tolist() == [
        [1, 1, 0],
        [1, 0, 0],
    ]


def test_no_selection_length_means_no_cap_and_width_of_the_sequence():
    masker = make_masker(
        mask_selection_rate=1.0, mask_selection_length=None, unselectable_token_ids=None
    )
    outputs = masker(np.arange(6)[None, :])
    np.testing.assert_array_equal(outputs["mask_positions"], [[0, 1, 2, 3, 4, 5]])
    np.testing.assert_array_equal(outputs["mask_ids"], [[0, 1, 2, 3, 4, 5]])
    assert outputs["mask_weights"].sum() == 6


def test_selection_length_wider_than_the_sequence_and_empty_inputs():
    masker = make_masker(mask_selection_rate=1.0, mask_selection_length=5)
    outputs = masker(np.array([[7, 8]]))
    np.testing.assert_array_equal(outputs["mask_positions"], [[0, 1, 0, 0, 0]])
    empty_rows = masker(np.zeros((2, 0), dtype=np.int32))
    assert empty_rows["token_ids"].shape == (2, 0) and empty_rows["mask_weights"].shape == (2, 5)
    assert not empty_rows["mask_weights"].any()
    assert masker(np.zeros((0, 4), dtype=np.int32))["mask_positions"].shape == (0, 5)


def test_ids_may_be_any_integer_dtype():
    masker = make_masker(mask_selection_rate=1.0, mask_token_rate=1.0, random_token_rate=0.0)
    for dtype in (np.int32, np.int64, np.uint16):
        outputs = masker(np.array([[CLS, 7, SEP]], dtype=dtype))
        assert outputs["token_ids"].dtype == np.int32
        np.testing.assert_array_equal(outputs["token_ids"], [[CLS, MASK, SEP]])


# -- statistics -------------------------------------------------------------------------


def test_rates_over_many_tokens():
    masker = make_masker(mask_selection_length=None, unselectable_token_ids=[PAD], seed=123)
    token_ids = np.random.default_rng(1).integers(
        4, VOCABULARY_SIZE, size=(1000, 200)
    )  # 200k tokens
    outputs = dense_masks(masker(token_ids))
    selected = outputs["mask_weights"] > 0
    num_selected = int(selected.sum())
    assert abs(num_selected / token_ids.size - 0.15) < 0.01

    positions = outputs["mask_positions"]
    originals = np.take_along_axis(token_ids, positions, axis=1)[selected]
    replaced = np.take_along_axis(outputs["token_ids"], positions, axis=1)[selected]
    masked = replaced == MASK
    unchanged = replaced == originals
    # A random id equals the original 1 time in 1000: such tokens count as "unchanged".
    randomised = ~masked & ~unchanged
    assert abs(masked.mean() - 0.8) < 0.02
    assert abs(randomised.mean() - 0.1) < 0.02
    assert abs(unchanged.mean() - 0.1) < 0.02
    # Random replacements are spread over the whole vocabulary.
    random_ids = replaced[randomised]
    assert random_ids.min() < 50 and random_ids.max() > VOCABULARY_SIZE - 50


# -- randomness -------------------------------------------------------------------------


def test_seed_makes_the_sequence_of_masks_reproducible():
    token_ids = packed_batch(np.random.default_rng(0), 8, 32)
    first, second = make_masker(seed=42), make_masker(seed=42)
    for _ in range(3):
        a, b = first(token_ids), second(token_ids)
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    other = make_masker(seed=43)(token_ids)
    assert not np.array_equal(other["token_ids"], make_masker(seed=42)(token_ids)["token_ids"])


def test_successive_calls_give_fresh_masks():
    masker = make_masker(mask_selection_length=None)
    token_ids = packed_batch(np.random.default_rng(0), 8, 64)
    first, second = masker(token_ids), masker(token_ids)
    assert not np.array_equal(first["mask_positions"], second["mask_positions"])


def test_keras_set_random_seed_makes_unseeded_generators_reproducible():
    token_ids = packed_batch(np.random.default_rng(0), 8, 32)

    def masks_after_seeding(seed: int) -> list:
        keras.utils.set_random_seed(seed)
        masker = make_masker(seed=None)
        return [masker(token_ids)["mask_positions"] for _ in range(2)]

    first, again, other = masks_after_seeding(7), masks_after_seeding(7), masks_after_seeding(8)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_unseeded_generators_differ_from_each_other():
    token_ids = packed_batch(np.random.default_rng(0), 8, 64)
    a, b = (
        make_masker(seed=None, mask_selection_length=None),
        make_masker(seed=None, mask_selection_length=None),
    )
    assert not np.array_equal(a(token_ids)["mask_positions"], b(token_ids)["mask_positions"])


# -- properties -------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    batch_size=st.integers(1, 6),
    sequence_length=st.integers(2, 40),
    mask_selection_rate=st.floats(0.0, 1.0),
    mask_selection_length=st.one_of(st.none(), st.integers(1, 12)),
    rates=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).filter(
        lambda rates: sum(rates) <= 1.0
    ),
    seed=st.integers(0, 2**32),
    data_seed=st.integers(0, 2**16),
)
def test_invariants(
    batch_size, sequence_length, mask_selection_rate, mask_selection_length, rates, seed, data_seed
):
    masker = make_masker(
        mask_selection_rate=mask_selection_rate,
        mask_selection_length=mask_selection_length,
        mask_token_rate=rates[0],
        random_token_rate=rates[1],
        seed=seed,
    )
    token_ids = packed_batch(np.random.default_rng(data_seed), batch_size, sequence_length)
    outputs = masker(token_ids)
    check_invariants(masker, token_ids, outputs)
    if mask_selection_rate == 1.0:  # everything selectable is taken, up to the cap
        selectable = (~np.isin(token_ids, masker.unselectable_token_ids)).sum(axis=1)
        cap = sequence_length if mask_selection_length is None else mask_selection_length
        weights = dense_masks(outputs)["mask_weights"]
        np.testing.assert_array_equal(weights.sum(axis=1), np.minimum(selectable, cap))


# -- configuration and errors -----------------------------------------------------------


def test_config_round_trip():
    masker = make_masker(seed=5, mask_token_rate=0.7, random_token_rate=0.3)
    config = masker.get_config()
    assert config == {
        "vocabulary_size": VOCABULARY_SIZE,
        "mask_selection_rate": 0.15,
        "mask_token_id": MASK,
        "mask_selection_length": 8,
        "unselectable_token_ids": [PAD, CLS, SEP, MASK],
        "mask_token_rate": 0.7,
        "random_token_rate": 0.3,
        "seed": 5,
    }
    token_ids = packed_batch(np.random.default_rng(0), 4, 16)
    clone = MaskedLMMaskGenerator.from_config(config)
    np.testing.assert_array_equal(
        clone(token_ids)["token_ids"], make_masker(**config)(token_ids)["token_ids"]
    )
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(masker))
    assert isinstance(restored, MaskedLMMaskGenerator) and restored.get_config() == config


def test_keras_hub_config_resolves_to_textbones():
    keras_hub_config = {
        "module": "keras_hub.src.layers.preprocessing.masked_lm_mask_generator",
        "class_name": "MaskedLMMaskGenerator",
        "config": {
            "name": "masked_lm_mask_generator",
            "trainable": True,
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": "float32"},
            },
            "vocabulary_size": 10,
            "mask_selection_rate": 0.5,
            "mask_selection_length": 6,
            "unselectable_token_ids": [0],
            "mask_token_id": 3,
            "mask_token_rate": 0.8,
            "random_token_rate": 0.1,
        },
        "registered_name": "keras_hub>MaskedLMMaskGenerator",
    }
    masker = keras.saving.deserialize_keras_object(keras_hub_config)
    assert isinstance(masker, MaskedLMMaskGenerator)
    assert masker.get_config()["mask_selection_length"] == 6 and masker.seed is None


@pytest.mark.parametrize(
    "overrides, error, match",
    [
        ({"vocabulary_size": 0}, ValueError, "vocabulary_size"),
        ({"mask_token_id": VOCABULARY_SIZE}, ValueError, r"mask_token_id.*\[0, 999\].*1000"),
        ({"mask_token_id": -1}, ValueError, "mask_token_id"),
        ({"mask_selection_rate": 1.5}, ValueError, r"mask_selection_rate.*\[0, 1\].*1.5"),
        ({"mask_selection_rate": -0.1}, ValueError, "mask_selection_rate"),
        ({"mask_selection_rate": "0.1"}, ValueError, "mask_selection_rate"),
        ({"mask_token_rate": 1.2}, ValueError, "mask_token_rate"),
        ({"random_token_rate": -0.5}, ValueError, "random_token_rate"),
        ({"mask_token_rate": 0.8, "random_token_rate": 0.3}, ValueError, r"at most 1.*0.8 \+ 0.3"),
        ({"mask_selection_length": -1}, ValueError, "non-negative integer .0 selects nothing."),
        ({"mask_selection_length": 2.5}, ValueError, "mask_selection_length"),
        ({"unselectable_token_ids": ["[PAD]"]}, TypeError, "unselectable_token_ids"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"sequence_length": 4}, TypeError, "sequence_length"),
    ],
)
def test_bad_arguments(overrides, error, match):
    with pytest.raises(error, match=match):
        make_masker(**overrides)


def test_rates_summing_to_one_up_to_rounding_are_accepted():
    make_masker(mask_token_rate=0.7, random_token_rate=0.3)
    make_masker(mask_token_rate=0.9, random_token_rate=0.1)


def test_bad_inputs():
    masker = make_masker()
    with pytest.raises(
        ValueError,
        match=r"Each row of `token_ids` must be a 1-D sequence of ids; got a row of shape \(1, 2\)",
    ):
        masker([[1, 2, 3], [[1, 2]]])
    with pytest.raises(TypeError, match="integer ids; got dtype float64"):
        masker([[1, 2, 3], [1.5]])
    with pytest.raises(TypeError, match="integer ids; got dtype float64"):
        masker(np.array([[1.0, 2.0]]))
    with pytest.raises(TypeError, match="integer ids"):
        masker(["a", "b"])
    with pytest.raises(ValueError, match=r"1-D .* 2-D .*shape \(1, 2, 3\)"):
        masker(np.zeros((1, 2, 3), dtype=np.int32))


# -- ragged rows and the selection length, as KerasHub 0.32 returns them ----------------


def test_ragged_rows_give_ragged_token_ids_and_dense_masks():
    masker = make_masker(
        mask_selection_rate=1.0, mask_token_rate=1.0, random_token_rate=0.0, mask_selection_length=3
    )
    outputs = masker([[CLS, 7, 8, 9, SEP], [CLS, 10, SEP], []])
    assert outputs["token_ids"] == [[CLS, MASK, MASK, MASK, SEP], [CLS, MASK, SEP], []]
    assert all(type(i) is int for row in outputs["token_ids"] for i in row)
    assert outputs["mask_positions"].dtype == np.int32
    assert outputs["mask_positions"].tolist() == [[1, 2, 3], [1, 0, 0], [0, 0, 0]]
    assert outputs["mask_ids"].tolist() == [[7, 8, 9], [10, 0, 0], [0, 0, 0]]
    assert outputs["mask_weights"].dtype == np.float32
    assert outputs["mask_weights"].tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]


def test_no_selection_length_gives_each_row_its_own_selections():
    masker = make_masker(
        mask_selection_rate=1.0,
        mask_token_rate=1.0,
        random_token_rate=0.0,
        mask_selection_length=None,
    )
    outputs = masker([[CLS, 7, 8, SEP], [CLS, 9, SEP, PAD, PAD]])
    assert outputs["token_ids"] == [[CLS, MASK, MASK, SEP], [CLS, MASK, SEP, PAD, PAD]]
    assert outputs["mask_positions"] == [[1, 2], [1]]
    assert outputs["mask_ids"] == [[7, 8], [9]]
    assert outputs["mask_weights"] == [[1.0, 1.0], [1.0]]
    # Rows that selected as many give arrays (KerasHub's eager outputs do the same).
    even = masker(np.array([[CLS, 7, SEP], [CLS, 9, SEP]]))
    assert even["mask_positions"].shape == (2, 1) and even["mask_positions"].tolist() == [[1], [1]]
    single = masker([CLS, 7, 8, SEP])
    assert (
        single["mask_positions"].tolist() == [1, 2] and single["mask_weights"].dtype == np.float32
    )


def test_zero_selection_length_selects_nothing():
    masker = make_masker(mask_selection_rate=1.0, mask_selection_length=0)
    token_ids = np.array([[CLS, 7, 8, SEP], [CLS, 9, SEP, PAD]])
    outputs = masker(token_ids)
    np.testing.assert_array_equal(outputs["token_ids"], token_ids)
    for name, dtype in (
        ("mask_positions", np.int32),
        ("mask_ids", np.int32),
        ("mask_weights", np.float32),
    ):
        assert outputs[name].shape == (2, 0) and outputs[name].dtype == dtype
    assert masker([CLS, 7, SEP])["mask_ids"].shape == (0,)
    assert masker([[7], [8, 9]])["token_ids"] == [[7], [8, 9]]
    assert MaskedLMMaskGenerator.from_config(masker.get_config()).mask_selection_length == 0
