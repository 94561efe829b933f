"""Subprocess helper of ``test_saving.py``: kill saves, or save while loading, and report.

Run as ``python tests/hardening/save_worker.py MODE FOLDER [options]`` with any Keras
backend (the tests use ``numpy``: it imports fastest). It prints one JSON object.

``kill``: a preset of backbone A plus a tokenizer is written to ``FOLDER/p``; then, many
times, a forked child saves the other backbone version over it and is ``SIGKILL``ed, at a
random moment or (through ``TEXTBONES_TEST_KILL_SAVE_AT``) at a named step of the save,
with the atomic exchange and with its two-rename fallback. After every kill the report
says which version loads, whether the tokenizer survived, and, after one more complete
save, what is left beside the preset.

``race``: a forked child saves two task versions (A, B) over ``FOLDER/p`` in turn for
``--seconds`` while this process loads the preset again and again; the report lists, for
each load, which version each part (backbone config, backbone weights, head weights,
preprocessor) came from. ``--unprotected`` loads without ``consistent_read`` (to measure
what it prevents).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import signal
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "numpy")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import textbones  # noqa: E402
from textbones.presets import atomic_directory  # noqa: E402

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{index}" for index in range(20)]
SMALL = dict(
    vocabulary_size=25, num_heads=2, hidden_dim=8, intermediate_dim=16, max_sequence_length=16
)


def backbone(seed: int, **overrides):
    keras.utils.set_random_seed(seed)
    return textbones.models.BertBackbone(**{**SMALL, "num_layers": 1, **overrides})


def weights(model) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(variable)) for variable in model.weights]


def same(first: list[np.ndarray], second: list[np.ndarray]) -> bool:
    return len(first) == len(second) and all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, second)
    )


def beside(target: pathlib.Path) -> list[str]:
    """What a save left beside the preset (hidden folders and files named after it)."""
    return sorted(
        path.name for path in target.parent.iterdir() if path.name.startswith(f".{target.name}.")
    )


# --------------------------------------------------------------------------------------------
# kill


def kill(folder: pathlib.Path, random_kills: int, seed: int) -> dict:
    target = folder / "p"
    versions = {"A": backbone(1), "B": backbone(2, num_layers=2)}
    expected = {name: weights(model) for name, model in versions.items()}
    tokenizer = textbones.models.BertTokenizer(vocabulary=VOCABULARY)
    versions["A"].save_to_preset(target)
    tokenizer.save_to_preset(target)
    current = "A"

    def identify() -> dict:
        try:
            loaded = textbones.models.Backbone.from_preset(target)
        except Exception as error:  # reported, and the test fails on it
            return {"version": f"error: {type(error).__name__}: {error}"}
        found = [name for name, values in expected.items() if same(weights(loaded), values)]
        vocabulary = textbones.tokenizers.Tokenizer.from_preset(target).get_vocabulary()
        return {
            "version": found[0] if len(found) == 1 else "mixed",
            "tokenizer": vocabulary == VOCABULARY,
        }

    def killed_save(version: str, delay: float | None, step: str | None, exchange: bool) -> str:
        child = os.fork()
        if child == 0:
            try:
                if step is not None:
                    os.environ[atomic_directory.KILL_AT_VARIABLE] = step
                if not exchange:
                    atomic_directory._atomic_exchange = lambda first, second: False
                versions[version].save_to_preset(target)
            finally:
                os._exit(0)
        if delay is not None:
            time.sleep(delay)
            os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
        return "killed" if os.WIFSIGNALED(status) else "finished"

    # Complete saves, to time one: the fastest of three, since the first is slower (cold
    # caches) and a busy machine slows some; delays drawn from a slower one would mostly
    # outlast the saves they are meant to interrupt.
    durations = []
    for version in ("B", "A", "B"):
        started = time.monotonic()
        killed_save(version, None, None, True)
        durations.append(time.monotonic() - started)
    duration = min(durations)
    versions["A"].save_to_preset(target)

    rng = random.Random(seed)
    # Random kills until `random_kills` of them landed before the save finished (a delay
    # may outlast the save), half with the exchange and half with the fallback.
    plan = [("random", None, index % 2 == 0) for index in range(3 * random_kills)]
    plan += [
        ("step", step, exchange)
        for exchange in (True, False)
        for step in atomic_directory.SAVE_STEPS
    ]
    attempts = []
    landed = 0
    for kind, step, exchange in plan:
        if kind == "random" and landed >= random_kills:
            continue
        other = "B" if current == "A" else "A"
        delay = rng.uniform(0.0, 0.9 * duration) if kind == "random" else None
        outcome = killed_save(other, delay, step, exchange)
        landed += kind == "random" and outcome == "killed"
        after_kill = identify()
        after_kill["beside"] = beside(target)
        if after_kill["version"] in expected:
            current = after_kill["version"]
        following = "B" if current == "A" else "A"
        versions[following].save_to_preset(target)
        attempts.append(
            {
                "kind": kind,
                "step": step,
                "exchange": exchange,
                "delay": delay,
                "outcome": outcome,
                "saving": other,
                "after_kill": after_kill,
                "saved_next": following,
                "beside_after_next_save": beside(target),
            }
        )
        current = following
    final = identify()
    return {"save_seconds": duration, "attempts": attempts, "final": final, "final_saved": current}


# --------------------------------------------------------------------------------------------
# race


def race(folder: pathlib.Path, seconds: float, unprotected: bool) -> dict:
    target = folder / "p"
    tokenizer = textbones.models.BertTokenizer(vocabulary=VOCABULARY)
    tasks = {}
    for name, seed, length, dropout in (("A", 1, 8, 0.1), ("B", 2, 12, 0.2)):
        preprocessor = textbones.models.BertTextClassifierPreprocessor(
            tokenizer, sequence_length=length
        )
        tasks[name] = textbones.models.BertTextClassifier(
            backbone(seed, dropout=dropout), 2, preprocessor
        )
    backbone_weights = {name: weights(task.backbone) for name, task in tasks.items()}
    head_weights = {name: weights(task.output_dense) for name, task in tasks.items()}
    tasks["A"].save_to_preset(target)
    if unprotected:
        from textbones.presets import loader, task_loader

        for module in (loader, task_loader):
            for name in ("load_backbone", "load_preprocessor", "load_tokenizer", "load_task"):
                if hasattr(module, name):
                    setattr(module, name, getattr(module, name).__wrapped__)

    saves_file = folder / "saves.txt"
    deadline = time.monotonic() + seconds
    child = os.fork()
    if child == 0:
        saves = 0
        try:
            while time.monotonic() < deadline:
                tasks["B" if saves % 2 == 0 else "A"].save_to_preset(target)
                saves += 1
        finally:
            saves_file.write_text(str(saves))
            os._exit(0)

    def which(found, table) -> str:
        names = [name for name, values in table.items() if same(found, values)]
        return names[0] if len(names) == 1 else "neither"

    loads = []
    while time.monotonic() < deadline:
        try:
            task = textbones.models.TextClassifier.from_preset(target)
        except Exception as error:  # reported, and the test fails on it
            loads.append({"error": f"{type(error).__name__}: {error}"})
            continue
        loads.append(
            {
                "config": {0.1: "A", 0.2: "B"}.get(task.backbone.dropout, "neither"),
                "backbone": which(weights(task.backbone), backbone_weights),
                "head": which(weights(task.output_dense), head_weights),
                "preprocessor": {8: "A", 12: "B"}.get(task.preprocessor.sequence_length, "neither"),
            }
        )
    os.waitpid(child, 0)
    return {"saves": int(saves_file.read_text()), "loads": loads, "beside": beside(target)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["kill", "race"])
    parser.add_argument("folder", type=pathlib.Path)
    parser.add_argument("--random-kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--unprotected", action="store_true")
    arguments = parser.parse_args()
    if arguments.mode == "kill":
        report = kill(arguments.folder, arguments.random_kills, arguments.seed)
    else:
        report = race(arguments.folder, arguments.seconds, arguments.unprotected)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
