"""textbones and KerasHub in one process: the reference-environment side of
``test_two_libraries_parity.py``.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``), where KerasHub is
installed. Usage: ``two_libraries_reference.py ORDER`` with ORDER ``keras_hub_first`` or
``textbones_first`` (which library is imported first; the names KerasHub registers end up
KerasHub's either way). It asserts, here, that

* ``from_config(get_config())`` of each family's backbone, tokenizer, preprocessor,
  classifier and masked LM builds textbones' classes;
* ``keras.models.load_model`` of a ``.keras`` textbones task builds textbones' classes and
  predicts as before; of a KerasHub-written one, KerasHub's classes (KerasHub's archive
  names KerasHub's classes, which KerasHub owns once imported), predicting as before;
* a KerasHub tokenizer given to a textbones preprocessor is refused naming both modules;

and, for ``keras_hub_first`` only (the order does not matter to them):

* a task compiled with ``PolynomialDecay`` / ``AdamW`` / an unregistered custom schedule
  reloads in both libraries; KerasHub keeps its defaults (it never restores a compile
  config), textbones restores the registered ones and their state;
* ``from_preset`` under a global ``mixed_float16`` policy gives the dtype policies KerasHub
  gives, for presets saved by either library in float32 or bfloat16, with and without
  ``dtype=``, and for a transformers checkpoint.

The last line of stdout is a JSON summary that the pytest side checks again.
"""

import json
import os
import sys
import tempfile
import warnings

ORDER = sys.argv[1] if len(sys.argv) > 1 else "keras_hub_first"
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from reference_shared import stderr_silenced  # noqa: E402

with stderr_silenced():
    import keras

    if ORDER == "keras_hub_first":
        import keras_hub

        import textbones
    else:
        import keras_hub

        import textbones

from textbones.preprocessing.word_piece_tokenizer import WordPieceTokenizer  # noqa: E402

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran", "a", "cat", "sat"]
TEXTS = ["the fox ran", "a cat sat", "the cat ran", "a fox sat"]
LABELS = np.array([0, 1, 1, 0])
#: Every registered family, by display name (the prefix of its class names in both
#: libraries); its tiny backbone is built at a short ``max_sequence_length``.
FAMILIES = {family.display_name: family for family in textbones.registry.families()}
TMP = tempfile.mkdtemp()


def sentence_piece_proto() -> bytes:
    return textbones.tokenizers.compute_sentence_piece_proto(
        TEXTS * 20,
        vocabulary_size=20,
        bos_id=-1,
        eos_id=-1,
        lowercase=True,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        hard_vocab_limit=False,
    )


def library_of(obj) -> str:
    return type(obj).__module__.split(".")[0]


def make(library, family: str, proto: bytes):
    models, spec = library.models, FAMILIES[family]
    tokenizer_class = getattr(models, spec.tokenizer.__name__)
    if issubclass(spec.tokenizer, WordPieceTokenizer):
        tokenizer = tokenizer_class(vocabulary=VOCABULARY)
    else:
        tokenizer = tokenizer_class(proto=proto)
    # One layer (one group, one inner repetition for ALBERT): every step JAX compiles here
    # is of one block, as in the smallest models this script was written with.
    config = {
        **spec.tiny_config,
        **{
            key: 1
            for key in ("num_layers", "num_groups", "num_inner_repetitions")
            if key in spec.tiny_config
        },
        "vocabulary_size": tokenizer.vocabulary_size(),
        "max_sequence_length": 16,
    }
    backbone = getattr(models, spec.backbone.__name__)(**config)
    classifier_class = getattr(models, spec.tasks["classifier"].__name__)
    preprocessor = getattr(models, spec.preprocessors["classifier"].__name__)(
        tokenizer, sequence_length=16
    )
    classifier = classifier_class(backbone, num_classes=2, preprocessor=preprocessor)
    masked_lm = getattr(models, spec.tasks["masked_lm"].__name__)(
        backbone,
        preprocessor=getattr(models, spec.preprocessors["masked_lm"].__name__)(
            tokenizer, sequence_length=16
        ),
    )
    return {
        "backbone": backbone,
        "tokenizer": tokenizer,
        "preprocessor": preprocessor,
        "classifier": classifier,
        "masked_lm": masked_lm,
    }


def round_trips(proto: bytes) -> dict:
    built = {}
    for family in FAMILIES:
        for kind, obj in make(textbones, family, proto).items():
            rebuilt = type(obj).from_config(obj.get_config())
            assert type(rebuilt) is type(obj), (family, kind, type(rebuilt))
            inner = (
                [rebuilt.backbone, rebuilt.preprocessor, rebuilt.preprocessor.tokenizer]
                if kind in ("classifier", "masked_lm")
                else []
            )
            assert all(library_of(part) == "textbones" for part in inner), (family, kind)
            built[f"{family}/{kind}"] = library_of(rebuilt)
    return built


def load_models(proto: bytes) -> dict:
    ours = make(textbones, "Bert", proto)["classifier"]
    expected = ours.predict(TEXTS, verbose=0)
    ours.save(f"{TMP}/textbones.keras")
    loaded = keras.models.load_model(f"{TMP}/textbones.keras")
    assert type(loaded) is type(ours) and library_of(loaded.backbone) == "textbones"
    textbones_difference = float(np.abs(loaded.predict(TEXTS, verbose=0) - expected).max())

    theirs = make(keras_hub, "Bert", proto)["classifier"]
    hub_expected = keras.ops.convert_to_numpy(theirs.predict(TEXTS, verbose=0))
    theirs.save(f"{TMP}/keras_hub.keras")
    as_hub = keras.models.load_model(f"{TMP}/keras_hub.keras")
    assert library_of(as_hub.backbone) == "keras_hub"
    return {
        "textbones_archive": library_of(loaded),
        "textbones_archive_difference": textbones_difference,
        "keras_hub_archive": library_of(as_hub),
        "keras_hub_archive_difference": float(
            np.abs(
                keras.ops.convert_to_numpy(as_hub.predict(TEXTS, verbose=0)) - hub_expected
            ).max()
        ),
    }


def mixed_message() -> str:
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCABULARY)
    try:
        textbones.models.BertTextClassifierPreprocessor(tokenizer)
    except ValueError as error:
        return str(error)
    raise AssertionError("a KerasHub tokenizer was accepted")


def compile_reloads() -> dict:
    class Triangular(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return self.rate * keras.ops.minimum(1.0, keras.ops.cast(step + 1, "float32") / 2.0)

        def get_config(self):
            return {"rate": self.rate}

    schedules = keras.optimizers.schedules
    optimizers = {
        "polynomial_decay": lambda: keras.optimizers.Adam(
            schedules.PolynomialDecay(1e-3, 20, 1e-5)
        ),
        "adamw": lambda: keras.optimizers.AdamW(1e-3, weight_decay=0.01),
        "custom_schedule": lambda: keras.optimizers.AdamW(Triangular(1e-3)),
    }
    results = {}
    for name, make_optimizer in optimizers.items():
        for library in (keras_hub, textbones):
            model = make(library, "Bert", b"")["classifier"]
            model.compile(
                optimizer=make_optimizer(),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"],
            )
            model.fit(TEXTS, LABELS, batch_size=2, verbose=0)
            before = keras.ops.convert_to_numpy(model.predict(TEXTS, verbose=0))
            path = f"{TMP}/{name}_{library.__name__}.keras"
            model.save(path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded = keras.models.load_model(path)
            after = keras.ops.convert_to_numpy(loaded.predict(TEXTS, verbose=0))
            loaded.fit(TEXTS, LABELS, batch_size=2, verbose=0)  # training continues
            results[f"{name}/{library.__name__}"] = {
                "optimizer": type(loaded.optimizer).__name__,
                "iterations": int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)),
                "predict_difference": float(np.abs(after - before).max()),
            }
    return results


def dtype_policies() -> dict:
    proto = b""
    presets = {}
    for library in (keras_hub, textbones):
        for saved in ("float32", "bfloat16"):
            keras.config.set_dtype_policy(saved)
            parts = make(library, "Bert", proto)
            path = f"{TMP}/{library.__name__}_{saved}"
            parts["backbone"].save_to_preset(path)
            parts["tokenizer"].save_to_preset(path)
            presets[f"{library.__name__}_{saved}"] = path
    keras.config.set_dtype_policy("float32")
    checkpoint = f"{TMP}/transformers"
    make(textbones, "Bert", proto)["masked_lm"].save_to_preset(checkpoint, format="transformers")
    presets["transformers"] = checkpoint

    def policies(model) -> list:
        return sorted({layer.dtype_policy.name for layer in model._flatten_layers()})

    results = {}
    try:
        keras.config.set_dtype_policy("mixed_float16")
        for name, path in presets.items():
            for dtype in (None, "bfloat16"):
                extra = {} if dtype is None else {"dtype": dtype}
                for library in (keras_hub, textbones):
                    backbone = library.models.Backbone.from_preset(path, **extra)
                    classifier = library.models.TextClassifier.from_preset(
                        path, num_classes=2, **extra
                    )
                    results[f"{name}/{dtype}/{library.__name__}"] = {
                        "backbone": policies(backbone),
                        "variables": sorted({str(variable.dtype) for variable in backbone.weights}),
                        "classifier": classifier.dtype_policy.name,
                        "classifier_layers": policies(classifier),
                    }
    finally:
        keras.config.set_dtype_policy("float32")
    return results


def main() -> None:
    proto = sentence_piece_proto()
    summary = {
        "order": ORDER,
        "families": sorted(FAMILIES),
        "round_trips": round_trips(proto),
        "load_model": load_models(proto),
        "mixed_message": mixed_message(),
    }
    if ORDER == "keras_hub_first":
        summary["compile"] = compile_reloads()
        summary["dtypes"] = dtype_policies()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
