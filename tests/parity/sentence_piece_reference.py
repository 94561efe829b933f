"""KerasHub side of the SentencePiece tokenizer parity tests.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub``. The main suite never imports it (``tests/parity/conftest.py`` lists it in
``collect_ignore``); ``test_sentence_piece_parity.py`` runs it in a subprocess::

    sentence_piece_reference.py WORKDIR

``WORKDIR/request.json`` holds::

    {"texts": [...], "sequence_length": L,
     "models": {LAYOUT: "path/to/model.spm", ...},
     "classes": ["AlbertTokenizer", "FNetTokenizer", ...],
     "backbone_classes": {CLASS: "the family's backbone class name"},
     "backbone_config": {CLASS: {constructor args but vocabulary_size}},
     "textbones_presets": {"CLASS/LAYOUT": "path/to/preset", ...}}

For every class and layout, this script builds KerasHub's tokenizer on the model and
records its ids for every text, three ways: the default (pure Python, ``sentencepiece``)
path, the TensorFlow (``tf_text``) path, and padded to ``sequence_length``. It writes a
KerasHub preset (a tiny random backbone plus the tokenizer, KerasHub's ``save_to_preset``)
to ``WORKDIR/keras_hub/CLASS_LAYOUT``, and loads each textbones preset with
``keras_hub.models.Tokenizer.from_preset`` and with the family class, recording the class
it got and its ids. Everything goes to ``WORKDIR/response.json``; a failure in one item is
recorded there as ``{"error": ...}`` rather than stopping the run.

Keras backend: ``TEXTBONES_REF_KERAS_BACKEND``, else ``torch`` (nothing here is numeric).
"""

import json
import os
import pathlib
import sys
import traceback
import warnings

from reference_shared import stderr_silenced


def _configure_environment() -> None:
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _rows(value) -> list:
    """Token ids (a NumPy array, tensor, ragged tensor or nested list) as nested lists."""
    if hasattr(value, "to_list"):
        return value.to_list()
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "tolist"):
        return value.tolist()
    return [list(map(int, row)) for row in value]


def _error() -> dict:
    return {"error": traceback.format_exc(limit=4)}


def main(workdir: str) -> None:
    _configure_environment()
    warnings.filterwarnings("ignore")
    with stderr_silenced():
        import keras
        import keras_hub
        import sentencepiece
        import tensorflow as tf
        import tensorflow_text

        tf.get_logger().setLevel("ERROR")

    workdir = pathlib.Path(workdir)
    request = json.loads((workdir / "request.json").read_text(encoding="utf-8"))
    texts = request["texts"]
    length = request["sequence_length"]
    response = {
        "keras_hub_version": keras_hub.__version__,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "tensorflow_version": tf.__version__,
        "tensorflow_text_version": getattr(tensorflow_text, "__version__", "unknown"),
        "sentencepiece_version": sentencepiece.__version__,
        "tokenize": {},
        "keras_hub_presets": {},
        "loaded_textbones_presets": {},
    }

    for class_name in request["classes"]:
        tokenizer_cls = getattr(keras_hub.models, class_name)
        backbone_cls = getattr(keras_hub.models, request["backbone_classes"][class_name])
        for layout, model_path in request["models"].items():
            key = f"{class_name}/{layout}"
            proto = (workdir / model_path).read_bytes()
            try:
                tokenizer = tokenizer_cls(proto=proto)
                tf_path = tokenizer_cls(proto=proto, _allow_python_workflow=False)
                padded = tokenizer_cls(proto=proto, sequence_length=length)
                response["tokenize"][key] = {
                    "python": _rows(tokenizer(texts)),
                    "python_single": [_rows(tokenizer(text)) for text in texts],
                    "tf": _rows(tf_path(tf.constant(texts))),
                    "padded": _rows(padded(texts)),
                    "special_token_ids": {
                        name: getattr(tokenizer, f"{name}_id")
                        for name in ("cls_token", "sep_token", "pad_token", "mask_token")
                    },
                    "vocabulary_size": tokenizer.vocabulary_size(),
                    "detokenized": [str(t) for t in tokenizer.detokenize(_rows(tokenizer(texts)))],
                }
                preset = workdir / "keras_hub" / f"{class_name}_{layout}"
                backbone = backbone_cls(
                    vocabulary_size=tokenizer.vocabulary_size(),
                    **request["backbone_config"][class_name],
                )
                backbone.save_to_preset(str(preset))
                padded.save_to_preset(str(preset))
                response["keras_hub_presets"][key] = str(preset.relative_to(workdir))
            except Exception:
                response["tokenize"][key] = _error()

    for key, preset in request["textbones_presets"].items():
        class_name = key.split("/")[0]
        entry = {}
        for loader_name, loader in (
            ("generic", keras_hub.models.Tokenizer),
            ("family", getattr(keras_hub.models, class_name)),
        ):
            try:
                loaded = loader.from_preset(str(workdir / preset))
                entry[loader_name] = {
                    "class": type(loaded).__name__,
                    "sequence_length": loaded.sequence_length,
                    "ids": _rows(loaded(texts)),
                }
            except Exception:
                entry[loader_name] = _error()
        response["loaded_textbones_presets"][key] = entry

    (workdir / "response.json").write_text(json.dumps(response), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} WORKDIR")
    main(sys.argv[1])
