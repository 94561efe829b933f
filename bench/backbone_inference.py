"""Time BERT-base inference in textbones and KerasHub, side by side in one process.

BERT-base config with random weights, a dense batch of 8 x 128 tokens, float32. The two
libraries' ``predict_on_batch`` calls alternate, so that machine noise hits both alike,
and the script prints each one's median time, the ratio, and the achieved GFLOP/s next
to this machine's float32 matmul rate measured in the same run.

Run it in the reference environment, which has KerasHub (and TensorFlow) installed::

    .venv-ref/bin/python bench/backbone_inference.py                # JAX
    KERAS_BACKEND=torch .venv-ref/bin/python bench/backbone_inference.py

Pass ``--textbones-only`` to time textbones alone where KerasHub is not installed.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

BERT_BASE = dict(
    vocabulary_size=30522,
    num_layers=12,
    num_heads=12,
    hidden_dim=768,
    intermediate_dim=3072,
    max_sequence_length=512,
)
BATCH, LENGTH = 8, 128


def bert_forward_flops(config: dict, batch: int, length: int) -> float:
    """Multiply-adds x 2 of one forward pass (projections, attention, feed-forward)."""
    tokens = batch * length
    hidden, inner = config["hidden_dim"], config["intermediate_dim"]
    per_layer = (
        8 * tokens * hidden * hidden  # query, key, value and output projections
        + 4 * tokens * hidden * inner  # the two feed-forward matmuls
        + 4 * batch * length * length * hidden  # scores and weighted values
    )
    return config["num_layers"] * per_layer + 2 * batch * hidden * hidden


def matmul_timer(size: int = 2048):
    """A function that times one float32 ``size``-cubed matmul on this backend (compiled first)."""
    a = keras.ops.convert_to_tensor(np.random.rand(size, size).astype("float32"))
    b = keras.ops.convert_to_tensor(np.random.rand(size, size).astype("float32"))
    if keras.backend.backend() == "jax":
        import jax

        matmul = jax.jit(lambda x, y: x @ y)
    else:
        matmul = keras.ops.matmul
    keras.ops.convert_to_numpy(matmul(a, b))

    def run() -> float:
        start = time.perf_counter()
        keras.ops.convert_to_numpy(matmul(a, b))
        return time.perf_counter() - start

    return run


def matmul_rate(size: int = 2048, repeats: int = 10) -> float:
    """Float32 GFLOP/s of a square matmul on this backend, best of ``repeats``."""
    timer = matmul_timer(size)
    return 2 * size**3 / min(timer() for _ in range(repeats)) / 1e9


def make_inputs(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "token_ids": rng.integers(1000, 30000, (BATCH, LENGTH)).astype("int32"),
        "segment_ids": np.zeros((BATCH, LENGTH), "int32"),
        "padding_mask": np.ones((BATCH, LENGTH), "int32"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed calls per library")
    parser.add_argument("--textbones-only", action="store_true")
    args = parser.parse_args()

    import textbones

    models = {"textbones": textbones.models.BertBackbone(**BERT_BASE)}
    if not args.textbones_only:
        import keras_hub

        models["keras_hub"] = keras_hub.models.BertBackbone(**BERT_BASE)
    inputs = make_inputs()
    for model in models.values():  # compile outside the timed region
        model.predict_on_batch(inputs)
        model.predict_on_batch(inputs)

    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.predict_on_batch(inputs)
            times[name].append(time.perf_counter() - start)

    rate = matmul_rate()
    flops = bert_forward_flops(BERT_BASE, BATCH, LENGTH)
    print(f"backend: {keras.backend.backend()}, BERT-base, batch {BATCH} x {LENGTH} tokens")
    print(f"float32 matmul rate (2048^3): {rate:.0f} GFLOP/s")
    medians = {}
    for name, samples in times.items():
        medians[name] = statistics.median(samples)
        achieved = flops / medians[name] / 1e9
        print(
            f"{name:>10}: {medians[name] * 1000:8.1f} ms/batch (median of {len(samples)}), "
            f"{achieved:5.0f} GFLOP/s = {achieved / rate:5.1%} of matmul rate"
        )
    if "keras_hub" in medians:
        print(f"speed-up textbones vs KerasHub: {medians['keras_hub'] / medians['textbones']:.2f}x")


if __name__ == "__main__":
    main()
