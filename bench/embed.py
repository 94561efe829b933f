"""Time sentence embedding, textbones vs sentence-transformers vs KerasHub, in one run.

An all-MiniLM-L6-v2-sized BERT (6 layers, hidden 384, 12 heads, intermediate 1536,
vocabulary 30522) with random weights, the same weights in all three libraries: built in
textbones, saved as a textbones preset (which KerasHub loads as its ``BertTextEmbedder``)
and exported as a transformers checkpoint (which sentence-transformers wraps in
``Transformer`` + ``Pooling("mean")`` + ``Normalize``). Every library gets the same
WordPiece vocabulary (generated words, as in ``bench/text_pipeline.py``), mean pooling,
L2 normalization, a limit of 256 tokens and batches of 32:

* textbones: ``BertTextEmbedder.encode_text`` (the backend Keras uses; JAX by default);
* sentence-transformers: ``SentenceTransformer.encode`` (torch, CPU);
* KerasHub: ``BertTextEmbedder.predict`` at its defaults (``sequence_length=256``).

The sentences are English-like, of uneven length (4 to 60 words, most short), generated
deterministically. They are cut into chunks of whole batches; every contender encodes
chunk 1, then every contender chunk 2, and so on, so that the load of a shared machine hits
all alike. Before timing, each contender encodes a warm-up sample (compilation, caches):
textbones, whose batches are padded to length buckets, batches of 32 sentences of equal
length taken at eleven points of the length range (one per bucket the data reaches); the
others, which pad to a fixed length or compile nothing, two batches. On JAX the time spent
compiling inside the timed region is measured and reported, and the ratios are given both
with it and without it. The script prints sentences per second, the ratios, and the
largest absolute difference between the libraries' embeddings.

Run it in the reference environment, which has all three installed::

    .venv-ref/bin/python bench/embed.py                    # 10,000 sentences
    .venv-ref/bin/python bench/embed.py --sentences 2000   # a quicker look
"""

import argparse
import importlib.util
import itertools
import os
import pathlib
import tempfile
import time

# bench/text_pipeline.py is loaded by its file name below.
HERE = pathlib.Path(__file__).resolve().parent
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

MINILM_L6 = dict(
    vocabulary_size=30522,
    num_layers=6,
    num_heads=12,
    hidden_dim=384,
    intermediate_dim=1536,
    max_sequence_length=512,
)
BATCH = 32
SEQUENCE_LENGTH = 256
MIN_WORDS, MAX_WORDS = 4, 60


def _text_pipeline():
    spec = importlib.util.spec_from_file_location("bench_text_pipeline", HERE / "text_pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_sentences(words: list[str], count: int, seed: int = 0, pipeline=None) -> list[str]:
    """``count`` sentences of 4 to 60 words, skewed short (median about 13), with
    Zipf-distributed words, so common words are whole tokens and rare ones split."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.round(rng.lognormal(np.log(13.0), 0.6, count)), MIN_WORDS, MAX_WORDS)
    pipeline = pipeline or _text_pipeline()
    return pipeline.sentences_of_lengths(words, lengths.astype(int), rng)


def build_contenders(vocabulary: list[str], folder: pathlib.Path, textbones_only: bool) -> dict:
    """name -> a function that embeds a list of sentences (float32 ``[n, 384]``)."""
    import textbones

    tb = textbones.models
    keras.utils.set_random_seed(0)
    tokenizer = tb.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    backbone = tb.BertBackbone(**MINILM_L6)
    embedder = tb.BertTextEmbedder(
        backbone, tb.BertTextEmbedderPreprocessor(tokenizer, sequence_length=SEQUENCE_LENGTH)
    )
    contenders = {
        "textbones": lambda texts: embedder.encode_text(texts, batch_size=BATCH, verbose=0)
    }
    if textbones_only:
        return contenders

    # The same weights for the others: a textbones preset (KerasHub reads it) and a
    # transformers checkpoint exported from it (sentence-transformers reads that).
    preset, checkpoint = folder / "preset", folder / "transformers"
    backbone.save_to_preset(preset)
    tokenizer.save_to_preset(preset)
    textbones.presets.convert(preset, checkpoint, format="transformers")

    import keras_hub
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    keras_hub_embedder = keras_hub.models.BertTextEmbedder.from_preset(str(preset))
    if keras_hub_embedder.preprocessor.sequence_length != SEQUENCE_LENGTH:
        raise RuntimeError("KerasHub's BertTextEmbedderPreprocessor default is no longer 256.")
    transformer = Transformer(str(checkpoint), max_seq_length=SEQUENCE_LENGTH)
    pooling = Pooling(transformer.get_embedding_dimension(), "mean")
    sentence_transformer = SentenceTransformer(
        modules=[transformer, pooling, Normalize()], device="cpu"
    )
    sentence_transformer.eval()

    def encode_with_sentence_transformers(texts):
        with torch.inference_mode():
            return sentence_transformer.encode(
                texts, batch_size=BATCH, convert_to_numpy=True, show_progress_bar=False
            )

    contenders["sentence-transformers"] = encode_with_sentence_transformers
    contenders["KerasHub"] = lambda texts: np.asarray(
        keras_hub_embedder.predict(texts, batch_size=BATCH, verbose=0)
    )
    return contenders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument(
        "--chunks", type=int, default=4, help="alternation rounds (chunks of whole batches)"
    )
    parser.add_argument("--textbones-only", action="store_true")
    args = parser.parse_args()

    pipeline = _text_pipeline()
    words = pipeline.make_words(60_000)
    vocabulary = pipeline.make_vocabulary(words, MINILM_L6["vocabulary_size"])
    sentences = make_sentences(words, args.sentences, pipeline=pipeline)
    batches = -(-len(sentences) // BATCH)
    bounds = np.linspace(0, batches, min(args.chunks, batches) + 1).round().astype(int) * BATCH
    chunks = [sentences[start:stop] for start, stop in itertools.pairwise(bounds)]
    by_length = sorted(sentences, key=lambda sentence: len(sentence.split()))
    starts = np.linspace(0, max(len(by_length) - BATCH, 0), 11).round().astype(int)
    warm_up = {
        "textbones": [text for start in starts for text in by_length[start : start + BATCH]],
        "others": sentences[: 2 * BATCH],
    }

    with tempfile.TemporaryDirectory() as folder:
        contenders = build_contenders(vocabulary, pathlib.Path(folder), args.textbones_only)
        for name, encode in contenders.items():
            encode(warm_up["textbones" if name == "textbones" else "others"])
        clock = pipeline.CompileClock()
        seconds = {name: [] for name in contenders}
        compiling = {name: 0.0 for name in contenders}
        outputs = {name: [] for name in contenders}
        for chunk in chunks:
            for name, encode in contenders.items():
                before = clock.seconds
                start = time.perf_counter()
                outputs[name].append(encode(chunk))
                seconds[name].append(time.perf_counter() - start)
                compiling[name] += clock.seconds - before
                print(
                    f"  {name:22s} {len(chunk):6d} sentences: {seconds[name][-1]:7.1f} s",
                    flush=True,
                )

    lengths = np.array([len(sentence.split()) for sentence in sentences])
    print(
        f"\nbackend: {keras.backend.backend()}, all-MiniLM-L6-v2-sized BERT, "
        f"{len(sentences)} sentences (words: median {int(np.median(lengths))}, "
        f"mean {lengths.mean():.1f}, {lengths.min()}-{lengths.max()}), batch {BATCH}, "
        f"{len(chunks)} alternating chunks"
    )
    totals = {name: sum(times) for name, times in seconds.items()}
    for name, total in totals.items():
        line = f"{name:>22s}: {total:7.1f} s, {len(sentences) / total:7.1f} sentences/s"
        if clock.enabled:
            line += f" (compile inside the timed region: {compiling[name]:.1f} s)"
        print(line)
    for name in contenders:
        if name == "textbones":
            continue
        per_chunk = [theirs / ours for theirs, ours in zip(seconds[name], seconds["textbones"])]
        line = (
            f"textbones vs {name}: {totals[name] / totals['textbones']:.2f}x "
            f"(per chunk: {', '.join(f'{ratio:.2f}' for ratio in per_chunk)})"
        )
        if clock.enabled and any(compiling.values()):
            net = {key: totals[key] - compiling[key] for key in (name, "textbones")}
            line += f"; {net[name] / net['textbones']:.2f}x without compile"
        print(line)
    embeddings = {name: np.concatenate(parts) for name, parts in outputs.items()}
    for name, values in embeddings.items():
        if name != "textbones":
            difference = np.abs(values - embeddings["textbones"]).max()
            print(f"max abs difference, textbones vs {name}: {difference:.2e}")


if __name__ == "__main__":
    main()
