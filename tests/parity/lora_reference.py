"""KerasHub side of the LoRA adapter-file parity test.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub``. ``tests/parity/conftest.py`` keeps it out of the main suite's collection.

Usage: ``lora_reference.py DIR``. ``DIR/manifest.json`` (written by the pytest side) lists,
per family, KerasHub's class name, a tiny config, the layer names to adapt and the rank.
For each family this script

* builds KerasHub's backbone, loads textbones' ``DIR/tb_<family>.weights.h5`` into it, loads
  textbones' adapters ``DIR/tb_<family>.lora.h5`` with ``load_lora_weights`` (which enables
  LoRA with KerasHub's default targets, or the listed ones first), and writes its outputs
  on ``DIR/inputs_<family>.npz`` to ``DIR/kh_from_tb_<family>.npz``;
* builds a second one with seeded random weights, enables LoRA, gives the adapters random
  values (``B`` too, so that they change the outputs), and writes ``kh_<family>.weights.h5``,
  ``kh_<family>.lora.h5`` and its outputs ``kh_<family>.npz``.

Keras backend: ``TEXTBONES_REF_KERAS_BACKEND`` or ``torch`` (fast eager CPU start-up).
"""

import json
import os
import pathlib
import sys

SEED = 20261202


def outputs(backbone, inputs):
    import keras

    result = backbone(inputs)
    result = result if isinstance(result, dict) else {"sequence_output": result}  # DistilBERT
    return {name: keras.ops.convert_to_numpy(value) for name, value in result.items()}


def main(folder: str) -> None:
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras_hub
    import numpy as np

    out = pathlib.Path(folder)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(SEED)
    for family, entry in manifest["families"].items():
        cls = getattr(keras_hub.models, entry["class"])
        inputs = dict(np.load(out / f"inputs_{family}.npz"))
        targets = entry["target_layer_names"]

        ours = cls(**entry["config"])
        ours.load_weights(str(out / f"tb_{family}.weights.h5"))
        if targets is not None:  # KerasHub's default finds nothing in FNet
            ours.enable_lora(entry["rank"], target_layer_names=targets)
        ours.load_lora_weights(str(out / f"tb_{family}.lora.h5"))
        np.savez(out / f"kh_from_tb_{family}.npz", **outputs(ours, inputs))

        theirs = cls(**entry["config"])
        for weight in theirs.weights:
            weight.assign(rng.normal(0.0, 0.2, size=tuple(weight.shape)).astype("float32"))
        theirs.save_weights(str(out / f"kh_{family}.weights.h5"))
        if targets is None:
            theirs.enable_lora(entry["rank"])
        else:
            theirs.enable_lora(entry["rank"], target_layer_names=targets)
        for weight in theirs.trainable_weights:
            if "lora_kernel" in weight.path:
                weight.assign(rng.normal(0.0, 0.2, size=tuple(weight.shape)).astype("float32"))
        theirs.save_lora_weights(str(out / f"kh_{family}.lora.h5"))
        np.savez(out / f"kh_{family}.npz", **outputs(theirs, inputs))


if __name__ == "__main__":
    main(sys.argv[1])
