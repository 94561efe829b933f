"""pytest set-up of the parity tests.

The ``*_reference.py`` scripts here run only in the reference interpreter (``.venv-ref``):
they need ``keras_hub``. The main suite runs with ``--doctest-modules``, which would import
every module here, so the scripts are kept out of collection altogether.
"""

import pathlib

collect_ignore = sorted(path.name for path in pathlib.Path(__file__).parent.glob("*_reference.py"))
