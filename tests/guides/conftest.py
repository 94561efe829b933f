"""pytest set-up of the keras.io guide tests.

Every module here except the pytest ones is a guide script for the reference interpreter
(``.venv-ref``): they import TensorFlow, KerasHub's hubs and each other as plain scripts. The
main suite runs with ``--doctest-modules``, which would import them, so they are kept out of
collection altogether; ``test_keras_io_guides.py`` runs them in a subprocess.
"""

import pathlib

collect_ignore = sorted(
    path.name
    for path in pathlib.Path(__file__).parent.glob("*.py")
    if not path.name.startswith(("test_", "conftest"))
)
