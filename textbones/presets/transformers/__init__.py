"""Hugging Face ``transformers`` checkpoints of BERT, ALBERT and FNet: loading and export.

A converter is a table (``bert.py``, ``albert.py``, ``f_net.py``) of ``transformers`` key →
textbones variable (+ layout) and of config field → constructor argument; the machinery
that reads checkpoints (``checkpoint.py``, ``safetensors_file.py``), applies the tables
(``loading.py``, ``exporting.py``) and handles tokenizer files (``tokenizer_files.py``)
is shared.
"""
