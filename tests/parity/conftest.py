"""pytest set-up of the parity tests.

``keras_hub_reference.py`` is a script for the reference interpreter (``.venv-ref``): it
needs ``keras_hub``. The main suite runs with ``--doctest-modules``, which would import
every module here, so the script is kept out of collection altogether.
"""

collect_ignore = ["keras_hub_reference.py"]
