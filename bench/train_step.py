"""Time one BERT-base masked-LM training step in textbones and KerasHub, side by side.

BERT-base config with random weights (dropout 0.1), a batch of 8 x 128 tokens with 20
mask slots per row (KerasHub's ``mask_selection_length`` for 128 tokens), float32, each
library's default ``compile()`` for its masked LM (Adam 5e-5, sparse categorical
cross-entropy on logits, weighted accuracy). The first two ``train_on_batch`` calls of
each (the compilation) are timed apart; then every round times a 2048^3 float32 matmul
and one step of each library, so that machine noise hits all alike. The script prints
the median step time (and process CPU time) of each, the ratio, and the achieved
GFLOP/s (forward + backward matmuls, counted below) as a share of the matmul rate.

Run it in the reference environment, which has KerasHub (and TensorFlow) installed::

    .venv-ref/bin/python bench/train_step.py                # JAX
    KERAS_BACKEND=tensorflow .venv-ref/bin/python bench/train_step.py

Pass ``--textbones-only`` to time textbones alone where KerasHub is not installed.
"""

import argparse
import importlib.util
import os
import statistics
import time

_spec = importlib.util.spec_from_file_location(
    "backbone_inference",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "backbone_inference.py"),
)
backbone_inference = importlib.util.module_from_spec(_spec)

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

_spec.loader.exec_module(backbone_inference)
BERT_BASE = backbone_inference.BERT_BASE
bert_forward_flops = backbone_inference.bert_forward_flops

BATCH, LENGTH, MASKS = 8, 128, 20


def masked_lm_train_flops(config: dict, batch: int, length: int, masks: int) -> float:
    """FLOPs of one training step: forward plus backward (twice the forward) matmuls.

    The forward pass is the encoder's (without the pooler, which a masked LM does not
    use) plus the head: a dense layer and the vocabulary projection at the masked slots.
    """
    hidden, vocabulary = config["hidden_dim"], config["vocabulary_size"]
    encoder = bert_forward_flops(config, batch, length) - 2 * batch * hidden * hidden
    head = 2 * batch * masks * hidden * (hidden + vocabulary)
    return 3 * (encoder + head)


def make_batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = {
        "token_ids": rng.integers(1000, 30000, (BATCH, LENGTH)).astype("int32"),
        "segment_ids": np.zeros((BATCH, LENGTH), "int32"),
        "padding_mask": np.ones((BATCH, LENGTH), "int32"),
        "mask_positions": np.sort(
            np.stack(
                [rng.choice(np.arange(1, LENGTH - 1), MASKS, replace=False) for _ in range(BATCH)]
            ),
            axis=1,
        ).astype("int32"),
    }
    y = rng.integers(1000, 30000, (BATCH, MASKS)).astype("int32")
    sample_weight = np.ones((BATCH, MASKS), "float32")
    return x, y, sample_weight


def build_models(textbones_only: bool) -> dict:
    import textbones

    keras.utils.set_random_seed(0)
    models = {
        "textbones": textbones.models.BertMaskedLM(
            textbones.models.BertBackbone(**BERT_BASE), preprocessor=None
        )
    }
    if not textbones_only:
        import keras_hub

        models["keras_hub"] = keras_hub.models.BertMaskedLM(
            keras_hub.models.BertBackbone(**BERT_BASE), preprocessor=None
        )
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed steps per library")
    parser.add_argument("--textbones-only", action="store_true")
    args = parser.parse_args()

    models = build_models(args.textbones_only)
    x, y, sample_weight = make_batch()
    compile_seconds = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.train_on_batch(x, y, sample_weight=sample_weight)
        model.train_on_batch(x, y, sample_weight=sample_weight)
        compile_seconds[name] = time.perf_counter() - start

    # Each round times the matmul and one step of each library, so that the rate the
    # steps are compared with was measured under the same load.
    matmul = backbone_inference.matmul_timer()
    matmul_times, times, cpu_times = (
        [],
        {name: [] for name in models},
        {name: [] for name in models},
    )
    for _ in range(args.rounds):
        matmul_times.append(min(matmul() for _ in range(3)))
        for name, model in models.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            model.train_on_batch(x, y, sample_weight=sample_weight)
            times[name].append(time.perf_counter() - start)
            cpu_times[name].append(time.process_time() - cpu_start)

    rate = 2 * 2048**3 / statistics.median(matmul_times) / 1e9
    flops = masked_lm_train_flops(BERT_BASE, BATCH, LENGTH, MASKS)
    print(
        f"backend: {keras.backend.backend()}, BERT-base masked LM train step, "
        f"batch {BATCH} x {LENGTH} "
        f"tokens, {MASKS} mask slots, dropout 0.1, Adam"
    )
    print(
        f"float32 matmul rate (2048^3, median of {args.rounds} rounds): {rate:.0f} GFLOP/s; "
        f"one step: {flops / 1e9:.0f} GFLOP"
    )
    medians = {}
    for name, samples in times.items():
        medians[name] = statistics.median(samples)
        achieved = flops / medians[name] / 1e9
        print(
            f"{name:>10}: {medians[name] * 1000:8.1f} ms/step (median of {len(samples)}; "
            f"process CPU {statistics.median(cpu_times[name]) * 1000:.0f} ms), "
            f"{achieved:5.0f} GFLOP/s = {achieved / rate:5.1%} of matmul rate; "
            f"first two steps (compilation) {compile_seconds[name]:.1f} s"
        )
    if "keras_hub" in medians:
        cpu = {name: statistics.median(samples) for name, samples in cpu_times.items()}
        print(
            f"speed-up textbones vs KerasHub: {medians['keras_hub'] / medians['textbones']:.2f}x "
            f"(process CPU time: {cpu['keras_hub'] / cpu['textbones']:.2f}x)"
        )


if __name__ == "__main__":
    main()
