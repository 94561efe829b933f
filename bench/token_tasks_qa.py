"""Time extractive question answering, textbones vs transformers 4.57's pipeline, one run.

The question-answering half of ``bench/token_tasks.py`` (which calls ``run_qa_bench``): a
MiniLM-L6-sized BERT (6 layers, hidden 384, 12 heads, vocabulary 30522) with random
weights, built in textbones and exported as a transformers checkpoint (with its
``vocab.txt`` and a ``model_max_length`` of 384), so that both sides compute with the same
weights and tokens. 500 (question, context) pairs, each context 250 to 700 generated words
(several 384-token windows with the default stride of 128), are answered:

* textbones: ``BertQuestionAnswerer.answer(questions, contexts)`` (one call, windows in
  batches of 32, on the backend Keras uses; JAX by default);
* transformers 4.57: ``pipeline("question-answering")(question=..., context=...,
  batch_size=32)`` (torch, CPU).

Both use the pipeline's defaults (``top_k=1``, ``max_answer_len=15``, ``doc_stride=128``).
Each side first answers a warm-up sample of 16 pairs (compilation, caches). The script
prints pairs per second of each, the ratio, and how many answers agree (text and start).

transformers removed the pipeline in 5.3, so run it with .venv-ref's interpreter and the
transformers 4.57 that ``.ci/run`` installs into ``.venv-qa``::

    USE_TF=0 PYTHONPATH=.venv-qa:. .venv-ref/bin/python bench/token_tasks_qa.py
    USE_TF=0 PYTHONPATH=.venv-qa:. .venv-ref/bin/python bench/token_tasks_qa.py --pairs 50
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pathlib
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# transformers 4.x would import its TensorFlow models, which Keras 3 breaks.
os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("USE_FLAX", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
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
WINDOW = 384
BATCH = 32
WARM_UP = 16


def _text_pipeline():
    spec = importlib.util.spec_from_file_location("bench_text_pipeline", HERE / "text_pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_pairs(words: list[str], count: int, seed: int = 0, pipeline=None):
    """``count`` (question, context) pairs: contexts of 250 to 700 words, questions of 4 to
    10 words taken from their context."""
    rng = np.random.default_rng(seed)
    pipeline = pipeline or _text_pipeline()
    contexts = pipeline.sentences_of_lengths(words, rng.integers(250, 701, count), rng)
    questions = []
    for context in contexts:
        tokens = context.split()
        size = int(rng.integers(4, 11))
        first = int(rng.integers(0, len(tokens) - size))
        questions.append(" ".join(tokens[first : first + size]) + "?")
    return questions, contexts


def build_contenders(vocabulary: list[str], folder: pathlib.Path) -> dict:
    """name -> a function answering ``(questions, contexts)`` (a list of answer dicts)."""
    import textbones

    tb = textbones.models
    keras.utils.set_random_seed(0)
    tokenizer = tb.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    model = tb.BertQuestionAnswerer(
        tb.BertBackbone(**MINILM_L6), tb.BertQuestionAnswererPreprocessor(tokenizer, WINDOW)
    )
    checkpoint = folder / "transformers"
    model.save_to_preset(checkpoint, format="transformers")

    import torch
    import transformers

    if not transformers.__version__.startswith("4.57"):
        raise RuntimeError(
            f"transformers {transformers.__version__} has no question-answering pipeline; "
            "run with PYTHONPATH=.venv-qa (transformers 4.57, see the module docstring)."
        )
    torch.set_num_threads(os.cpu_count() or 1)
    qa = transformers.pipeline(
        "question-answering", model=str(checkpoint), tokenizer=str(checkpoint), device=-1
    )

    def with_transformers(questions, contexts):
        with torch.inference_mode():
            answers = qa(question=questions, context=contexts, batch_size=BATCH)
        return [answers] if isinstance(answers, dict) else answers

    return {
        "textbones": lambda questions, contexts: model.answer(
            questions, contexts, batch_size=BATCH
        ),
        "transformers 4.57": with_transformers,
    }


def run_qa_bench(pairs: int = 500, seed: int = 0) -> dict:
    """Answer ``pairs`` (question, long context) pairs with textbones and with transformers
    4.57's pipeline (same weights), once each after a warm-up; returns the seconds, pairs
    per second, the ratio (textbones' speed over the pipeline's) and the answers agreeing."""
    pipeline = _text_pipeline()
    words = pipeline.make_words(60_000)
    vocabulary = pipeline.make_vocabulary(words, MINILM_L6["vocabulary_size"])
    questions, contexts = make_pairs(words, pairs + WARM_UP, seed, pipeline)
    warm_q, warm_c = questions[:WARM_UP], contexts[:WARM_UP]
    questions, contexts = questions[WARM_UP:], contexts[WARM_UP:]
    with tempfile.TemporaryDirectory() as folder:
        contenders = build_contenders(vocabulary, pathlib.Path(folder))
        results, seconds = {}, {}
        for name, answer in contenders.items():
            answer(warm_q, warm_c)
            started = time.perf_counter()
            results[name] = answer(questions, contexts)
            seconds[name] = time.perf_counter() - started
    ours, theirs = results["textbones"], results["transformers 4.57"]
    agree = sum(
        (a["answer"], a["start"]) == (b["answer"], b["start"]) for a, b in zip(ours, theirs)
    )
    speed = {name: pairs / value for name, value in seconds.items()}
    return {
        "pairs": pairs,
        "backend": keras.config.backend(),
        "seconds": seconds,
        "pairs_per_second": speed,
        "ratio": speed["textbones"] / speed["transformers 4.57"],
        "answers_agreeing": agree,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    report = run_qa_bench(arguments.pairs, arguments.seed)
    print(f"{report['pairs']} question-context pairs, textbones on {report['backend']}")
    for name, value in report["pairs_per_second"].items():
        print(f"  {name:18s} {value:8.2f} pairs/s  ({report['seconds'][name]:.1f} s)")
    print(f"  ratio textbones / transformers 4.57: {report['ratio']:.2f}x")
    print(f"  answers agreeing (text and start): {report['answers_agreeing']}/{report['pairs']}")


if __name__ == "__main__":
    main()
