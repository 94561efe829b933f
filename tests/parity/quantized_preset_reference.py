"""KerasHub side of the quantized-preset parity test.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub``. ``tests/parity/conftest.py`` keeps it out of the main suite's collection.

Usage: ``quantized_preset_reference.py DIR``. ``DIR/manifest.json`` (written by the pytest
side) lists, per case (a family and a quantization mode), KerasHub's class name and a tiny
config. For each case this script

* loads textbones' quantized preset ``DIR/tb_<case>`` with ``keras_hub.models.Backbone``
  (given the saved policy map as ``dtype``, see below),
  and writes, for the inputs ``DIR/inputs_<family>.npz``, the backbone's outputs and the
  reverse projection of fixed vectors by its token embedding (the masked-LM logits path) to
  ``DIR/kh_from_tb_<case>.npz`` (the reverse projection as KerasHub's loader leaves it,
  see below, to ``DIR/kh_from_tb_<case>_as_loaded.npy``), and the quantization mode of
  each quantized layer to
  ``DIR/kh_from_tb_<case>.json``;
* builds the backbone with seeded random weights, quantizes it with KerasHub, saves the
  preset ``DIR/kh_<case>``, and writes the same outputs to ``DIR/kh_<case>.npz``.

Keras backend: ``TEXTBONES_REF_KERAS_BACKEND`` or ``torch`` (fast eager CPU start-up).
"""

import json
import os
import pathlib
import sys
import warnings

SEED = 20261203


def outputs(backbone, inputs):
    import keras
    import numpy as np

    result = backbone(inputs)
    result = result if isinstance(result, dict) else {"sequence_output": result}  # DistilBERT
    result = {name: keras.ops.convert_to_numpy(value) for name, value in result.items()}
    # Vectors of the embedding's width (ALBERT's is narrower than its hidden size).
    width = backbone.token_embedding.output_dim
    vectors = np.sin(np.arange(4 * width, dtype="float32")).reshape(4, width)
    reverse = backbone.token_embedding(vectors, reverse=True)
    result["reverse_logits"] = keras.ops.convert_to_numpy(reverse)
    return result


def quantized_paths(model):
    return {
        layer.path: layer.quantization_mode
        for layer in model._flatten_layers(include_self=False)
        if layer.quantization_mode is not None
    }


def main(folder: str) -> None:
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras_hub
    import numpy as np

    out = pathlib.Path(folder)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(SEED)
    for case, entry in manifest["cases"].items():
        inputs = dict(np.load(out / f"inputs_{entry['family']}.npz"))

        # KerasHub 0.32's Backbone.from_preset replaces the saved dtype by its `dtype`
        # argument, None by default, and so builds a float model that cannot take the
        # quantized weights (its own quantized presets too): pass the saved policy map.
        preset = out / f"tb_{case}"
        saved = json.loads((preset / "config.json").read_text(encoding="utf-8"))
        loaded = keras_hub.models.Backbone.from_preset(str(preset), dtype=saved["config"]["dtype"])
        # Keras 3.15 rebuilds an int4 ReversibleEmbedding (from a saved policy) quantizing the
        # inputs of its reverse projection, which its freshly quantized layer does not
        # (int4 is weight-only by default): the logits as loaded are kept apart, and the
        # reverse projection is compared weight-only, as KerasHub quantized it.
        as_loaded = outputs(loaded, inputs)["reverse_logits"]
        np.save(out / f"kh_from_tb_{case}_as_loaded.npy", as_loaded)
        if entry["mode"] == "int4":
            loaded.token_embedding.inputs_quantizer = None
        np.savez(out / f"kh_from_tb_{case}.npz", **outputs(loaded, inputs))
        paths = json.dumps(quantized_paths(loaded), sort_keys=True)
        (out / f"kh_from_tb_{case}.json").write_text(paths, encoding="utf-8")

        theirs = getattr(keras_hub.models, entry["class"])(**entry["config"])
        for weight in theirs.weights:
            weight.assign(rng.normal(0.0, 0.2, size=tuple(weight.shape)).astype("float32"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras' per-layer "no quantize method" notes
            theirs.quantize(entry["mode"])
        theirs.save_to_preset(str(out / f"kh_{case}"))
        np.savez(out / f"kh_{case}.npz", **outputs(theirs, inputs))
        paths = json.dumps(quantized_paths(theirs), sort_keys=True)
        (out / f"kh_{case}.json").write_text(paths, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
