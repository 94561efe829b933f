"""Tokenizers, packers, mask generators and preprocessors on TensorFlow tensors.

``tf.data.Dataset.map`` (parallel or not, batched or unbatched), ``tf.function`` and eager
``tf.Tensor`` calls, compared with KerasHub 0.32 built on the same vocabularies and with
eager textbones calls, and ``dataset.map(preprocessor)`` feeding ``fit``. The main
environment has no TensorFlow, so ``tf_map_reference.py`` runs in the reference interpreter,
once per Keras backend, and asserts the details itself (see its docstring); here its summary
is checked again.
"""

import json

import numpy as np
import pytest

from tests.helpers import families as registered
from tests.helpers.reference_env import run_reference

pytestmark = pytest.mark.parity

SEQUENCE_LENGTH = 12


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_preprocessing_objects_on_tf_tensors_match_keras_hub(backend):
    finished = run_reference("tf_map_reference.py", backend, timeout=900)
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    print(f"tf.data map on {backend}: {summary['checks']} checks, seconds {summary['seconds']}")
    assert summary["backend"] == backend
    families = summary["families"]
    first = registered.family_names()[0]
    assert summary["first_family"] == first
    if backend == "tensorflow":
        assert sorted(families) == sorted(registered.family_names())
    # An unpadded tokenizer on a batch gives ragged rows, as KerasHub's does.
    assert families[first]["tokenizer_batched_spec"] == ["ragged", [None, None]]
    assert summary["checks"] > 20
    if backend == "tensorflow":
        assert summary["checks"] > 200
        for family, entry in families.items():
            assert entry["tokenizer_batched_spec"] == ["ragged", [None, None]], family
            x_spec, y_spec = entry["classifier_spec"]
            expected = {"token_ids": ["dense", "int32", [None, SEQUENCE_LENGTH]]}
            if registered.has_segment_ids(registered.family(family)):
                expected["segment_ids"] = ["dense", "int32", [None, SEQUENCE_LENGTH]]
            if registered.has_padding_mask(registered.family(family)):
                expected["padding_mask"] = ["dense", "bool", [None, SEQUENCE_LENGTH]]
            assert x_spec == expected, family
            assert y_spec == ["dense", "int32", [None]]
            masked_x, labels, weights = entry["masked_lm_spec"]  # the unbatched dataset
            assert masked_x["mask_positions"] == ["dense", "int32", [5]]
            assert masked_x["token_ids"] == ["dense", "int32", [SEQUENCE_LENGTH]]
            assert labels == ["dense", "int32", [5]] and weights == ["dense", "float32", [5]]
        assert families[first]["mask_generator_spec"]["mask_weights"] == ["dense", "float32", [4]]
    losses = summary["classifier_fit_losses"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert np.isfinite(summary["masked_lm_fit_losses"]).all()
