"""Time the token-level tasks, textbones vs transformers' pipelines, in one run.

NER half: an all-MiniLM-L6-v2-sized BERT (6 layers, hidden 384, 12 heads, intermediate
1536, vocabulary 30522) with a 9-label token-classification head (CoNLL's tags), random
weights, the same in both libraries: built in textbones and exported as a transformers
``BertForTokenClassification`` checkpoint (with its WordPiece vocabulary of generated
words, as in ``bench/text_pipeline.py``). Both find the entities of the same English-like
sentences of uneven length (4 to 60 words, most short; ``text_pipeline.sentences_of_lengths``)
with ``aggregation_strategy="simple"``, texts cut at 128 tokens, batches of 32:

* textbones: ``BertTokenClassifier.predict_entities`` (the backend Keras uses; JAX by
  default), which groups texts of similar length into batches padded to length buckets;
* transformers: ``pipeline("token-classification")`` (torch, CPU), ``batch_size=32``.

Each contender first finds the entities of a warm-up sample (compilation, caches), then
of all sentences in one timed call. The script prints sentences per second, the ratio, the
compile time inside the timed region on JAX, and how many texts got exactly the same
entities (labels, words, offsets; scores within 1e-4).

QA half (``--task qa``): ``bench/token_tasks_qa.py``, run in its own process with
transformers 4.57 from ``.venv-qa`` (see ``question_answering``).

Run it in the reference environment, which has both installed::

    .venv-ref/bin/python bench/token_tasks.py                    # 2,000 sentences
    .venv-ref/bin/python bench/token_tasks.py --sentences 500    # a quicker look
"""

import argparse
import importlib.util
import os
import pathlib
import sys
import tempfile
import time

# bench/text_pipeline.py is loaded by its file name below.
HERE = pathlib.Path(__file__).resolve().parent
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

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
LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
BATCH = 32
SEQUENCE_LENGTH = 128
MIN_WORDS, MAX_WORDS = 4, 60


def _text_pipeline():
    spec = importlib.util.spec_from_file_location("bench_text_pipeline", HERE / "text_pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_sentences(words: list[str], count: int, pipeline, seed: int = 0) -> list[str]:
    """``count`` sentences of 4 to 60 words, skewed short (median about 13)."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.round(rng.lognormal(np.log(13.0), 0.6, count)), MIN_WORDS, MAX_WORDS)
    return pipeline.sentences_of_lengths(words, lengths.astype(int), rng)


def build_ner_contenders(vocabulary: list[str], folder: pathlib.Path, textbones_only: bool):
    """name -> a function that gives the entities of each of a list of sentences."""
    import textbones

    tb = textbones.models
    keras.utils.set_random_seed(0)
    tokenizer = tb.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    preprocessor = tb.BertTokenClassifierPreprocessor(tokenizer, sequence_length=SEQUENCE_LENGTH)
    tagger = tb.BertTokenClassifier(
        tb.BertBackbone(**MINILM_L6), preprocessor=preprocessor, id2label=LABELS
    )
    # Random heads tag almost everything O; a wider spread gives entities to compare.
    kernel = keras.ops.convert_to_numpy(tagger.output_dense.kernel)
    tagger.output_dense.kernel.assign(kernel * 10.0)
    contenders = {
        "textbones": lambda texts: tagger.predict_entities(
            texts, aggregation_strategy="simple", batch_size=BATCH
        )
    }
    if textbones_only:
        return contenders

    import torch
    import transformers

    checkpoint = folder / "transformers"
    tagger.save_to_preset(checkpoint, format="transformers")
    model = transformers.AutoModelForTokenClassification.from_pretrained(str(checkpoint))
    model.eval()
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(str(checkpoint))
    if hf_tokenizer.model_max_length != SEQUENCE_LENGTH:
        raise RuntimeError("The exported tokenizer does not cut texts at SEQUENCE_LENGTH.")
    pipe = transformers.pipeline(
        "token-classification", model=model, tokenizer=hf_tokenizer, device="cpu"
    )

    def with_transformers(texts):
        with torch.inference_mode():
            return pipe(texts, aggregation_strategy="simple", batch_size=BATCH)

    contenders["transformers"] = with_transformers
    return contenders


def _same(ours: list[dict], theirs: list[dict]) -> bool:
    keys = ("entity_group", "word", "start", "end")
    return len(ours) == len(theirs) and all(
        all(a[key] == b[key] for key in keys) and abs(a["score"] - float(b["score"])) <= 1e-4
        for a, b in zip(ours, theirs)
    )


def named_entities(args, pipeline) -> None:
    words = pipeline.make_words(60_000)
    vocabulary = pipeline.make_vocabulary(words, MINILM_L6["vocabulary_size"])
    sentences = make_sentences(words, args.sentences, pipeline)
    by_length = sorted(sentences, key=lambda sentence: len(sentence.split()))
    starts = np.linspace(0, max(len(by_length) - BATCH, 0), 11).round().astype(int)
    warm_up = [text for start in starts for text in by_length[start : start + BATCH]]
    with tempfile.TemporaryDirectory() as folder:
        contenders = build_ner_contenders(vocabulary, pathlib.Path(folder), args.textbones_only)
        for find in contenders.values():
            find(warm_up)
        clock = pipeline.CompileClock()
        seconds, compiling, found = {}, {}, {}
        for name, find in contenders.items():
            before = clock.seconds
            start = time.perf_counter()
            found[name] = find(sentences)
            seconds[name] = time.perf_counter() - start
            compiling[name] = clock.seconds - before
    lengths = np.array([len(sentence.split()) for sentence in sentences])
    print(
        f"\nNER: backend {keras.backend.backend()}, all-MiniLM-L6-v2-sized BERT with "
        f"{len(LABELS)} labels, {len(sentences)} sentences (words: median "
        f"{int(np.median(lengths))}, mean {lengths.mean():.1f}, {lengths.min()}-{lengths.max()}), "
        f"batch {BATCH}, cut at {SEQUENCE_LENGTH} tokens, aggregation 'simple', one timed run"
    )
    for name, total in seconds.items():
        line = f"{name:>14s}: {total:7.1f} s, {len(sentences) / total:7.1f} sentences/s"
        if clock.enabled:
            line += f" (compile inside the timed region: {compiling[name]:.1f} s)"
        print(line)
    if "transformers" in seconds:
        print(f"textbones vs transformers: {seconds['transformers'] / seconds['textbones']:.2f}x")
        same = sum(_same(a, b) for a, b in zip(found["textbones"], found["transformers"]))
        entities = sum(map(len, found["textbones"]))
        print(f"texts with the same entities: {same} of {len(sentences)} ({entities} entities)")


# === QA half: question answering ===============================================================
def question_answering(args, pipeline) -> None:
    """Run ``bench/token_tasks_qa.py`` (``QuestionAnswerer.answer`` vs transformers 4.57's
    question-answering pipeline) in a process of its own: it needs transformers 4.57 (the
    pipeline is gone from 5.3 on), put first on the path from ``.venv-qa`` as ``.ci/run``
    installs it, while the NER half above runs on the reference environment's transformers."""
    import subprocess

    qa_path = pathlib.Path(os.environ.get("TEXTBONES_QA_PATH", HERE.parent / ".venv-qa"))
    if not (qa_path / "transformers").is_dir():
        raise SystemExit(
            f"bench/token_tasks.py --task qa needs transformers 4.57 in {qa_path}; "
            "`bash .ci/run` installs it (or point TEXTBONES_QA_PATH at such a folder)."
        )
    env = {**os.environ, "PYTHONPATH": str(qa_path), "USE_TF": "0"}
    command = [sys.executable, str(HERE / "token_tasks_qa.py"), "--pairs", str(args.pairs)]
    subprocess.run(command, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=2_000)
    parser.add_argument("--pairs", type=int, default=500, help="question-context pairs (qa)")
    parser.add_argument("--task", choices=["ner", "qa", "all"], default="all")
    parser.add_argument("--textbones-only", action="store_true")
    args = parser.parse_args()
    pipeline = _text_pipeline()
    if args.task in ("ner", "all"):
        named_entities(args, pipeline)
    if args.task in ("qa", "all"):
        question_answering(args, pipeline)


if __name__ == "__main__":
    main()
