"""pytest set-up of the DistilBERT tests: the reference script runs only in ``.venv-ref``."""

collect_ignore = ["distil_bert_reference.py"]
