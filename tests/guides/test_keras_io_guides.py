"""The keras.io guides that use BERT and FNet run on textbones, step by step, unchanged.

The guide scripts next to this file (``*_guide.py``, run together by ``run_keras_io_guides.py``)
are transcriptions of five keras.io guides — every step's calls and ``tf.data`` pipelines as in
the guide, with synthetic data in place of downloads, tiny local presets in place of built-in
names and fake hubs in place of Kaggle and Hugging Face. They need TensorFlow, so they run once,
in the reference interpreter (``.venv-ref``), with ``textbones`` imported as the guides import
``keras_nlp``; each test here checks that every step of one guide passed, and its message names
each failed step with its error. The same scripts pass on KerasHub
(``run_keras_io_guides.py keras_hub``), which is how the transcription was checked.
"""

import json
import os
import pathlib
import subprocess

import pytest

from tests.helpers.reference_env import REPO, reference_python

pytestmark = pytest.mark.parity

SCRIPT = pathlib.Path(__file__).with_name("run_keras_io_guides.py")
GUIDES = [
    "getting_started",
    "transformer_pretraining",
    "fnet_classification",
    "semantic_similarity",
    "upload",
]


@pytest.fixture(scope="module")
def summary() -> dict:
    """One run of every guide on textbones (one TensorFlow import for all five)."""
    # This checkout's textbones, whatever is installed in the reference interpreter.
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    environment = dict(os.environ, PYTHONPATH=path)
    finished = subprocess.run(
        [str(reference_python()), str(SCRIPT), "textbones"],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=REPO,
        env=environment,
    )
    if finished.returncode != 0:
        pytest.fail(
            f"{SCRIPT.name} failed (exit {finished.returncode}):\n{finished.stderr[-4000:]}"
        )
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["library"] == "textbones", result["library"]
    assert sorted(result["guides"]) == sorted(GUIDES), sorted(result["guides"])
    return result


def failures(guide: dict) -> list[str]:
    return [
        f"{step['name']} ({step['title']}): {step['status']}: {step['error']}"
        for step in guide["steps"]
        if step["status"] != "passed"
    ]


@pytest.mark.parametrize("name", GUIDES)
def test_every_step_of_the_guide_passes_on_textbones(summary, name):
    guide = summary["guides"][name]
    print(
        f"{guide['title']} ({guide['source']}): {len(guide['steps'])} steps in {guide['seconds']} s"
    )
    assert len(guide["steps"]) >= 9, guide["steps"]
    failed = failures(guide)
    assert not failed, (
        f"{len(failed)} of {len(guide['steps'])} steps of {guide['title']!r} "
        "did not pass on textbones:\n" + "\n".join(failed)
    )
