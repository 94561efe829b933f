"""Running a script of ``tests/parity`` in the reference interpreter (``.venv-ref``)."""

import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PARITY = REPO / "tests" / "parity"


def reference_python() -> pathlib.Path:
    """The reference interpreter; fails the test (never skips) when it is missing."""
    python = pathlib.Path(
        os.environ.get("TEXTBONES_REF_PYTHON") or REPO / ".venv-ref" / "bin" / "python"
    )
    if not python.exists():
        pytest.fail(
            f"The reference interpreter {python} does not exist. `bash .ci/run` creates it "
            "(KerasHub, TensorFlow, torch, transformers); or point TEXTBONES_REF_PYTHON at one. "
            "Run the rest of the suite with `-m 'not parity'`."
        )
    return python


def run_reference(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``tests/parity/<script>`` with ``args`` in the reference interpreter; fail on error."""
    finished = subprocess.run(
        [str(reference_python()), str(PARITY / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    if finished.returncode != 0:
        pytest.fail(f"{script} failed (exit {finished.returncode}):\n{finished.stderr[-4000:]}")
    return finished
