"""KerasHub side of the ``MultiSegmentPacker`` parity test.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``keras_hub``. The main suite never imports it (``tests/parity/conftest.py`` keeps it out
of collection); ``test_packer_parity.py`` runs it as a subprocess.

Usage::

    packer_reference.py CASES_JSON OUT_JSON

``CASES_JSON`` holds a list of cases, each ``{"config": {...}, "segments": [...],
"batched": bool, "call_kwargs": {...}, "tf_path": bool}``: the packer's constructor
arguments, the segments (each a batch as a list of lists of ids, or, when ``batched`` is
false, one example as a list of ids), the extra call arguments, and whether to run the
TensorFlow path too (optional, default true; it costs about 75 ms a case).
Each case is packed twice by KerasHub's ``MultiSegmentPacker``: on its default eager
path (pure Python) and on its TensorFlow path (``_allow_python_workflow=False``, fed
int32 ``tf.RaggedTensor`` batches so that empty rows keep an integer dtype). ``OUT_JSON``
gets one entry per case: ``{"python": RESULT, "tf": RESULT}`` (no ``"tf"`` when
``tf_path`` is false) where ``RESULT`` is
``{"token_ids": ..., "segment_ids": ..., "dtype": ...}`` or ``{"error": "..."}``.
"""

import json
import os
import sys
import warnings


def _configure_environment() -> None:
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")


def _result(outputs) -> dict:
    import numpy as np

    token_ids, segment_ids = (np.asarray(output) for output in outputs)
    return {
        "token_ids": token_ids.astype("int64").tolist(),
        "segment_ids": segment_ids.astype("int64").tolist(),
        "dtype": str(token_ids.dtype),
    }


def _as_tf(segment, batched: bool):
    import tensorflow as tf

    if batched:
        return tf.RaggedTensor.from_row_lengths(
            tf.constant([token for row in segment for token in row], dtype=tf.int32),
            [len(row) for row in segment],
        )
    return tf.constant(segment, dtype=tf.int32, shape=[len(segment)])


def pack_case(case: dict) -> dict:
    import keras_hub

    segments, batched = case["segments"], case["batched"]
    results = {}
    for path in ("python", "tf") if case.get("tf_path", True) else ("python",):
        try:
            packer = keras_hub.layers.MultiSegmentPacker(
                **case["config"], _allow_python_workflow=(path == "python")
            )
            if path == "python":
                inputs = tuple(segments)
            else:
                inputs = tuple(_as_tf(segment, batched) for segment in segments)
            results[path] = _result(packer(inputs, **case["call_kwargs"]))
        except Exception as error:  # noqa: BLE001 -- reported, not raised: the test shows the case
            results[path] = {"error": f"{type(error).__name__}: {error}"[:500]}
    return results


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    _configure_environment()
    with open(argv[0], encoding="utf-8") as file:
        cases = json.load(file)
    results = [pack_case(case) for case in cases]
    with open(argv[1], "w", encoding="utf-8") as file:
        json.dump(results, file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
