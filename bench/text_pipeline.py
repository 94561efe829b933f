"""Time raw text through ``predict`` and ``fit``, textbones vs KerasHub, side by side in one run.

A BERT-small-sized model (``bert_small_en_uncased``'s config: 4 layers, hidden 512, 8
heads, intermediate 2048, vocabulary 30522) with random weights, on English-like
sentences of uneven length generated from a fixed word list (most under 40 words, a
long tail up to a few hundred). Both libraries get the same WordPiece vocabulary of
30522 tokens, built here from the same generated words, and batches of 32:

* ``predict`` of a ``BertTextClassifier`` (2 classes) on the raw strings;
* one epoch of ``fit`` of a ``BertMaskedLM`` on the raw strings (masks drawn by the
  preprocessor).

Each runs with both libraries at their defaults (``sequence_length=512``; KerasHub's
masked LM keeps its default ``mask_selection_length=96``), and again with KerasHub given
``sequence_length=128``. textbones pads each batch only to a bucket of its longest row
and trims unused mask slots; KerasHub pads every row to ``sequence_length``.

The sentences are cut into chunks of whole batches; every contender processes chunk 1,
then every contender chunk 2, and so on, so that the load of a shared machine hits all
alike. The sum over the chunks is one pass (one epoch) over all sentences. On JAX, the
time spent tracing and compiling (JAX's compile-time events) is measured during each
call and reported apart: the main columns exclude it for every contender, the
"with compile" line includes it for every contender. On the other backends compile time
cannot be told apart and is included.

The script also times the textbones fit pipeline alone (iterating its ``TextBatches``:
tokenize, pack, mask, pad, on one thread) and reports it as a fraction of the fit time,
and lists the padded shapes that pipeline makes.

Run it in the reference environment, which has KerasHub (and TensorFlow) installed::

    .venv-ref/bin/python bench/text_pipeline.py                     # JAX
    .venv-ref/bin/python bench/text_pipeline.py --backend torch
    .venv-ref/bin/python bench/text_pipeline.py --sentences 512     # a quick look
"""

import argparse
import functools
import itertools
import os
import sys
import time


def _backend_from_argv() -> str:
    for index, argument in enumerate(sys.argv):
        if argument == "--backend" and index + 1 < len(sys.argv):
            return sys.argv[index + 1]
        if argument.startswith("--backend="):
            return argument.split("=", 1)[1]
    return os.environ.get("KERAS_BACKEND", "jax")


os.environ["KERAS_BACKEND"] = _backend_from_argv()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

BERT_SMALL = dict(
    vocabulary_size=30522,
    num_layers=4,
    num_heads=8,
    hidden_dim=512,
    intermediate_dim=2048,
    max_sequence_length=512,
)
BATCH = 32
RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ONSETS = (
    "b c d f g h j k l m n p r s t v w y z "
    "bl br ch cl cr dr fl fr gl gr pl pr sc sh sl sp st str th tr wh"
).split()
VOWELS = "a e i o u ai ea ee ie oo ou".split()
CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "st", "ck", "rt"]
PUNCTUATION = list(".,!?;:'\"()-")


def make_words(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct pseudo-English words of one to three syllables."""
    rng = np.random.default_rng(seed)
    words = dict.fromkeys([])
    while len(words) < count:
        draws = 4 * count
        syllables = [
            np.array(ONSETS)[rng.integers(len(ONSETS), size=draws)]
            + np.array(VOWELS)[rng.integers(len(VOWELS), size=draws)]
            + np.array(CODAS)[rng.integers(len(CODAS), size=draws)]
            for _ in range(3)
        ]
        sizes = np.minimum(rng.geometric(0.5, size=draws), 3)
        for index, size in enumerate(sizes):
            words.setdefault("".join(syllables[part][index] for part in range(size)))
            if len(words) == count:
                break
    return list(words)


def make_vocabulary(words: list[str], size: int) -> list[str]:
    """A WordPiece vocabulary of exactly ``size`` entries: specials, characters, the
    words' syllables as ``##`` pieces, then whole words (the commonest first)."""
    characters = sorted(set("".join(words)) | set(PUNCTUATION) | set("0123456789"))
    pieces = ["##" + c for c in characters if c.isalpha()]
    pieces += ["##" + onset + vowel for onset in ONSETS for vowel in VOWELS] + [
        "##" + coda for coda in CODAS
    ]
    vocabulary = list(
        dict.fromkeys(RESERVED + characters + [piece for piece in pieces if piece != "##"])
    )
    taken = set(vocabulary)
    vocabulary += [word for word in words if word not in taken][: size - len(vocabulary)]
    if len(vocabulary) != size:
        raise ValueError(f"Only {len(vocabulary)} vocabulary entries; generate more words.")
    return vocabulary


def make_sentences(words: list[str], count: int, seed: int = 0) -> list[str]:
    """Sentences of log-normal length (median 17 words, ~10% over 40, a few over 200),
    with Zipf-distributed words, so common words are whole tokens and rare ones split."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.round(rng.lognormal(np.log(17.0), 0.7, count)), 2, 400).astype(int)
    return sentences_of_lengths(words, lengths, rng)


def sentences_of_lengths(words: list[str], lengths, rng: np.random.Generator) -> list[str]:
    """One sentence per entry of ``lengths`` (its number of words), the words drawn
    Zipf-distributed from ``words``; some longer ones get a comma, each an end mark."""
    ranks = np.arange(1, len(words) + 1)
    frequencies = 1.0 / ranks**1.05
    frequencies /= frequencies.sum()
    sentences = []
    for length in lengths:
        chosen = rng.choice(len(words), size=length, p=frequencies)
        text = " ".join(words[i] for i in chosen)
        if length > 8 and rng.random() < 0.5:
            cut = text.split(" ")
            cut[len(cut) // 2] += ","
            text = " ".join(cut)
        sentences.append(text.capitalize() + rng.choice([".", ".", ".", "!", "?"]))
    return sentences


class CompileClock:
    """Seconds JAX spends tracing, lowering and compiling while ``measure`` is active."""

    EVENTS = (
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    )

    def __init__(self):
        self.seconds = 0.0
        self.enabled = keras.backend.backend() == "jax"
        if self.enabled:
            import jax

            jax.monitoring.register_event_duration_secs_listener(self._record)

    def _record(self, event, duration, **kwargs):
        if event in self.EVENTS:
            self.seconds += duration

    def measure(self, function):
        """Run ``function()``; return (wall seconds, compile seconds within them)."""
        before = self.seconds
        start = time.perf_counter()
        function()
        return time.perf_counter() - start, self.seconds - before


def build_contenders(vocabulary: list[str], textbones_only: bool) -> dict:
    """name -> (classifier, masked LM) for textbones, KerasHub at 512 and at 128."""
    import textbones

    tb = textbones.models
    tokenizer = tb.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    contenders = {
        "textbones": (
            tb.BertTextClassifier(
                tb.BertBackbone(**BERT_SMALL),
                2,
                preprocessor=tb.BertTextClassifierPreprocessor(tokenizer),
            ),
            tb.BertMaskedLM(
                tb.BertBackbone(**BERT_SMALL), preprocessor=tb.BertMaskedLMPreprocessor(tokenizer)
            ),
        )
    }
    if textbones_only:
        return contenders
    import keras_hub

    kh = keras_hub.models
    tokenizer = kh.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    for name, length in (("KerasHub 512", 512), ("KerasHub 128", 128)):
        contenders[name] = (
            kh.BertTextClassifier(
                kh.BertBackbone(**BERT_SMALL),
                2,
                preprocessor=kh.BertTextClassifierPreprocessor(tokenizer, sequence_length=length),
            ),
            kh.BertMaskedLM(
                kh.BertBackbone(**BERT_SMALL),
                preprocessor=kh.BertMaskedLMPreprocessor(tokenizer, sequence_length=length),
            ),
        )
    return contenders


def pipeline_alone(masked_lm, sentences: list[str]) -> tuple[float, dict]:
    """Seconds to make every batch of one textbones fit epoch on one thread, and the
    count of batches per (padded length, mask slots) shape."""
    from textbones.preprocessing.text_batches import TextBatches

    batches = TextBatches(
        sentences,
        preprocessor=masked_lm.preprocessor,
        batch_size=BATCH,
        shuffle=True,
        dynamic_length=masked_lm._uses_dynamic_length,
        preprocess_options=masked_lm._preprocess_options("fit"),
        workers=1,
    )
    shapes = {}
    start = time.perf_counter()
    for index in range(len(batches)):
        x, _, _ = batches[index]
        shape = (x["token_ids"].shape[1], x["mask_positions"].shape[1])
        shapes[shape] = shapes.get(shape, 0) + 1
    return time.perf_counter() - start, dict(sorted(shapes.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", default=os.environ["KERAS_BACKEND"], help="jax (default), torch or tensorflow"
    )
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument(
        "--chunks", type=int, default=4, help="alternation rounds (chunks of whole batches)"
    )
    parser.add_argument("--textbones-only", action="store_true")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    words = make_words(60_000)
    vocabulary = make_vocabulary(words, BERT_SMALL["vocabulary_size"])
    sentences = make_sentences(words, args.sentences)
    batches = -(-len(sentences) // BATCH)
    bounds = np.linspace(0, batches, min(args.chunks, batches) + 1).round().astype(int) * BATCH
    chunks = [sentences[start:stop] for start, stop in itertools.pairwise(bounds)]

    contenders = build_contenders(vocabulary, args.textbones_only)
    clock = CompileClock()
    # task -> contender -> [(wall seconds, compile seconds) per chunk]
    timings = {task: {name: [] for name in contenders} for task in ("predict", "fit")}
    for task in ("predict", "fit"):
        for chunk in chunks:
            for name, (classifier, masked_lm) in contenders.items():
                if task == "predict":
                    run = functools.partial(classifier.predict, chunk, batch_size=BATCH, verbose=0)
                else:
                    run = functools.partial(
                        masked_lm.fit, chunk, batch_size=BATCH, epochs=1, verbose=0
                    )
                wall, compiling = clock.measure(run)
                timings[task][name].append((wall, compiling))
                print(
                    f"  {task:7s} {name:13s} {len(chunk):5d} sentences: "
                    f"{wall:7.1f} s (compile {compiling:5.1f} s)",
                    flush=True,
                )

    preprocessing, shapes = pipeline_alone(contenders["textbones"][1], sentences)

    lengths = np.array([len(sentence.split()) for sentence in sentences])
    print(
        f"\nbackend: {keras.backend.backend()}, BERT-small, {len(sentences)} sentences "
        f"(words: median {int(np.median(lengths))}, {np.mean(lengths < 40):.0%} under 40, "
        f"max {lengths.max()}), "
        f"batch {BATCH}, {len(chunks)} alternating chunks"
    )
    compile_note = "excluding compile" if clock.enabled else "compile included"
    header = f"{'':26s}" + "".join(f"{name:>14s}" for name in contenders)
    net = {
        task: {
            name: [wall - (compiling if clock.enabled else 0.0) for wall, compiling in runs]
            for name, runs in by_name.items()
        }
        for task, by_name in timings.items()
    }
    for task in ("predict", "fit"):
        title = "predict (TextClassifier)" if task == "predict" else "fit, 1 epoch (MaskedLM)"
        print(f"\n{title}\n{header}")
        totals = {name: sum(net[task][name]) for name in contenders}
        print(
            f"{'seconds, ' + compile_note:26s}"
            + "".join(f"{totals[name]:14.1f}" for name in contenders)
        )
        if clock.enabled:
            compiles = {name: sum(c for _, c in timings[task][name]) for name in contenders}
            with_compile = {name: sum(w for w, _ in timings[task][name]) for name in contenders}
            print(
                f"{'compile seconds':26s}"
                + "".join(f"{compiles[name]:14.1f}" for name in contenders)
            )
            print(
                f"{'seconds with compile':26s}"
                + "".join(f"{with_compile[name]:14.1f}" for name in contenders)
            )
        for name in contenders:
            if name == "textbones":
                continue
            per_chunk = [
                theirs / ours for theirs, ours in zip(net[task][name], net[task]["textbones"])
            ]
            line = (
                f"textbones vs {name}: {totals[name] / totals['textbones']:.2f}x "
                f"(per chunk: {', '.join(f'{ratio:.2f}' for ratio in per_chunk)}; "
                f"median {np.median(per_chunk):.2f})"
            )
            if clock.enabled:
                line += f"; {with_compile[name] / with_compile['textbones']:.2f}x with compile"
            print(line)

    fit_wall = sum(net["fit"]["textbones"])
    print(
        "\ntextbones fit pipeline alone (tokenize, pack, mask, pad; one thread): "
        f"{preprocessing:.1f} s "
        f"= {preprocessing / fit_wall:.0%} of its fit time ({compile_note})"
    )
    print(
        "batches per (padded length, mask slots):",
        ", ".join(f"{k}: {v}" for k, v in shapes.items()),
    )


if __name__ == "__main__":
    main()
