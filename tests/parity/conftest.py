"""pytest set-up of the parity tests.

``keras_hub_reference.py``, ``packer_reference.py``, ``sentence_piece_reference.py`` and
``word_piece_reference.py`` are scripts for the reference interpreter (``.venv-ref``):
they need ``keras_hub``. The
main suite runs with ``--doctest-modules``, which would import every module here, so the
scripts are kept out of collection altogether.
"""

collect_ignore = [
    "keras_hub_reference.py",
    "packer_reference.py",
    "sentence_piece_reference.py",
    "word_piece_reference.py",
]
