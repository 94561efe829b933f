"""Reference side of the WordPiece parity tests: Hugging Face ``transformers`` and KerasHub.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``transformers``, ``keras_hub`` and TensorFlow, which the main environment lacks. The
main suite never imports it (``tests/parity/conftest.py`` keeps it out of collection);
``test_word_piece_parity.py`` runs it once per session as a subprocess.

Usage::

    word_piece_reference.py REQUEST_JSON RESPONSE_JSON

The request holds ``texts`` (a list of strings), ``cases`` (``name -> {"vocabulary_file",
"lowercase", "special_tokens_in_strings"}``), ``keras_hub_preset_root`` (a directory) and
``textbones_presets`` (``name -> preset directory`` written by textbones). The response
holds, per case name:

* ``ids.transformers``: ``BertTokenizerFast(vocabulary_file, do_lower_case=lowercase)``
  on every text with ``add_special_tokens=False``; with ``special_tokens_in_strings``
  false it is built with ``split_special_tokens=True``, so typed special tokens are split
  like text, as KerasHub and textbones then do.
* ``ids.keras_hub_python`` / ``ids.keras_hub_tf``: KerasHub's ``BertTokenizer`` with the
  same options, on its pure-Python path and on its TensorFlow (tf-text) path.
* ``keras_hub_preset``: the directory where KerasHub saved a tiny ``BertBackbone`` and
  that tokenizer with ``save_to_preset``, and the ``tokenizer.json`` config it wrote.
* ``textbones_preset``: the textbones preset of that name as KerasHub loads it with
  ``keras_hub.models.BertTokenizer.from_preset`` (class, ``get_config()``, ids) and with
  the generic ``keras_hub.tokenizers.Tokenizer.from_preset`` (class, ids).

A case that fails gets an ``error`` entry instead; the exit status is then 1.
Keras backend: ``TEXTBONES_REF_KERAS_BACKEND`` (default ``torch``, quick to start).
"""

import json
import os
import pathlib
import sys
import traceback
import warnings


def _as_lists(output) -> list[list[int]]:
    if hasattr(output, "to_list"):  # a tf.RaggedTensor
        output = output.to_list()
    return [[int(i) for i in row] for row in output]


def _keras_hub_ids(tokenizer, texts, tf) -> list[list[int]]:
    if getattr(tokenizer, "_allow_python_workflow", True):
        return _as_lists(tokenizer(texts))
    return _as_lists(tokenizer(tf.constant(texts)))


def _run_case(case, texts, preset_dir, modules) -> dict:
    keras_hub, tf, transformers = modules
    vocabulary_file = case["vocabulary_file"]
    lowercase, in_strings = case["lowercase"], case["special_tokens_in_strings"]
    fast = transformers.BertTokenizerFast(
        vocabulary_file, do_lower_case=lowercase, split_special_tokens=not in_strings
    )
    vocabulary = pathlib.Path(vocabulary_file).read_text(encoding="utf-8").split("\n")[:-1]
    assert len(fast.get_vocab()) == len(vocabulary), "BertTokenizerFast did not read the vocabulary"
    options = dict(
        vocabulary=vocabulary_file, lowercase=lowercase, special_tokens_in_strings=in_strings
    )
    python_path = keras_hub.models.BertTokenizer(**options)
    tf_path = keras_hub.models.BertTokenizer(**options, _allow_python_workflow=False)
    result = {
        "ids": {
            "transformers": fast(texts, add_special_tokens=False)["input_ids"],
            "keras_hub_python": _keras_hub_ids(python_path, texts, tf),
            "keras_hub_tf": _keras_hub_ids(tf_path, texts, tf),
        }
    }
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=1,
        num_heads=1,
        hidden_dim=8,
        intermediate_dim=8,
        max_sequence_length=8,
    )
    backbone.save_to_preset(str(preset_dir))
    python_path.save_to_preset(str(preset_dir))
    written = json.loads((preset_dir / "tokenizer.json").read_text(encoding="utf-8"))
    result["keras_hub_preset"] = {"dir": str(preset_dir), "config": written["config"]}
    return result


def _load_textbones_preset(preset_dir, texts, modules) -> dict:
    keras_hub, tf, _ = modules
    specific = keras_hub.models.BertTokenizer.from_preset(preset_dir)
    generic = keras_hub.tokenizers.Tokenizer.from_preset(preset_dir)
    return {
        "class": type(specific).__name__,
        "config": specific.get_config(),
        "ids": _keras_hub_ids(specific, texts, tf),
        "generic_class": type(generic).__name__,
        "generic_ids": _keras_hub_ids(generic, texts, tf),
    }


def main(argv: list[str]) -> int:
    request_path, response_path = map(pathlib.Path, argv)
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    import keras
    import keras_hub
    import tensorflow as tf
    import transformers

    modules = (keras_hub, tf, transformers)
    request = json.loads(request_path.read_text(encoding="utf-8"))
    texts = request["texts"]
    preset_root = pathlib.Path(request["keras_hub_preset_root"])
    response = {
        "versions": {
            "keras_hub": keras_hub.__version__,
            "transformers": transformers.__version__,
            "tokenizers": __import__("tokenizers").__version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "keras_backend": keras.backend.backend(),
        },
        "cases": {},
    }
    failed = False
    for name, case in request["cases"].items():
        try:
            response["cases"][name] = _run_case(case, texts, preset_root / name, modules)
        except Exception:
            response["cases"][name] = {"error": traceback.format_exc()}
            failed = True
            continue
        preset = request["textbones_presets"].get(name)
        if preset is None:
            continue
        try:
            response["cases"][name]["textbones_preset"] = _load_textbones_preset(
                preset, texts, modules
            )
        except Exception:
            response["cases"][name]["textbones_preset"] = {"error": traceback.format_exc()}
            failed = True
    response_path.write_text(json.dumps(response), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
