"""KerasHub side of the preprocessor preset parity test; run with ``.venv-ref/bin/python``.

    preprocessor_reference.py WORKDIR

Reads ``WORKDIR/request.json`` (``texts``, ``pairs``, ``sequence_length``, the WordPiece
vocabulary file, the SentencePiece model file, ``families``: the class names and
arguments of each registered family, and the textbones preset directories by class
name). For each family it builds KerasHub's classifier and masked-LM preprocessors,
saves them as presets (with a tiny backbone: KerasHub only loads directories that have a
``config.json``) under ``WORKDIR/keras_hub/<Class>``, records the classifier outputs on
``pairs``, then loads every textbones preset with KerasHub and records the class, config
and classifier outputs. Results go to ``WORKDIR/response.json``.
"""

import json
import os
import pathlib
import sys


def main() -> None:
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras_hub
    import numpy as np

    workdir = pathlib.Path(sys.argv[1])
    request = json.loads((workdir / "request.json").read_text())
    length = request["sequence_length"]
    pairs = (request["pairs"][0], request["pairs"][1])
    vocabulary = pathlib.Path(request["bert_vocabulary"]).read_text().splitlines()
    proto = pathlib.Path(request["proto"]).read_bytes()

    def tokenizer_of(family):
        vocabulary_argument = (
            {"vocabulary": vocabulary} if family["word_piece"] else {"proto": proto}
        )
        tokenizer_class = getattr(keras_hub.models, family["tokenizer_class"])
        return tokenizer_class(**vocabulary_argument, **family["tokenizer_args"])

    def outputs(preprocessor):
        x = preprocessor(x=pairs)  # positionally, KerasHub reads a tuple of lists as (x, y)
        return {key: np.asarray(value).astype("int64").tolist() for key, value in x.items()}

    response = {"keras_hub": {}, "loaded_ours": {}}
    for family in request["families"].values():
        tokenizer = tokenizer_of(family)
        for name in family["preprocessor_classes"]:
            preprocessor = getattr(keras_hub.models, name)(tokenizer, sequence_length=length)
            folder = workdir / "keras_hub" / name
            backbone = getattr(keras_hub.models, family["backbone_class"])(
                vocabulary_size=tokenizer.vocabulary_size(), **family["backbone_args"]
            )
            backbone.save_to_preset(folder)
            preprocessor.save_to_preset(folder)
            entry = {"dir": str(folder)}
            if name.endswith("TextClassifierPreprocessor"):
                entry["outputs"] = outputs(preprocessor)
            response["keras_hub"][name] = entry
    for name, folder in request["textbones_presets"].items():
        base = (
            keras_hub.models.MaskedLMPreprocessor
            if "MaskedLM" in name
            else keras_hub.models.TextClassifierPreprocessor
        )
        loaded = base.from_preset(folder)
        entry = {"class": type(loaded).__name__, "sequence_length": loaded.sequence_length}
        if "MaskedLM" in name:
            entry["mask_selection_length"] = loaded.mask_selection_length
        else:
            entry["outputs"] = outputs(loaded)
        response["loaded_ours"][name] = entry
    (workdir / "response.json").write_text(json.dumps(response))


if __name__ == "__main__":
    main()
