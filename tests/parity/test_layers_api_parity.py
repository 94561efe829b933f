"""KerasHub's layer API in textbones, value for value against KerasHub's layers.

``layers_api_reference.py`` runs once in the reference interpreter (``.venv-ref``, JAX
backend), copies random weights from each KerasHub layer into the textbones one and asserts
the outputs, masks, configs and weight files agree (see its docstring for the cases). Here
its summary is checked again: every case ran and stayed within its tolerance.
"""

import json

import pytest

from tests.helpers.reference_env import run_reference

pytestmark = pytest.mark.parity

TOLERANCE = 1e-5
FLOAT16_TOLERANCE = 1e-2
EXPECTED_GROUPS = {
    "reversible_embedding/untied/reverse",
    "reversible_embedding/soft_cap/reverse",
    "reversible_embedding/untied_soft_cap_reverse_float32/reverse",
    "reversible_embedding/mixed_float16_reverse_float32",
    "weights_file/keras_hub_to_textbones",
    "weights_file/textbones_to_keras_hub",
    "position_embedding/shared_positions",
    "position_embedding/per_row_positions",
    "token_and_position_embedding/untied/positions",
    "token_and_position_embedding/mask_zero/default",
    "transformer_encoder/both_masks/scores",
    "transformer_encoder/pre_norm/scores",
    "transformer_encoder/dropout_inference/scores",
    "keras_mask/guide_model_pooled",
    "keras_mask/normalize_first=True/scores",
    "mixed_float16/transformer_encoder/predict_vs_keras_hub",
    "mixed_float16/f_net_encoder/predict_vs_keras_hub",
    "mixed_float16/bert_backbone/sequence_output",
}


@pytest.fixture(scope="module")
def summary() -> dict:
    finished = run_reference("layers_api_reference.py")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_every_case_ran(summary):
    assert summary["backend"] == "jax"
    assert EXPECTED_GROUPS <= set(summary["differences"]), EXPECTED_GROUPS - set(
        summary["differences"]
    )
    assert len(summary["differences"]) >= 55


def test_float32_cases_match_keras_hub(summary):
    float32 = {
        k: v for k, v in summary["differences"].items() if not k.startswith("mixed_float16/")
    }
    assert max(float32.values()) <= TOLERANCE, {k: v for k, v in float32.items() if v > TOLERANCE}


def test_mixed_float16_predict_matches_keras_hub(summary):
    mixed = {k: v for k, v in summary["differences"].items() if k.startswith("mixed_float16/")}
    assert len(mixed) == 5
    assert max(mixed.values()) <= FLOAT16_TOLERANCE, mixed
