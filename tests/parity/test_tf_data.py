"""Tasks train and predict on ``tf.data.Dataset``s of raw strings, where TensorFlow is installed.

The main environment has no TensorFlow, so ``tf_data_reference.py`` runs in the reference
interpreter (``.venv-ref``, textbones installed there too) on the JAX and TensorFlow
backends. The script asserts the details itself (see its docstring); here its summary is
checked again.
"""

import json

import numpy as np
import pytest

from tests.helpers.reference_env import run_reference

pytestmark = pytest.mark.parity


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_tasks_fit_and_predict_on_tf_data_of_raw_strings(backend):
    finished = run_reference("tf_data_reference.py", backend)
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    print(f"tf.data on {backend}: {summary}")
    assert summary["backend"] == backend
    classifier = summary["classifier"]
    assert classifier["epoch_losses"][1] < classifier["epoch_losses"][0]
    assert classifier["loss_after"] < classifier["loss_before"]
    assert classifier["predict_shape"] == [32, 2]
    assert classifier["predict_max_difference"] < 1e-4
    assert np.isfinite([summary["pairs_loss"], summary["unknown_length_loss"]]).all()
    masked_lm = summary["masked_lm"]
    assert masked_lm["epoch_losses"][1] < masked_lm["epoch_losses"][0]
    assert 0.0 <= masked_lm["evaluate"]["sparse_categorical_accuracy"] <= 1.0
