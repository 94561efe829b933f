"""Time BERT-base inference in float32, int8 and int4, side by side in one run.

A BERT-base ``BertTextClassifier`` (2 classes, ``sequence_length=128``) with random
weights and the 30522-token WordPiece vocabulary of ``text_pipeline.py`` is saved as a
float32 preset, then loaded, quantized with ``quantize("int8")`` / ``quantize("int4")``
and saved again. The script reports, for each of the three presets:

* its size on disk;
* the memory of serving it, in a fresh process per preset: the bytes of the model's
  variables; the growth of the process's resident memory once the preset is loaded (from
  after the backend's first computation: the variables, the tokenizer and what loading
  leaves allocated); and the peak growth (``VmHWM``) over
  loading and one run of both workloads below (activations, XLA's compilations);
* the time of two workloads, all three models loaded in this process and taking turns
  each round, so that machine noise hits them alike: the backbone on a dense batch of
  8 x 128 token ids (``predict_on_batch``), and ``predict`` on 256 uneven English-like
  sentences (batches of 32, each padded to its bucket).

It prints medians and the ratios to float32. Run it in the main environment::

    .venv/bin/python bench/quantized.py                    # JAX
    KERAS_BACKEND=torch .venv-ref/bin/python bench/quantized.py
    .venv/bin/python bench/quantized.py --rounds 3         # a quick look

Keras' int8 ``Dense`` quantizes its inputs per row and multiplies int8 by int8 into int32;
its int4 kernels are unpacked to int8 (and dequantized per group of 128) at every call.
"""

import argparse
import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def _load_sibling(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODES = ["float32", "int8", "int4"]
SENTENCES, TEXT_BATCH = 256, 32


def resident_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_resident_bytes() -> int:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` would keep the parent's
    from before ``exec``)."""
    with open("/proc/self/status") as handle:
        line = next(line for line in handle if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def dense_inputs() -> dict:
    """The 8 x 128 token ids of ``backbone_inference.py``."""
    return _load_sibling("backbone_inference").make_inputs()


def sentences() -> list[str]:
    text_pipeline = _load_sibling("text_pipeline")
    words = text_pipeline.make_words(40000)
    return text_pipeline.make_sentences(words, SENTENCES, seed=1)


def make_presets(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    import textbones

    text_pipeline = _load_sibling("text_pipeline")
    backbone_inference = _load_sibling("backbone_inference")
    vocabulary = text_pipeline.make_vocabulary(text_pipeline.make_words(40000), 30522)
    keras.utils.set_random_seed(0)
    tokenizer = textbones.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=128)
    backbone = textbones.models.BertBackbone(**backbone_inference.BERT_BASE)
    classifier = textbones.models.BertTextClassifier(backbone, 2, preprocessor=preprocessor)
    presets = {"float32": folder / "float32"}
    classifier.save_to_preset(presets["float32"])
    del classifier, backbone
    for mode in MODES[1:]:
        model = textbones.models.TextClassifier.from_preset(presets["float32"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy's note on JAX arrays inside Keras' quantizer
            model.quantize(mode)
        presets[mode] = folder / mode
        model.save_to_preset(presets[mode])
    return presets


def folder_bytes(folder: pathlib.Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def variable_bytes(model) -> int:
    return sum(
        int(np.prod(v.shape)) * np.dtype(keras.backend.standardize_dtype(v.dtype)).itemsize
        for v in model.weights
    )


def serve_once(preset: str, texts_file: str) -> dict:
    """In a fresh process: load ``preset``, run both workloads once, report memory (bytes):
    the model's variables, the resident growth once loaded, and the peak growth overall.
    The sentences come from a file (generating them here would set the peak)."""
    import textbones

    texts = json.loads(pathlib.Path(texts_file).read_text(encoding="utf-8"))
    x = dense_inputs()
    # The backend's runtime starts with its first computation: not part of the model.
    keras.ops.convert_to_numpy(keras.ops.add(keras.ops.ones((2,)), 1.0))
    baseline = resident_bytes()
    before = peak_resident_bytes()
    model = textbones.models.TextClassifier.from_preset(preset)
    loaded = resident_bytes()
    model.backbone.predict_on_batch(x)
    model.predict(texts, batch_size=TEXT_BATCH, verbose=0)
    peak = peak_resident_bytes()
    return {
        "weights": variable_bytes(model),
        "loaded": loaded - baseline,
        "peak": peak - max(baseline, before),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)  # child: preset, texts
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve_once(*args.serve)))
        return

    import textbones

    print(f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs, rounds {args.rounds}")
    with tempfile.TemporaryDirectory() as scratch:
        presets = make_presets(pathlib.Path(scratch))
        size = {mode: folder_bytes(path) for mode, path in presets.items()}
        texts = sentences()
        texts_file = pathlib.Path(scratch) / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        memory = {}
        for mode, path in presets.items():
            finished = subprocess.run(
                [sys.executable, __file__, "--serve", str(path), str(texts_file)],
                capture_output=True,
                text=True,
                check=True,
            )
            memory[mode] = json.loads(finished.stdout.strip().splitlines()[-1])

        models = {
            mode: textbones.models.TextClassifier.from_preset(p) for mode, p in presets.items()
        }
        x = dense_inputs()
        outputs = {}
        for mode, model in models.items():  # compile both workloads' shapes
            outputs[mode] = keras.ops.convert_to_numpy(
                model.backbone.predict_on_batch(x)["sequence_output"]
            )
            model.predict(texts, batch_size=TEXT_BATCH, verbose=0)
        dense, text = {mode: [] for mode in MODES}, {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode, model in models.items():
                start = time.perf_counter()
                model.backbone.predict_on_batch(x)
                dense[mode].append(time.perf_counter() - start)
                start = time.perf_counter()
                model.predict(texts, batch_size=TEXT_BATCH, verbose=0)
                text[mode].append(time.perf_counter() - start)

    reference = outputs["float32"].reshape(-1, outputs["float32"].shape[-1])
    print(
        f"{'':8} {'preset':>7} {'weights':>8} {'loaded':>7} {'serving':>8} {'8x128':>8} {'text':>7}"
        "   vs float32: weights, loaded, serving memory; speed 8x128, text"
    )
    print(f"{'':8} {'MiB':>7} {'MiB':>8} {'MiB':>7} {'MiB':>8} {'ms':>8} {'s':>7}")
    d0, t0 = statistics.median(dense["float32"]), statistics.median(text["float32"])
    m0 = memory["float32"]
    for mode in MODES:
        features = outputs[mode].reshape(reference.shape)
        cosine = np.sum(features * reference, -1) / (
            np.linalg.norm(features, axis=-1) * np.linalg.norm(reference, axis=-1)
        )
        d, t, m = statistics.median(dense[mode]), statistics.median(text[mode]), memory[mode]
        print(
            f"{mode:8} {size[mode] / 2**20:7.1f} {m['weights'] / 2**20:8.1f}"
            f" {m['loaded'] / 2**20:7.0f} {m['peak'] / 2**20:8.0f} {1000 * d:8.1f} {t:7.2f}"
            f"   {m['weights'] / m0['weights']:.2f}x {m['loaded'] / m0['loaded']:.2f}x"
            f" {m['peak'] / m0['peak']:.2f}x; {d0 / d:.2f}x {t0 / t:.2f}x"
            f"  (least token cosine {float(cosine.min()):.4f})"
        )


if __name__ == "__main__":
    main()
