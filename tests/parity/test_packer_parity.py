"""Parity of ``MultiSegmentPacker`` with KerasHub's, on many random cases.

The cases are drawn here, with a fixed seed, and cover 1 to 4 segments, ragged and empty
rows, single examples, int and list-valued start/end/sep values, pad values, both
truncation strategies, both padding sides, rows that need no truncation and rows with no
room left at all, and the call-time ``sequence_length``/``add_start_value``/
``add_end_value`` overrides. KerasHub packs each case in the reference interpreter
(``tests/parity/packer_reference.py``, one subprocess for all cases) with the pure Python
code it runs eagerly, and the first ``NUM_TF_PATH_CASES`` also with the TensorFlow Text
code it runs inside ``tf.data``. textbones must give identical ids and segment ids, and
the same dtype (int32) as the Python path.

Only cases KerasHub handles are drawn: ``sequence_length`` is never below the number of
special ids (KerasHub 0.32 then returns rows longer than ``sequence_length`` on its Python
path, where textbones raises a ``ValueError``), and ids are integers.

Environment: ``TEXTBONES_REF_PYTHON`` names the reference interpreter (default
``<repo>/.venv-ref/bin/python``).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
from typing import Any

import numpy as np
import pytest

from tests.helpers.reference_env import reference_python
from textbones.preprocessing.multi_segment_packer import MultiSegmentPacker

pytestmark = pytest.mark.parity

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = pathlib.Path(__file__).with_name("packer_reference.py")
NUM_CASES = 1000
# KerasHub's TensorFlow path costs about 75 ms a case (its Python path about 2 ms), so it
# runs on the first cases only.
NUM_TF_PATH_CASES = 30
SEED = 20240611
SUBPROCESS_TIMEOUT_S = 300


def _special_value(rng: np.random.Generator) -> int | list[int]:
    if rng.random() < 0.5:
        return int(rng.integers(1000, 1010))
    return [int(v) for v in rng.integers(1000, 1010, size=rng.integers(0, 4))]


def _num_ids(value: int | list[int]) -> int:
    return 1 if isinstance(value, int) else len(value)


def _random_case(rng: np.random.Generator) -> dict[str, Any]:
    num_segments = int(rng.integers(1, 5))
    batched = rng.random() < 0.8
    batch_size = int(rng.integers(1, 7)) if batched else 1
    max_length = int(rng.choice([0, 3, 8, 20]))

    def row() -> list[int]:
        return [int(v) for v in rng.integers(1, 900, size=rng.integers(0, max_length + 1))]

    segments = [
        [row() for _ in range(batch_size)] if batched else row() for _ in range(num_segments)
    ]
    config: dict[str, Any] = {
        "start_value": _special_value(rng),
        "end_value": _special_value(rng),
        "sep_value": None if rng.random() < 0.5 else _special_value(rng),
        "pad_value": None if rng.random() < 0.5 else int(rng.integers(-5, 5)),
        "truncate": str(rng.choice(["round_robin", "waterfall"])),
        "padding_side": str(rng.choice(["right", "left"])),
    }
    call_kwargs: dict[str, Any] = {}
    if rng.random() < 0.15:
        call_kwargs["add_start_value"] = False
    if rng.random() < 0.15:
        call_kwargs["add_end_value"] = False
    sep_ids = _num_ids(config["end_value"] if config["sep_value"] is None else config["sep_value"])
    needed = (
        _num_ids(config["start_value"]) * call_kwargs.get("add_start_value", True)
        + (num_segments - 1) * sep_ids
        + _num_ids(config["end_value"]) * call_kwargs.get("add_end_value", True)
    )
    # From "no room for any token" to "room for everything".
    sequence_length = max(needed, 1) + int(rng.integers(0, num_segments * max_length + 3))
    # The constructor must accept the length for one segment with both ends.
    constructor_needed = max(_num_ids(config["start_value"]) + _num_ids(config["end_value"]), 1)
    if rng.random() < 0.2 or sequence_length < constructor_needed:
        config["sequence_length"] = max(constructor_needed, int(rng.integers(1, 40)))
        call_kwargs["sequence_length"] = sequence_length
    else:
        config["sequence_length"] = sequence_length
    if (
        not _num_ids(config["start_value"])
        and not _num_ids(config["end_value"])
        and config["pad_value"] is None
    ):
        # KerasHub's Python path guesses the output type from the special values, the pad
        # value or the first id; with none of them (all rows empty) it gives up.
        config["pad_value"] = 0
    return {
        "config": config,
        "segments": segments,
        "batched": bool(batched),
        "call_kwargs": call_kwargs,
    }


def _batch_form(segment: list[list[int]], form: int) -> Any:
    if form == 0:
        return segment
    if form == 2 and len({len(row) for row in segment}) == 1:
        return np.array(segment, dtype=np.int32).reshape(len(segment), -1)
    return [np.array(row, dtype=np.int64) for row in segment]


def _ours(case: dict[str, Any]) -> dict[str, Any]:
    packer = MultiSegmentPacker(**case["config"])
    segments = case["segments"]
    if case["batched"]:
        # Mix the accepted batch forms: lists of lists, lists of arrays, 2-D arrays.
        segments = [_batch_form(segment, index % 3) for index, segment in enumerate(segments)]
    else:
        segments = [np.array(segment, dtype=np.int32) for segment in segments]
    token_ids, segment_ids = packer(tuple(segments), **case["call_kwargs"])
    return {
        "token_ids": token_ids.tolist(),
        "segment_ids": segment_ids.tolist(),
        "dtype": str(token_ids.dtype),
    }


@pytest.fixture(scope="module")
def ref_python() -> pathlib.Path:
    """The reference interpreter. Missing is a failure, never a skip."""
    return reference_python()


def test_packer_matches_keras_hub(ref_python, tmp_path):
    rng = np.random.default_rng(SEED)
    cases = [
        {**_random_case(rng), "tf_path": index < NUM_TF_PATH_CASES} for index in range(NUM_CASES)
    ]
    cases_path, out_path = tmp_path / "cases.json", tmp_path / "keras_hub.json"
    cases_path.write_text(json.dumps(cases), encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("KERAS_BACKEND", None)  # the script picks its own
    finished = subprocess.run(
        [str(ref_python), str(SCRIPT), str(cases_path), str(out_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert finished.returncode == 0, f"reference run failed:\n{finished.stderr[-3000:]}"
    references = json.loads(out_path.read_text(encoding="utf-8"))
    assert len(references) == len(cases)

    mismatches = []
    for index, (case, reference) in enumerate(zip(cases, references, strict=True)):
        ours = _ours(case)
        for path, expected in reference.items():
            if "error" in expected:
                mismatches.append((index, path, expected["error"], case))
                continue
            if path == "tf":  # TF keeps the input dtype; the values are what count there
                expected = {**expected, "dtype": ours["dtype"]}
            if expected != ours:
                mismatches.append((index, path, {"keras_hub": expected, "textbones": ours}, case))
    assert sum(len(reference) for reference in references) == NUM_CASES + NUM_TF_PATH_CASES
    assert not mismatches, f"{len(mismatches)} mismatches; first ones:\n" + "\n".join(
        json.dumps(mismatch) for mismatch in mismatches[:5]
    )
