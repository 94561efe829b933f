"""Run every keras.io guide script here in one process:
``run_keras_io_guides.py LIBRARY [GUIDE ...]``.

LIBRARY is ``textbones`` (the default) or ``keras_hub``; GUIDE names limit the run to some of
them (``getting_started``, ``transformer_pretraining``, ``fnet_classification``,
``semantic_similarity``, ``upload``). Run it in the reference interpreter (``.venv-ref``, where
TensorFlow is installed). One process for all of them keeps to one TensorFlow import; each
guide gets its own working directory and a fresh Keras state (dtype policy, seed). The last
stdout line is the JSON summary that ``test_keras_io_guides.py`` checks.
"""

import sys

import guide_support

guide_support.set_backend_from_environment()

import fnet_classification_guide  # noqa: E402
import getting_started_guide  # noqa: E402
import semantic_similarity_guide  # noqa: E402
import transformer_pretraining_guide  # noqa: E402
import upload_guide  # noqa: E402

GUIDES = {
    module.GUIDE: module
    for module in (
        getting_started_guide,
        transformer_pretraining_guide,
        fnet_classification_guide,
        semantic_similarity_guide,
        upload_guide,
    )
}

if __name__ == "__main__":
    chosen = sys.argv[2:] or list(GUIDES)
    unknown = sorted(set(chosen) - set(GUIDES))
    if unknown:
        raise SystemExit(f"unknown guides {unknown}; choose from {sorted(GUIDES)}")
    guide_support.main([GUIDES[name] for name in chosen], sys.argv[:2])
