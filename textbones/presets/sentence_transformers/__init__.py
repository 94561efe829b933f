"""sentence-transformers model folders: read (``modules.json`` and the module configs over a
``transformers`` checkpoint) and written (``save_to_preset(..., format="sentence-transformers")``).
"""
