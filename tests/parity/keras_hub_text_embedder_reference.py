"""KerasHub side of ``test_keras_hub_text_embedder_parity.py`` (run it with ``.venv-ref``).

``keras_hub_text_embedder_reference.py WORK_DIR`` reads ``WORK_DIR/spec.json``::

    {"vocabulary": [...], "texts": [...], "backbone": {BertBackbone arguments},
     "embedders": {name: {"pooling_mode": ..., "normalize": ...}},
     "textbones": [names of the presets textbones wrote under WORK_DIR/textbones/]}

and, in one process (TensorFlow loads once):

* builds, for every entry of ``embedders``, a ``keras_hub.models.BertTextEmbedder`` with
  seeded random weights and a ``BertTextEmbedderPreprocessor`` over ``vocabulary`` (its
  default ``sequence_length``), writes it with ``save_to_preset`` to
  ``WORK_DIR/keras_hub/<name>`` and its outputs to ``WORK_DIR/keras_hub/<name>.npz``:
  ``raw`` (the embeddings of ``texts``), the preprocessed inputs (``token_ids``,
  ``segment_ids``, ``padding_mask``) and ``preprocessed`` (the embeddings of those, from
  calling the model);
* loads every textbones preset with ``keras_hub.models.TextEmbedder.from_preset`` and
  writes ``WORK_DIR/checked/<name>.npz``: ``raw`` (embeddings of ``texts``) and
  ``preprocessed`` (embeddings of the inputs textbones stored in
  ``WORK_DIR/textbones/<name>.npz``);

then prints one JSON line: KerasHub's version and, per textbones preset, the class KerasHub
built and its ``pooling_mode`` and ``normalize``.

Only the standard library and NumPy are imported at module level.
"""

import json
import os
import pathlib
import sys
import warnings

import numpy as np
from reference_shared import perturb_weights, stderr_silenced

SEED = 2024


def _embed(keras, embedder, inputs) -> np.ndarray:
    """The embeddings of preprocessed ``inputs`` (``predict`` would preprocess them again)."""
    outputs = embedder({key: keras.ops.convert_to_tensor(value) for key, value in inputs.items()})
    return np.asarray(keras.ops.convert_to_numpy(outputs), "float32")


def main(work_dir: pathlib.Path) -> None:
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    warnings.filterwarnings("ignore")
    with stderr_silenced():
        import keras
        import keras_hub

    spec = json.loads((work_dir / "spec.json").read_text(encoding="utf-8"))
    texts = spec["texts"]
    rng = np.random.default_rng(SEED)
    for name, head in spec["embedders"].items():
        backbone = keras_hub.models.BertBackbone(**spec["backbone"])
        perturb_weights(backbone, rng)
        tokenizer = keras_hub.models.BertTokenizer(vocabulary=spec["vocabulary"])
        preprocessor = keras_hub.models.BertTextEmbedderPreprocessor(tokenizer)
        embedder = keras_hub.models.BertTextEmbedder(backbone, preprocessor, **head)
        embedder.save_to_preset(str(work_dir / "keras_hub" / name))
        inputs = {
            key: keras.ops.convert_to_numpy(value) for key, value in preprocessor(texts).items()
        }
        np.savez(
            work_dir / "keras_hub" / f"{name}.npz",
            raw=np.asarray(embedder.predict(texts, batch_size=4, verbose=0), "float32"),
            preprocessed=_embed(keras, embedder, inputs),
            **inputs,
        )
    loaded = {}
    (work_dir / "checked").mkdir(exist_ok=True)
    for name in spec["textbones"]:
        embedder = keras_hub.models.TextEmbedder.from_preset(str(work_dir / "textbones" / name))
        stored = np.load(work_dir / "textbones" / f"{name}.npz")
        inputs = {key: stored[key] for key in ("token_ids", "segment_ids", "padding_mask")}
        np.savez(
            work_dir / "checked" / f"{name}.npz",
            raw=np.asarray(embedder.predict(texts, batch_size=4, verbose=0), "float32"),
            preprocessed=_embed(keras, embedder, inputs),
        )
        loaded[name] = {
            "class": type(embedder).__name__,
            "pooling_mode": embedder.pooling_mode,
            "normalize": embedder.normalize,
        }
    print(json.dumps({"keras_hub_version": keras_hub.__version__, "loaded": loaded}))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
