"""KerasHub side of the ``MaskedLMHead`` parity test.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub``. ``tests/parity/conftest.py`` keeps it out of the main suite's collection.

Usage: ``masked_lm_head_reference.py OUT_DIR``. For every entry of ``CONFIGS`` it builds a
small functional model (token ids -> ``ReversibleEmbedding`` -> optional ``Dense`` to the
hidden width -> ``MaskedLMHead``), gives every weight seeded random values (so a weight
loaded into the wrong slot shows up), and writes

* ``OUT_DIR/<name>.weights.h5``: KerasHub's ``save_weights``;
* ``OUT_DIR/<name>.npz``: ``token_ids``, ``mask_positions`` and KerasHub's ``logits``;
* ``OUT_DIR/manifest.json``: ``CONFIGS`` itself, so the pytest side rebuilds the same models.

Keras backend: ``TEXTBONES_REF_KERAS_BACKEND`` or ``torch`` (fast eager CPU start-up).
"""

import json
import os
import pathlib
import sys

# ``intermediate_activation`` is textbones' name; ``ACTIVATIONS`` below gives KerasHub's.
# ``hidden_dim`` differs from ``embedding_dim`` in the ALBERT-like entry, where a Dense layer
# maps embeddings to the hidden width and the head's Dense maps them back.
CONFIGS = {
    "tied_gelu": {
        "vocabulary_size": 23,
        "embedding_dim": 8,
        "hidden_dim": 8,
        "tied": True,
        "intermediate_activation": "gelu",
        "activation": None,
    },
    "tied_albert_like": {
        "vocabulary_size": 23,
        "embedding_dim": 6,
        "hidden_dim": 10,
        "tied": True,
        "intermediate_activation": "gelu_approximate",
        "activation": None,
    },
    "untied_relu_softmax": {
        "vocabulary_size": 23,
        "embedding_dim": 8,
        "hidden_dim": 8,
        "tied": False,
        "intermediate_activation": "relu",
        "activation": "softmax",
    },
}
BATCH, SEQUENCE_LENGTH, NUM_MASKED = 3, 9, 4
SEED = 20240611


def _activation(name):
    import keras

    if name == "gelu_approximate":
        return lambda x: keras.activations.gelu(x, approximate=True)
    return name


def build_model(config):
    import keras
    import keras_hub

    token_ids = keras.Input((SEQUENCE_LENGTH,), dtype="int32", name="token_ids")
    mask_positions = keras.Input((NUM_MASKED,), dtype="int32", name="mask_positions")
    embedding = keras_hub.layers.ReversibleEmbedding(
        config["vocabulary_size"], config["embedding_dim"], name="token_embedding"
    )
    hidden = embedding(token_ids)
    if config["hidden_dim"] != config["embedding_dim"]:
        hidden = keras.layers.Dense(config["hidden_dim"], name="embedding_projection")(hidden)
    head = keras_hub.layers.MaskedLMHead(
        vocabulary_size=config["vocabulary_size"],
        token_embedding=embedding if config["tied"] else None,
        intermediate_activation=_activation(config["intermediate_activation"]),
        activation=config["activation"],
        name="mlm_head",
    )
    logits = head(hidden, mask_positions=mask_positions)
    return keras.Model([token_ids, mask_positions], logits)


def main(out_dir: str) -> None:
    os.environ["KERAS_BACKEND"] = os.environ.get("TEXTBONES_REF_KERAS_BACKEND") or "torch"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for name, config in CONFIGS.items():
        model = build_model(config)
        for weight in model.weights:
            weight.assign(rng.normal(0.0, 0.5, size=tuple(weight.shape)).astype("float32"))
        token_ids = rng.integers(
            0, config["vocabulary_size"], size=(BATCH, SEQUENCE_LENGTH)
        ).astype("int32")
        mask_positions = np.stack(
            [rng.choice(SEQUENCE_LENGTH, size=NUM_MASKED, replace=False) for _ in range(BATCH)]
        ).astype("int32")
        logits = keras.ops.convert_to_numpy(model([token_ids, mask_positions]))
        model.save_weights(str(out / f"{name}.weights.h5"))
        np.savez(
            out / f"{name}.npz", token_ids=token_ids, mask_positions=mask_positions, logits=logits
        )
    (out / "manifest.json").write_text(
        json.dumps({"configs": CONFIGS, "backend": keras.backend.backend()}, indent=1),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(sys.argv[1])
