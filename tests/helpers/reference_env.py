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


def transformers_4_path() -> pathlib.Path:
    """The folder of ``transformers`` 4.57 (with the ``tokenizers`` and ``huggingface_hub``
    it accepts), put in front of ``.venv-ref``'s packages to run the question-answering
    pipeline that transformers 5.3 removed; fails the test (never skips) when missing."""
    folder = pathlib.Path(os.environ.get("TEXTBONES_QA_PATH") or REPO / ".venv-qa")
    if not (folder / "transformers").is_dir():
        pytest.fail(
            f"{folder} holds no transformers 4.57, which the question-answering pipeline "
            "parity needs. `bash .ci/run` installs it; by hand: `.venv-ref/bin/pip install "
            "--no-deps --target .venv-qa transformers==4.57.1 huggingface_hub==0.36.0 "
            "tokenizers==0.22.1` (or point TEXTBONES_QA_PATH at such a folder)."
        )
    return folder


def run_reference(
    script: str, *args: str, timeout: float = 600, pythonpath: pathlib.Path | None = None
) -> subprocess.CompletedProcess:
    """Run ``tests/parity/<script>`` with ``args`` in the reference interpreter; fail on error.

    ``pythonpath``: a folder of packages that take precedence over the interpreter's own.
    """
    env = None
    if pythonpath is not None:
        env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    finished = subprocess.run(
        [str(reference_python()), str(PARITY / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )
    if finished.returncode != 0:
        pytest.fail(f"{script} failed (exit {finished.returncode}):\n{finished.stderr[-4000:]}")
    return finished
