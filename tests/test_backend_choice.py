"""Importing textbones picks an installed backend when the user has not chosen one."""

import json
import os
import subprocess
import sys

PROBE = "import textbones, keras; print(keras.backend.backend())"


def backend_chosen(tmp_path, keras_json: dict | None, env_backend: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)
    if keras_json is not None:
        (tmp_path / "keras.json").write_text(json.dumps(keras_json))
    if env_backend:
        env["KERAS_BACKEND"] = env_backend
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_no_choice_anywhere_picks_jax(tmp_path):
    assert installed("jax")
    assert backend_chosen(tmp_path, None) == "jax"


def test_keras_json_naming_a_missing_backend_is_passed_over(tmp_path):
    # The main test environment is kept free of TensorFlow on purpose.
    assert not installed("tensorflow")
    assert backend_chosen(tmp_path, {"backend": "tensorflow"}) == "jax"


def test_an_explicit_choice_is_respected(tmp_path):
    assert backend_chosen(tmp_path, {"backend": "tensorflow"}, env_backend="numpy") == "numpy"
    assert backend_chosen(tmp_path, {"backend": "numpy"}) == "numpy"
