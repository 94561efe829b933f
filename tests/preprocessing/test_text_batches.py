"""Raw text to batches (text_batches.py) and the padding buckets they use (padding_buckets.py)."""

import keras
import numpy as np
import pytest

from textbones.models import BertMaskedLMPreprocessor, BertTextClassifierPreprocessor, BertTokenizer
from textbones.preprocessing import text_batches
from textbones.preprocessing.padding_buckets import SMALLEST_BUCKET, bucket_length, trim_columns
from textbones.preprocessing.text_batches import (
    IterableBatches,
    MappedBatches,
    TextBatches,
    as_text_columns,
    is_text,
    preprocess_item,
    preprocessed_generator,
)

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran", "a", "dog", "far"]
IDS = {token: index for index, token in enumerate(VOCABULARY)}


def tokenizer():
    return BertTokenizer(vocabulary=VOCABULARY)


def classifier_preprocessor(sequence_length=40):
    return BertTextClassifierPreprocessor(tokenizer(), sequence_length=sequence_length)


def masked_lm_preprocessor(mask_selection_length=10):
    return BertMaskedLMPreprocessor(
        tokenizer(),
        sequence_length=40,
        mask_selection_rate=0.5,
        mask_selection_length=mask_selection_length,
    )


def packed(*words, width):
    """``[CLS] words [SEP]`` padded with 0 to ``width``, as ids."""
    ids = [IDS["[CLS]"], *(IDS[word] for word in words), IDS["[SEP]"]]
    return ids + [0] * (width - len(ids))


def batches_of(dataset):
    return [dataset[index] for index in range(len(dataset))]


# is_text and as_text_columns -------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "a",
        b"a",
        ["a", "b"],
        [np.str_("a")],
        np.array(["a", "b"]),
        np.array([b"a", b"b"]),
        np.array(["a", "b"], dtype=object),
        (["a"], ["b"]),
        (np.array(["a"]), [b"b"]),
        ("a", "b"),
    ],
)
def test_is_text_accepts_strings_and_columns_of_them(value):
    assert is_text(value) is True


@pytest.mark.parametrize(
    "value",
    [
        [],
        (),
        [1, 2],
        [[1, 2]],
        np.array([1, 2]),
        np.array([1, 2], dtype=object),
        np.array([], dtype=object),
        {"token_ids": [[1]]},
        (["a"], [1]),
        (["a"], {"b": 1}),
        None,
        3,
    ],
)
def test_is_text_refuses_everything_else(value):
    assert is_text(value) is False


def test_as_text_columns_gives_lists_of_str():
    assert as_text_columns("one") == (["one"],)
    assert as_text_columns(b"caf\xc3\xa9") == (["café"],)
    assert as_text_columns(["a", "b"]) == (["a", "b"],)
    assert as_text_columns(np.array(["a", "b"])) == (["a", "b"],)
    assert as_text_columns((["a", "b"], np.array([b"c", b"d"]))) == (["a", "b"], ["c", "d"])
    columns = as_text_columns((np.array(["x"], dtype=object), [np.str_("y")]))
    assert columns == (["x"], ["y"])
    assert all(type(value) is str for column in columns for value in column)


def test_as_text_columns_refuses_uneven_segments():
    with pytest.raises(
        ValueError,
        match=r"The text segments have different numbers of rows \(\[1, 3\]\); "
        r"a sentence pair needs one first and one second sentence per example\. "
        r"Give every segment the same length\.",
    ):
        as_text_columns((["a", "b", "c"], ["d"]))


# TextBatches: lengths, values, labels --------------------------------------------------------


def test_batches_cover_every_row_with_a_smaller_last_batch():
    texts = ["the fox", "a dog", "the dog ran", "fox", "a fox ran far"]
    batches = TextBatches(
        texts,
        y=[0, 1, 2, 3, 4],
        sample_weight=[1, 2, 3, 4, 5],
        preprocessor=classifier_preprocessor(),
        batch_size=2,
        dynamic_length=False,
        workers=1,
    )
    assert len(batches) == 3 and batches.num_batches == 3 and batches.num_rows == 5
    (x0, y0, w0), (_, y1, w1), (x2, y2, w2) = batches_of(batches)
    np.testing.assert_array_equal(
        x0["token_ids"], [packed("the", "fox", width=40), packed("a", "dog", width=40)]
    )
    np.testing.assert_array_equal(x2["token_ids"], [packed("a", "fox", "ran", "far", width=40)])
    np.testing.assert_array_equal(x2["padding_mask"], [[True] * 6 + [False] * 34])
    np.testing.assert_array_equal(x2["segment_ids"], np.zeros((1, 40)))
    assert [y0.tolist(), y1.tolist(), y2.tolist()] == [[0, 1], [2, 3], [4]]
    assert w0.dtype == np.float32 and [w0.tolist(), w1.tolist(), w2.tolist()] == [
        [1, 2],
        [3, 4],
        [5],
    ]
    with pytest.raises(IndexError, match=r"Batch 3 is out of range for 3 batches\."):
        batches[3]
    with pytest.raises(IndexError, match=r"Batch -1 is out of range for 3 batches\."):
        batches[-1]


def test_batches_without_labels_are_the_inputs_alone():
    batches = TextBatches(
        ["the fox", "a dog ran"], preprocessor=classifier_preprocessor(), batch_size=4, workers=1
    )
    x = batches[0]
    assert isinstance(x, dict) and sorted(x) == ["padding_mask", "segment_ids", "token_ids"]
    np.testing.assert_array_equal(
        x["token_ids"], [packed("the", "fox", width=16), packed("a", "dog", "ran", width=16)]
    )


def test_dynamic_length_pads_each_batch_to_the_bucket_of_its_longest_row():
    short = "the fox"
    longer = " ".join(["the fox ran"] * 5)  # 15 words: 17 ids with [CLS] and [SEP]
    batches = TextBatches(
        [short, short, short, longer],
        preprocessor=classifier_preprocessor(),
        batch_size=2,
        workers=1,
    )
    first, second = batches_of(batches)
    assert first["token_ids"].shape == (2, 16)
    assert second["token_ids"].shape == (2, 32)
    assert second["padding_mask"].sum(axis=1).tolist() == [4, 17]
    fixed = TextBatches(
        [short, longer],
        preprocessor=classifier_preprocessor(),
        batch_size=2,
        dynamic_length=False,
        workers=1,
    )
    assert fixed[0]["token_ids"].shape == (2, 40)
    np.testing.assert_array_equal(fixed[0]["token_ids"][:, :32], second["token_ids"])


def test_sentence_pairs_are_packed_as_two_segments():
    batches = TextBatches(
        (["the fox", "a dog"], ["ran", "ran far"]),
        y=[1, 0],
        preprocessor=classifier_preprocessor(),
        batch_size=2,
        workers=1,
    )
    x, y = batches[0]
    np.testing.assert_array_equal(
        x["token_ids"][:, :8], [[2, 5, 6, 3, 7, 3, 0, 0], [2, 8, 9, 3, 7, 10, 3, 0]]
    )
    np.testing.assert_array_equal(
        x["segment_ids"][:, :8], [[0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 1, 0]]
    )
    assert y.tolist() == [1, 0]


def test_bad_arguments_are_refused():
    preprocessor = classifier_preprocessor()
    for bad in (0, -1, 2.0, None):
        with pytest.raises(
            ValueError, match=rf"`batch_size` must be a positive integer, got {bad!r}\."
        ):
            TextBatches(["a"], preprocessor=preprocessor, batch_size=bad)
    with pytest.raises(
        ValueError, match=r"`y` has 3 rows but the text has 2; give one y entry per example\."
    ):
        TextBatches(["a", "b"], y=[0, 1, 1], preprocessor=preprocessor)
    with pytest.raises(ValueError, match=r"`y` has no rows but the text has 2"):
        TextBatches(["a", "b"], y=1, preprocessor=preprocessor)
    with pytest.raises(ValueError, match=r"`sample_weight` has 1 rows but the text has 2"):
        TextBatches(["a", "b"], sample_weight=[1.0], preprocessor=preprocessor)


def test_worker_settings_default_to_two_threads():
    batches = TextBatches(["a"], preprocessor=classifier_preprocessor())
    assert text_batches.DEFAULT_WORKERS == 2
    assert (batches.workers, batches.use_multiprocessing, batches.max_queue_size) == (2, False, 10)
    batches = TextBatches(
        ["a"], preprocessor=classifier_preprocessor(), workers=3, max_queue_size=4
    )
    assert (batches.workers, batches.max_queue_size) == (3, 4)


# Order: shuffling per epoch, sorting by length and restoring -------------------------------------


def epoch_labels(batches):
    return np.concatenate([batch[1] for batch in batches_of(batches)]).tolist()


def test_shuffle_draws_a_new_order_each_epoch_from_the_seed():
    texts = [f"the {'fox ' * (i % 3)}dog" for i in range(10)]
    labels = np.arange(10)

    def make(seed, shuffle=True):
        return TextBatches(
            texts,
            labels,
            preprocessor=classifier_preprocessor(),
            batch_size=4,
            shuffle=shuffle,
            seed=seed,
            workers=1,
        )

    batches = make(seed=7)
    first = epoch_labels(batches)
    assert first == np.random.default_rng((7, 0)).permutation(10).tolist()
    batches.on_epoch_end()
    assert batches.epoch == 1
    second = epoch_labels(batches)
    assert second == np.random.default_rng((7, 1)).permutation(10).tolist()
    assert first != second
    assert sorted(first) == sorted(second) == list(range(10))
    assert epoch_labels(make(seed=7)) == first
    assert epoch_labels(make(seed=8)) != first

    unshuffled = make(seed=7, shuffle=False)
    assert epoch_labels(unshuffled) == list(range(10))
    unshuffled.on_epoch_end()
    assert epoch_labels(unshuffled) == list(range(10))


def test_seed_comes_from_numpy_when_not_given():
    np.random.seed(123)
    a = TextBatches(["a"], preprocessor=classifier_preprocessor()).seed
    np.random.seed(123)
    b = TextBatches(["a"], preprocessor=classifier_preprocessor()).seed
    assert a == b == int(np.random.RandomState(123).randint(0, 2**31 - 1))
    assert TextBatches(["a"], preprocessor=classifier_preprocessor(), seed=5).seed == 5


def test_sort_by_length_groups_rows_and_restore_order_undoes_it():
    texts = ["the fox ran far", "a", "the dog", "fox", "the fox ran", "dog ran"]
    batches = TextBatches(
        texts,
        y=np.arange(6),
        preprocessor=classifier_preprocessor(),
        batch_size=2,
        sort_by_length=True,
        workers=1,
    )
    # Stable order of character counts: 1 (a), 3 (fox), 7 (the dog, dog ran), 11, 15.
    np.testing.assert_array_equal(batches.order, [1, 3, 2, 5, 4, 0])
    rows = np.concatenate([batch[1] for batch in batches_of(batches)])
    np.testing.assert_array_equal(rows, [1, 3, 2, 5, 4, 0])
    # Outputs in batch order, mapped back to the caller's order, any structure.
    outputs = {"ids": rows, "scores": rows[:, None] * np.ones((1, 3))}
    restored = batches.restore_order(outputs)
    np.testing.assert_array_equal(restored["ids"], np.arange(6))
    np.testing.assert_array_equal(restored["scores"][:, 0], np.arange(6))
    np.testing.assert_array_equal(batches.restore_order((rows,))[0], np.arange(6))

    plain = TextBatches(texts, preprocessor=classifier_preprocessor(), batch_size=2, workers=1)
    np.testing.assert_array_equal(plain.restore_order(np.arange(6) * 10), np.arange(6) * 10)


def test_sort_by_length_counts_every_segment_of_a_pair():
    batches = TextBatches(
        (["a", "the dog ran", "fox"], ["the fox ran far", "a", "dog"]),
        preprocessor=classifier_preprocessor(),
        batch_size=3,
        sort_by_length=True,
        workers=1,
    )
    # Characters per pair: 16, 12, 6.
    np.testing.assert_array_equal(batches.order, [2, 1, 0])


# Masks: per batch and per epoch, reproducible whichever worker prepares a batch -------------------


def test_masks_depend_only_on_seed_epoch_and_batch():
    texts = ["the fox ran far the dog ran far"] * 6

    def make():
        return TextBatches(
            texts, preprocessor=masked_lm_preprocessor(), batch_size=3, seed=11, workers=1
        )

    forwards = make()
    in_order = [forwards[0], forwards[1]]
    backwards = make()
    reversed_order = [backwards[1], backwards[0]][::-1]
    for (x_a, y_a, w_a), (x_b, y_b, w_b) in zip(in_order, reversed_order, strict=True):
        np.testing.assert_array_equal(x_a["mask_positions"], x_b["mask_positions"])
        np.testing.assert_array_equal(x_a["token_ids"], x_b["token_ids"])
        np.testing.assert_array_equal(y_a, y_b)
        np.testing.assert_array_equal(w_a, w_b)
    # The same rows in two batches get different masks, and so do the same batch in two epochs.
    assert not np.array_equal(in_order[0][0]["mask_positions"], in_order[1][0]["mask_positions"])
    again = forwards[0]
    np.testing.assert_array_equal(again[0]["mask_positions"], in_order[0][0]["mask_positions"])
    forwards.on_epoch_end()
    assert not np.array_equal(forwards[0][0]["mask_positions"], in_order[0][0]["mask_positions"])


def test_masked_labels_are_the_original_ids_and_options_reach_the_preprocessor():
    texts = ["the fox ran far", "a dog ran", "the dog"]
    trimmed = TextBatches(
        texts,
        preprocessor=masked_lm_preprocessor(),
        batch_size=3,
        seed=0,
        workers=1,
        preprocess_options={"trim_mask_slots": True},
    )
    full = TextBatches(
        texts,
        preprocessor=masked_lm_preprocessor(),
        batch_size=3,
        seed=0,
        workers=1,
        preprocess_options={"trim_mask_slots": False},
    )
    x, y, weights = trimmed[0]
    x_full, y_full, weights_full = full[0]
    assert x_full["mask_positions"].shape == y_full.shape == weights_full.shape == (3, 10)
    # At most 4 selections in a row of 4 words: trimmed to the smallest mask bucket (8).
    assert int(weights_full.sum(axis=1).max()) <= 4
    assert x["mask_positions"].shape == y.shape == weights.shape == (3, 8)
    np.testing.assert_array_equal(x["mask_positions"], x_full["mask_positions"][:, :8])
    np.testing.assert_array_equal(weights_full[:, 8:], 0.0)
    unmasked = classifier_preprocessor()(texts)["token_ids"][:, :16]
    rows, slots = np.nonzero(weights)
    assert len(rows) > 0
    np.testing.assert_array_equal(y[rows, slots], unmasked[rows, x["mask_positions"][rows, slots]])


# MappedBatches ---------------------------------------------------------------------------


class RawBatches(keras.utils.PyDataset):
    """A caller's PyDataset whose items are given, recording its epoch hooks."""

    def __init__(self, items, **kwargs):
        super().__init__(**kwargs)
        self.items = items
        self.calls = []

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def on_epoch_begin(self):
        self.calls.append("begin")

    def on_epoch_end(self):
        self.calls.append("end")


def test_mapped_batches_preprocess_each_kind_of_item():
    already = {"token_ids": np.array([[2, 5, 3]])}
    items = [
        ["the fox", "a dog"],
        (["the fox", "a dog"], np.array([1, 0])),
        (["a dog"], [1], [0.5]),
        ((["the fox"], ["ran"]), [1]),
        already,
    ]
    raw = RawBatches(items, workers=3, use_multiprocessing=False, max_queue_size=5)
    mapped = MappedBatches(raw, classifier_preprocessor(), dynamic_length=True, seed=0)
    assert mapped.num_batches == 5
    assert (mapped.workers, mapped.use_multiprocessing, mapped.max_queue_size) == (3, False, 5)

    # A list of strings is a batch of texts (not one sentence pair).
    texts_only = mapped[0]
    np.testing.assert_array_equal(
        texts_only["token_ids"], [packed("the", "fox", width=16), packed("a", "dog", width=16)]
    )
    np.testing.assert_array_equal(texts_only["segment_ids"], np.zeros((2, 16)))
    x, y = mapped[1]
    np.testing.assert_array_equal(
        x["token_ids"], [packed("the", "fox", width=16), packed("a", "dog", width=16)]
    )
    assert y.tolist() == [1, 0]
    x, y, weights = mapped[2]
    assert (y.tolist(), weights.tolist(), weights.dtype) == ([1], [0.5], np.float32)
    x, y = mapped[3]
    np.testing.assert_array_equal(x["segment_ids"][0, :6], [0, 0, 0, 0, 1, 1])
    assert mapped[4] is already

    not_dynamic = MappedBatches(raw, classifier_preprocessor(), dynamic_length=False)
    assert not_dynamic[0]["token_ids"].shape == (2, 40)


def test_mapped_batches_forward_epoch_hooks_and_draw_new_masks():
    raw = RawBatches([["the fox ran far the dog ran far"] * 4])
    mapped = MappedBatches(raw, masked_lm_preprocessor(), seed=3)
    first = mapped[0]
    np.testing.assert_array_equal(mapped[0][0]["mask_positions"], first[0]["mask_positions"])
    mapped.on_epoch_begin()
    mapped.on_epoch_end()
    assert raw.calls == ["begin", "end"] and mapped.epoch == 1
    assert not np.array_equal(mapped[0][0]["mask_positions"], first[0]["mask_positions"])
    np.testing.assert_array_equal(
        MappedBatches(raw, masked_lm_preprocessor(), seed=3)[0][0]["mask_positions"],
        first[0]["mask_positions"],
    )


# IterableBatches and preprocessed_generator ---------------------------------------------------


def test_iterable_batches_read_the_source_afresh_each_epoch():
    made = []

    def make_iterator():
        made.append(len(made))
        return iter([(["the fox"], [0]), (["a dog", "ran"], [1, 2])])

    batches = IterableBatches(
        make_iterator, 2, classifier_preprocessor(), dynamic_length=True, seed=0
    )
    assert (batches.num_batches, batches.workers) == (2, 1)
    x, y = batches[0]
    assert y.tolist() == [0] and x["token_ids"].shape == (1, 16)
    x, y = batches[1]
    assert y.tolist() == [1, 2]
    assert made == [0]
    batches.on_epoch_end()
    assert batches.epoch == 1
    # The next epoch starts a new iterator, even if batch 0 is not asked for first.
    x, y = batches[1]
    assert y.tolist() == [0]
    assert made == [0, 1]
    x, y = batches[0]
    assert y.tolist() == [0] and made == [0, 1, 2]


def test_preprocessed_generator_is_lazy_and_seeded():
    pulled = []

    def source():
        for index in range(3):
            pulled.append(index)
            yield ["the fox ran far the dog ran far"] * 2

    generator = preprocessed_generator(source(), masked_lm_preprocessor(), seed=4)
    assert pulled == []
    first = next(generator)
    assert pulled == [0]
    rest = list(generator)
    assert pulled == [0, 1, 2] and len(rest) == 2
    again = list(preprocessed_generator(source(), masked_lm_preprocessor(), seed=4))
    for (x_a, y_a, _), (x_b, y_b, _) in zip([first, *rest], again, strict=True):
        np.testing.assert_array_equal(x_a["mask_positions"], x_b["mask_positions"])
        np.testing.assert_array_equal(y_a, y_b)
    # Each batch has its own random stream.
    assert not np.array_equal(first[0]["mask_positions"], rest[0][0]["mask_positions"])

    already = ({"token_ids": np.array([[1]])}, np.array([0]))
    assert next(preprocessed_generator(iter([already]), classifier_preprocessor())) is already


def test_preprocess_item_takes_lists_tuples_and_pairs():
    preprocessor = classifier_preprocessor(sequence_length=8)
    x, y = preprocess_item([["the fox"], [1]], preprocessor, False, None)
    np.testing.assert_array_equal(x["token_ids"], [packed("the", "fox", width=8)])
    assert y.tolist() == [1]
    x = preprocess_item("the fox", preprocessor, False, None)
    np.testing.assert_array_equal(x["token_ids"], [packed("the", "fox", width=8)])
    x = preprocess_item(["the fox", "a dog", "fox"], preprocessor, False, None)
    np.testing.assert_array_equal(
        x["token_ids"],
        [packed("the", "fox", width=8), packed("a", "dog", width=8), packed("fox", width=8)],
    )
    np.testing.assert_array_equal(x["segment_ids"], np.zeros((3, 8)))
    x, y = preprocess_item([["the fox", "a dog"], np.array([0, 1])], preprocessor, False, None)
    assert x["token_ids"].shape == (2, 8) and y.tolist() == [0, 1]
    pair = preprocess_item((["the"], ["fox"]), preprocessor, False, None)
    np.testing.assert_array_equal(pair["token_ids"], [[2, 5, 3, 6, 3, 0, 0, 0]])
    np.testing.assert_array_equal(pair["segment_ids"], [[0, 0, 0, 1, 1, 0, 0, 0]])


# padding_buckets -------------------------------------------------------------------------------


def test_bucket_lengths_double_from_the_smallest_and_stop_at_the_maximum():
    assert SMALLEST_BUCKET == 16
    assert [bucket_length(n, 512) for n in (0, 1, 15, 16, 17, 32, 33, 64, 65, 129, 257, 512)] == [
        16,
        16,
        16,
        16,
        32,
        32,
        64,
        64,
        128,
        256,
        512,
        512,
    ]
    assert bucket_length(90, 100) == 100
    assert bucket_length(3, 10) == 10
    assert [bucket_length(n, 12, smallest=8) for n in (0, 5, 8, 9, 12)] == [8, 8, 8, 12, 12]
    assert [bucket_length(n, 96, smallest=8) for n in (9, 17, 40, 70)] == [16, 32, 64, 96]
    assert type(bucket_length(3, 512)) is int


def test_trim_columns_cuts_only_the_named_arrays():
    arrays = {"a": np.arange(16).reshape(2, 8), "b": np.ones((2, 8)), "c": np.arange(5)}
    trimmed = trim_columns(arrays, ("a", "c"), 3)
    np.testing.assert_array_equal(trimmed["a"], [[0, 1, 2], [8, 9, 10]])
    assert trimmed["b"] is arrays["b"]
    np.testing.assert_array_equal(trimmed["c"], [0, 1, 2])
    assert trim_columns(arrays, (), 3).keys() == arrays.keys()
    assert trim_columns(arrays, ("a",), 20)["a"].shape == (2, 8)


# Batches without duplicate texts (in-batch negatives) ------------------------------------


def batch_texts(order, columns, batch_size):
    return [
        [column[row] for row in order[start : start + batch_size] for column in columns]
        for start in range(0, len(order), batch_size)
    ]


def test_without_duplicate_texts_keeps_every_row_and_repeats_no_text_in_a_batch():
    rng = np.random.default_rng(0)
    # 60 rows over 20 anchors: each anchor on 3 rows; positives unique except a few.
    anchors = [f"a{i % 20}" for i in range(60)]
    positives = [f"p{i}" if i % 13 else "shared" for i in range(60)]
    columns = (anchors, positives)
    order = rng.permutation(60)
    arranged = text_batches.without_duplicate_texts(order, columns, 8)
    assert sorted(arranged.tolist()) == list(range(60))
    for texts in batch_texts(arranged, columns, 8):
        assert len(texts) == len(set(texts)), texts
    # Rows that meet no repeat keep their order.
    unique = (["x", "y", "z", "w"], ["1", "2", "3", "4"])
    assert text_batches.without_duplicate_texts(np.arange(4), unique, 2).tolist() == [0, 1, 2, 3]


def test_without_duplicate_texts_fills_up_where_no_arrangement_exists():
    # "a" is on 4 rows but there are only 3 batches: the last one holds it twice.
    columns = (["a", "a", "a", "a", "b"],)
    arranged = text_batches.without_duplicate_texts(np.arange(5), columns, 2)
    assert arranged.tolist() == [0, 4, 1, 2, 3]
    assert len(arranged) == 5


def test_text_batches_avoid_duplicates_in_every_epoch_and_keep_their_length():
    anchors = [f"the fox {i % 3}" for i in range(12)]
    positives = [f"a dog {i}" for i in range(12)]
    from textbones.models import BertTextEmbedderPreprocessor

    batches = TextBatches(
        (anchors, positives),
        preprocessor=BertTextEmbedderPreprocessor(tokenizer()),
        batch_size=3,
        shuffle=True,
        seed=4,
        preprocess_options={"separate_columns": True},
        workers=1,
    )
    batches.avoid_duplicate_texts()
    assert len(batches) == 4
    orders = []
    for epoch in range(3):
        order = batches._epoch_order
        orders.append(order.tolist())
        assert sorted(order.tolist()) == list(range(12))
        for texts in batch_texts(order, (anchors, positives), 3):
            assert len(texts) == len(set(texts))
        x, y = batches[0]
        # Anchors then positives, each packed on its own row; y says each row's column.
        assert x["token_ids"].shape[0] == 6
        assert y.tolist() == [[1, 0]] * 3 + [[0, 1]] * 3
        batches.on_epoch_end()
    assert orders[0] != orders[1]
