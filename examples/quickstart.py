"""A first run of textbones: build a small BERT, run it on a batch, save and reload it.

    python examples/quickstart.py

No download and no pretrained weights: the model is randomly initialised. The same code
runs under JAX, PyTorch or TensorFlow (set KERAS_BACKEND before running).
"""

import tempfile

import numpy as np

import textbones as keras_nlp

backbone = keras_nlp.models.BertBackbone(
    vocabulary_size=30552,
    num_layers=4,
    num_heads=4,
    hidden_dim=256,
    intermediate_dim=512,
    max_sequence_length=128,
)
inputs = {
    "token_ids": np.array([[101, 7592, 2088, 102, 0, 0]], dtype="int32"),
    "segment_ids": np.zeros((1, 6), dtype="int32"),
    "padding_mask": np.array([[1, 1, 1, 1, 0, 0]], dtype="int32"),
}
outputs = backbone(inputs)
print(f"{type(backbone).__name__}: {backbone.count_params():,} parameters")
print("sequence_output", tuple(outputs["sequence_output"].shape))
print("pooled_output  ", tuple(outputs["pooled_output"].shape))

with tempfile.TemporaryDirectory() as folder:
    backbone.save_to_preset(f"{folder}/my_bert")
    restored = keras_nlp.models.Backbone.from_preset(f"{folder}/my_bert")
    same = np.allclose(restored(inputs)["pooled_output"], outputs["pooled_output"])
    print(f"saved and reloaded as a preset: {type(restored).__name__}, same outputs: {same}")

tiny = keras_nlp.models.Backbone.from_preset("bert_tiny_en_uncased", load_weights=False)
print(f"bert_tiny_en_uncased architecture (no download): {tiny.count_params():,} parameters")
