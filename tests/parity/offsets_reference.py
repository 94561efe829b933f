"""Reference side of the token offsets parity tests: Hugging Face's fast tokenizers.

Run this ONLY with the reference interpreter (``.venv-ref/bin/python``): it imports
``transformers``. The main suite never imports it (``tests/parity/conftest.py`` keeps it
out of collection); ``test_offsets_parity.py`` runs it once per module as a subprocess::

    offsets_reference.py REQUEST_JSON RESPONSE_JSON

The request holds ``texts`` (strings), ``words`` (lists of words, for
``is_split_into_words=True``) and ``cases``: ``name -> {"kind": "bert", "vocabulary_file",
"do_lower_case", "strip_accents", "split_special_tokens"}`` for ``BertTokenizerFast``, or
``{"kind": "albert", "folder"}`` for the ``AlbertTokenizer`` (a fast tokenizer in
transformers 5) that ``AutoTokenizer`` builds from a folder holding ``spiece.model`` and
``tokenizer_config.json``. For each case and each input, the response holds the ids, the
``offset_mapping``, ``word_ids()`` (``None`` as -1) and the ``special_tokens_mask``, all
with ``add_special_tokens=False``, under ``texts`` and ``words``. A failing case gets an
``error`` entry instead, and the exit status is 1.
"""

import json
import pathlib
import sys
import traceback
import warnings


def _tokenizer(case, transformers):
    if case["kind"] == "bert":
        return transformers.BertTokenizerFast(
            case["vocabulary_file"],
            do_lower_case=case["do_lower_case"],
            strip_accents=case["strip_accents"],
            split_special_tokens=case["split_special_tokens"],
        )
    return transformers.AutoTokenizer.from_pretrained(case["folder"])


def _encoded(tokenizer, inputs, is_split_into_words: bool) -> list[dict]:
    encoding = tokenizer(
        inputs,
        add_special_tokens=False,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        is_split_into_words=is_split_into_words,
    )
    rows = []
    for index, ids in enumerate(encoding["input_ids"]):
        rows.append(
            {
                "ids": ids,
                "offsets": [list(pair) for pair in encoding["offset_mapping"][index]],
                "word_ids": [-1 if word is None else word for word in encoding.word_ids(index)],
                "special": encoding["special_tokens_mask"][index],
            }
        )
    return rows


def main(argv: list[str]) -> int:
    request_path, response_path = map(pathlib.Path, argv)
    warnings.filterwarnings("ignore")
    import tokenizers
    import transformers

    request = json.loads(request_path.read_text(encoding="utf-8"))
    response = {
        "versions": {
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "cases": {},
    }
    failed = False
    for name, case in request["cases"].items():
        try:
            tokenizer = _tokenizer(case, transformers)
            response["cases"][name] = {
                "class": type(tokenizer).__name__,
                "texts": _encoded(tokenizer, request["texts"][case["corpus"]], False),
                "words": _encoded(tokenizer, request["words"][case["corpus"]], True),
            }
        except Exception:
            response["cases"][name] = {"error": traceback.format_exc()}
            failed = True
    response_path.write_text(json.dumps(response), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
