"""Time tokenize + pack of 20,000 English-like sentences to length 128, side by side.

Contenders, all on the same sentences and the same WordPiece vocabulary, in one process:

* textbones: ``BertTextClassifierPreprocessor`` (tokenizer + packer) on whole batches;
* KerasHub: its ``BertTokenizer`` + ``MultiSegmentPacker`` called directly on batches, and
  the same inside a batched ``tf.data`` pipeline;
* raw Hugging Face ``tokenizers``: ``encode_batch`` with padding, the floor for any
  library built on it.

Run in the reference environment (KerasHub needs TensorFlow)::

    .venv-ref/bin/python bench/tokenizing.py

The sentences are generated from a fixed word list with a fixed seed (no copied text).
"""

import os
import statistics
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

SENTENCES, LENGTH, BATCH = 20_000, 128, 256
WORDS = (
    "the a of to and in is was for on that with as by at from it his an were are which this "
    "be or has had first one their its new after but who not they have her she two been other "
    "when there all during into school time may years more most only over city some world would "
    "where later up such used many can state about national out known university united then made "
    "Paris London river music family season game team party film war album north south village "
    "playing running colourful résumé naïve café über quickly 2024 3.14 well-known don't e-mail"
).split()


def make_sentences(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.gamma(2.0, 8.0, count).astype(int), 3, 120)
    sentences = []
    for length in lengths:
        words = rng.choice(WORDS, length)
        sentences.append(" ".join(words).capitalize() + rng.choice([".", "!", "?", ","]))
    return sentences


def timed(function, repeats: int = 3) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    import tokenizers

    import textbones
    from textbones.models.bert.text_classifier_preprocessor import BertTextClassifierPreprocessor
    from textbones.models.bert.tokenizer import BertTokenizer
    from textbones.preprocessing.word_piece_vocabulary import compute_word_piece_vocabulary

    sentences = make_sentences(SENTENCES)
    vocabulary = compute_word_piece_vocabulary(
        sentences,
        2000,
        lowercase=True,
        reserved_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    batches = [sentences[i : i + BATCH] for i in range(0, len(sentences), BATCH)]
    results = {}

    ours = BertTextClassifierPreprocessor(
        BertTokenizer(vocabulary=vocabulary, lowercase=True), sequence_length=LENGTH
    )
    results["textbones"] = timed(lambda: [ours(batch) for batch in batches])

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(vocabulary))
    raw = tokenizers.BertWordPieceTokenizer(handle.name, lowercase=True)
    raw.enable_padding(length=LENGTH, pad_id=0)
    raw.enable_truncation(LENGTH)

    def raw_run():
        for batch in batches:
            np.asarray([encoding.ids for encoding in raw.encode_batch(batch)], "int32")

    results["raw tokenizers"] = timed(raw_run)

    try:
        import keras_hub
        import tensorflow as tf
    except ImportError:
        keras_hub = None
    if keras_hub is not None:
        theirs = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
        packer = keras_hub.layers.MultiSegmentPacker(
            sequence_length=LENGTH, start_value=theirs.cls_token_id, end_value=theirs.sep_token_id
        )
        results["KerasHub direct"] = timed(
            lambda: [packer(theirs(batch)) for batch in batches], repeats=1
        )
        dataset = tf.data.Dataset.from_tensor_slices(sentences).batch(BATCH)
        dataset = dataset.map(lambda x: packer(theirs(x)), num_parallel_calls=tf.data.AUTOTUNE)
        results["KerasHub tf.data"] = timed(lambda: [None for _ in dataset], repeats=3)

    print(
        f"{SENTENCES} sentences, batches of {BATCH}, packed to {LENGTH} "
        f"(textbones {textbones.__version__})"
    )
    for name, seconds in results.items():
        print(f"{name:>18}: {seconds:7.3f} s  ({SENTENCES / seconds:9.0f} sentences/s)")
    base = results["textbones"]
    for name, seconds in results.items():
        if name != "textbones":
            print(f"textbones vs {name}: {seconds / base:.2f}x")


if __name__ == "__main__":
    main()
