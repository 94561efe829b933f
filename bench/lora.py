"""Time a BERT-base classifier's fine-tuning step, full vs LoRA rank 8, side by side.

BERT-base config with random weights, a ``BertTextClassifier`` (2 classes) on a batch of
8 x 128 token ids, float32, each model compiled with Adam (5e-5) and sparse categorical
cross-entropy on logits. The LoRA model is the same with ``backbone.enable_lora(8)``
(KerasHub's default targets: every attention query and value kernel); its head stays
trainable. The first two ``train_on_batch`` calls of each (compilation) are left out;
then the two models take turns each round, so that machine noise hits them alike.

It prints the median step time of each and their ratio, the trainable parameters, and
the optimizer's memory (the bytes of its variables: Adam keeps two per trainable weight).

Run it in the main environment::

    .venv/bin/python bench/lora.py                    # JAX
    KERAS_BACKEND=torch .venv-ref/bin/python bench/lora.py
"""

import argparse
import importlib.util
import os
import pathlib
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("backbone_inference", HERE / "backbone_inference.py")
backbone_inference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backbone_inference)

RANK = 8


def variable_bytes(variables) -> int:
    return sum(
        int(np.prod(v.shape)) * np.dtype(keras.backend.standardize_dtype(v.dtype)).itemsize
        for v in variables
    )


def build(lora: bool):
    import textbones

    keras.utils.set_random_seed(0)
    backbone = textbones.models.BertBackbone(**backbone_inference.BERT_BASE)
    classifier = textbones.models.BertTextClassifier(backbone, 2, preprocessor=None)
    if lora:
        backbone.enable_lora(RANK)
    classifier.compile(
        optimizer=keras.optimizers.Adam(5e-5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    print(f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs, rounds {args.rounds}")
    x = backbone_inference.make_inputs()
    y = np.array([0, 1] * 4)
    models = {"full": build(False), f"LoRA rank {RANK}": build(True)}
    for model in models.values():
        for _ in range(2):
            model.train_on_batch(x, y)
    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[name].append(time.perf_counter() - start)
    full = statistics.median(times["full"])
    full_optimizer = variable_bytes(models["full"].optimizer.variables)
    total = models["full"].count_params()
    print(f"{'':14} {'step s':>8} {'speed':>6} {'trainable':>12} {'share':>7} {'optimizer MB':>13}")
    for name, model in models.items():
        step = statistics.median(times[name])
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        optimizer = variable_bytes(model.optimizer.variables)
        print(
            f"{name:14} {step:8.3f} {full / step:5.2f}x {trainable:12,d} "
            f"{trainable / total:7.2%} {optimizer / 2**20:9.1f} ({optimizer / full_optimizer:.3f}x)"
        )


if __name__ == "__main__":
    main()
