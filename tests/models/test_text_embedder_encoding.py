"""``TextEmbedder.encode_text``: float32 rows in the caller's order, batched by length, and a
progress bar only for long work."""

import keras
import numpy as np

import textbones
from textbones.models.text_embedder import LateProgressBar

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *(f"w{i}" for i in range(30))]


def tiny_embedder():
    tokenizer = textbones.models.BertTokenizer(vocabulary=VOCABULARY)
    backbone = textbones.models.BertBackbone(
        len(VOCABULARY), 1, 2, 8, 16, dropout=0.0, max_sequence_length=64
    )
    preprocessor = textbones.models.BertTextEmbedderPreprocessor(tokenizer, sequence_length=64)
    return textbones.models.BertTextEmbedder(backbone, preprocessor)


def texts(count: int) -> list[str]:
    rng = np.random.default_rng(0)
    return [
        " ".join(f"w{i}" for i in rng.integers(0, 30, rng.integers(1, 40))) for _ in range(count)
    ]


def test_encode_text_gives_float32_rows_in_order_batched_by_length(capsys):
    embedder = tiny_embedder()
    corpus = texts(20)
    embedder.encode_text(corpus, batch_size=4)  # compiles a step per padded width
    capsys.readouterr()
    encoded = embedder.encode_text(corpus, batch_size=4)
    assert encoded.dtype == np.float32 and encoded.shape == (20, 8)
    # Short work prints nothing: no progress bar, no per-call line.
    assert capsys.readouterr().out == ""
    one_by_one = np.concatenate([embedder.encode_text(text) for text in corpus])
    np.testing.assert_allclose(encoded, one_by_one, atol=1e-5)
    if keras.config.backend() != "tensorflow":
        # Rows grouped by length: each batch is padded to a bucket of its longest row.
        batches = embedder._adapt_data(corpus, batch_size=4, sort_by_length=True)[1]
        widths = [batches[index]["token_ids"].shape[1] for index in range(len(batches))]
        assert widths == sorted(widths) and widths[0] < widths[-1] <= 64


def test_the_progress_bar_shows_once_work_takes_longer_than_its_delay(capsys):
    embedder = tiny_embedder()
    corpus = texts(12)
    embedder.predict(corpus, batch_size=2, verbose=0, callbacks=[LateProgressBar(delay=0.0)])
    shown = capsys.readouterr().out
    assert shown.count("6/6") == 1 and shown.endswith("\n")
    embedder.predict(corpus, batch_size=2, verbose=0, callbacks=[LateProgressBar(delay=600.0)])
    assert capsys.readouterr().out == ""
