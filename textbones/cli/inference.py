"""``fill-mask``, ``classify``, ``ner``, ``embed`` and ``search``: using a preset from the shell."""

from __future__ import annotations

import contextlib
import os
import pathlib
import sys
import tempfile
from typing import Any

import numpy as np

#: What each subcommand needs of a preset: a task kind (``None``: any model) and in words.
NEEDS = {
    "fill-mask": ("masked_lm", "a masked-LM task preset (a MaskedLM saved with its head)"),
    "classify": (
        "classifier",
        "a text-classifier task preset (a TextClassifier saved with its head)",
    ),
    "qa": (
        "question_answerer",
        "a question-answerer task preset (a QuestionAnswerer saved with its head)",
    ),
    "embed": (None, "a preset with a backbone"),
    "search": (None, "a preset with a backbone"),
    "ner": (
        "token_classifier",
        "a token-classifier task preset (a TokenClassifier saved with its head)",
    ),
}
#: The subcommands that fit each task kind.
FITTING = {
    "masked_lm": "fill-mask, embed or search",
    "classifier": "classify, embed or search",
    "text_embedder": "embed or search",
    "token_classifier": "ner, embed or search",
    "question_answerer": "qa, embed or search",
    None: "embed or search",
}


def check_preset_fits(command: str, preset: str | os.PathLike, kind) -> None:
    """Refuse a preset whose kind (a :class:`~textbones.presets.preset_kind.PresetKind`)
    ``command`` can't use, naming the kind and the subcommands that fit it.

    Example:

    >>> from textbones.presets.preset_kind import PresetKind
    >>> classifier = PresetKind("classifier", "BertTextClassifier", "BertBackbone", True)
    >>> check_preset_fits("classify", "./clf", classifier)
    >>> check_preset_fits(  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    ...     "fill-mask", "./clf", classifier)
    Traceback (most recent call last):
    ...
    ValueError: ./clf is a text-classifier task preset (BertTextClassifier), not ...
    `textbones classify, embed or search` ...
    """
    wanted, needed = NEEDS[command]
    has_model = kind.backbone_class is not None
    if has_model and (wanted is None or kind.task == wanted):
        if not kind.has_tokenizer:
            raise ValueError(
                f"The preset {preset} has no tokenizer, so it can't read text. Save the "
                "tokenizer into it (`tokenizer.save_to_preset(...)`), or use a preset with one."
            )
        return
    if not has_model:
        advice = "`textbones inspect` shows what it holds"
    elif kind.task == "unknown":
        advice = "`textbones embed` and `textbones search` can still use its backbone"
    else:
        advice = f"Use `textbones {FITTING.get(kind.task, 'embed or search')}` with it"
    untrained = " (its head would be untrained, the predictions random)" if wanted else ""
    raise ValueError(
        f"{preset} is {kind.describe()}, not {needed}, so `textbones {command}` can't use "
        f"it{untrained}. {advice}."
    )


def preset_directory_for(command: str, preset: str | os.PathLike) -> pathlib.Path:
    """The local directory of ``preset``, once its kind is known to fit ``command``.

    A built-in preset name is checked against the shipped registry before any download.

    Example:

    >>> preset_directory_for("fill-mask", "bert_tiny_en_uncased")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: bert_tiny_en_uncased is a backbone preset (BertBackbone, no task head), ...
    """
    from textbones.presets.handles import resolve_preset
    from textbones.presets.preset_kind import builtin_preset_kind, preset_kind

    if isinstance(preset, str) and not os.path.isdir(os.path.expanduser(preset)):
        builtin = builtin_preset_kind(preset.strip())
        if builtin is not None:
            check_preset_fits(command, preset, builtin)
    directory = resolve_preset(preset)
    check_preset_fits(command, preset, preset_kind(directory))
    return directory


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def fill_mask(preset: str, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``top_k`` most likely tokens, with probabilities, for each ``[MASK]`` in ``text``.

    Example:

    >>> import tempfile, textbones
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat"])
    >>> backbone = textbones.models.BertBackbone(8, 1, 2, 8, 16, max_sequence_length=16)
    >>> preprocessor = textbones.models.BertMaskedLMPreprocessor(tokenizer, sequence_length=16)
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertMaskedLM(backbone, preprocessor).save_to_preset(folder)
    >>> predictions = fill_mask(folder, "the [MASK] sat", top_k=3)
    >>> len(predictions), len(predictions[0])
    (1, 3)
    """
    import textbones

    masked_lm = textbones.models.MaskedLM.from_preset(preset_directory_for("fill-mask", preset))
    preprocessor = masked_lm.preprocessor
    if preprocessor is None:
        raise ValueError(f"The preset {preset} has no tokenizer, so it can't read text.")
    tokenizer = preprocessor.tokenizer
    mask_token = tokenizer.id_to_token(tokenizer.mask_token_id)
    pieces = text.split(mask_token)
    if len(pieces) < 2:
        raise ValueError(
            f"The text has no {mask_token} to fill in. "
            f"Write {mask_token} where a word should be predicted."
        )
    ids: list[int] = []
    for index, piece in enumerate(pieces):
        if index:
            ids.append(tokenizer.mask_token_id)
        if piece.strip():
            ids.extend(int(i) for i in tokenizer.tokenize(piece))
    token_ids, segment_ids = preprocessor.packer((np.asarray([ids], dtype=np.int32),))
    positions = np.flatnonzero(token_ids[0] == tokenizer.mask_token_id)
    if len(positions) < text.count(mask_token):
        raise ValueError(
            f"The text is too long: some {mask_token} fall beyond the model's "
            f"{preprocessor.sequence_length} tokens. Shorten it."
        )
    inputs = {"token_ids": token_ids, "mask_positions": positions[None, :].astype(np.int32)}
    if preprocessor.has_segment_ids:
        inputs["segment_ids"] = segment_ids
    if preprocessor.has_padding_mask:
        inputs["padding_mask"] = token_ids != tokenizer.pad_token_id
    masked_lm.preprocessor = None
    probabilities = _softmax(np.asarray(masked_lm.predict_on_batch(inputs), dtype=np.float64)[0])
    results = []
    for row in probabilities:
        best = np.argsort(-row)[:top_k]
        results.append([(tokenizer.id_to_token(int(i)), float(row[i])) for i in best])
    return results


def answer_questions(
    preset: str,
    context_file: str,
    questions: list[str],
    top_k: int = 1,
    max_answer_len: int = 15,
    handle_impossible_answer: bool = False,
) -> list[dict[str, Any]]:
    """The answers to ``questions`` in the text of ``context_file``, from a question-answerer
    preset: one row per answer (``top_k`` per question at most), each with its ``question``.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "ran", "fox"])
    >>> backbone = textbones.models.BertBackbone(8, 1, 2, 8, 16, max_sequence_length=16)
    >>> preprocessor = textbones.models.BertQuestionAnswererPreprocessor(tokenizer, 16)
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertQuestionAnswerer(backbone, preprocessor).save_to_preset(folder)
    >>> context = pathlib.Path(folder, "context.txt")
    >>> _ = context.write_text("fox ran", encoding="utf-8")
    >>> rows = answer_questions(folder, str(context), ["who ran"], top_k=2)
    >>> [row["question"] for row in rows], sorted(rows[0])
    (['who ran', 'who ran'], ['answer', 'end', 'question', 'score', 'start'])
    """
    import textbones

    path = pathlib.Path(context_file)
    try:
        context = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(
            f"Cannot read the context file {context_file}: {error}. Give a UTF-8 text file."
        ) from None
    directory = preset_directory_for("qa", preset)
    model = textbones.models.QuestionAnswerer.from_preset(directory)
    if model.preprocessor is None:
        raise ValueError(f"The preset {preset} has no tokenizer, so it can't read text.")
    results = model.answer(
        list(questions),
        [context] * len(questions),
        top_k=top_k,
        max_answer_len=max_answer_len,
        handle_impossible_answer=handle_impossible_answer,
    )
    rows = []
    for question, result in zip(questions, results):
        for answer in [result] if isinstance(result, dict) else result:
            rows.append({"question": question, **answer})
    return rows


def classify(preset: str, texts: list[str]) -> list[dict[str, Any]]:
    """The predicted class and the class probabilities of each text, from a classifier preset.

    Example:

    >>> import tempfile, textbones
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"])
    >>> backbone = textbones.models.BertBackbone(7, 1, 2, 8, 16, max_sequence_length=16)
    >>> preprocessor = textbones.models.BertTextClassifierPreprocessor(
    ...     tokenizer, sequence_length=16)
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertTextClassifier(backbone, 3, preprocessor).save_to_preset(folder)
    >>> result = classify(folder, ["good", "bad"])
    >>> len(result), len(result[0]["probabilities"])
    (2, 3)
    """
    import textbones

    directory = preset_directory_for("classify", preset)
    classifier = textbones.models.TextClassifier.from_preset(directory)
    if classifier.preprocessor is None:
        raise ValueError(f"The preset {preset} has no tokenizer, so it can't read text.")
    outputs = np.asarray(classifier.predict(texts, verbose=0), dtype=np.float64)
    import keras

    if classifier.activation is not keras.activations.softmax:
        outputs = _softmax(outputs)
    return [
        {
            "text": text,
            "class": int(row.argmax()),
            "probabilities": [round(float(p), 6) for p in row],
        }
        for text, row in zip(texts, outputs)
    ]


def ner(
    preset: str, texts: list[str], aggregation_strategy: str = "simple", stride: int | None = None
) -> list[dict[str, Any]]:
    """The entities of each text (``TokenClassifier.predict_entities``), from a
    token-classifier preset: one ``{"text", "entities"}`` dict per text.

    Example:

    >>> import tempfile, textbones
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "paris", "in"],
    ...     lowercase=True)
    >>> backbone = textbones.models.BertBackbone(7, 1, 2, 8, 16, max_sequence_length=16)
    >>> preprocessor = textbones.models.BertTokenClassifierPreprocessor(tokenizer, 16)
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertTokenClassifier(
    ...     backbone, preprocessor=preprocessor, id2label=["B-LOC", "I-LOC"]
    ... ).save_to_preset(folder)
    >>> rows = ner(folder, ["in Paris"], aggregation_strategy="none")
    >>> [(entity["word"], entity["start"]) for entity in rows[0]["entities"]]
    [('in', 0), ('paris', 3)]
    """
    import textbones

    directory = preset_directory_for("ner", preset)
    tagger = textbones.models.TokenClassifier.from_preset(directory)
    if tagger.preprocessor is None:
        raise ValueError(f"The preset {preset} has no tokenizer, so it can't read text.")
    found = tagger.predict_entities(texts, aggregation_strategy=aggregation_strategy, stride=stride)
    return [{"text": text, "entities": entities} for text, entities in zip(texts, found)]


#: Prompt names ``search`` applies when none is given and the preset has them.
QUERY_PROMPT_NAMES = ("query",)
CORPUS_PROMPT_NAMES = ("document", "passage")


def load_embedder(command: str, preset: str | os.PathLike):
    """The ``TextEmbedder`` of ``preset`` for ``command``: a text-embedder preset (or a
    sentence-transformers folder) with its pooling, prompts and normalization; any other
    preset with a backbone and a tokenizer with the defaults (mean pooling, normalized).

    Example:

    >>> import tempfile, textbones
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertBackbone(6, 1, 2, 8, 16).save_to_preset(folder)
    >>> load_embedder("embed", folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The preset ... has no tokenizer, so it can't read text. ...
    """
    import textbones

    directory = preset_directory_for(command, preset)
    embedder = textbones.models.TextEmbedder.from_preset(directory)
    preprocessor = embedder.preprocessor
    if preprocessor is None:
        raise ValueError(f"The preset {preset} has no tokenizer, so it can't read text.")
    limit = getattr(embedder.backbone, "max_sequence_length", None)
    if limit is not None:
        preprocessor.sequence_length = min(preprocessor.sequence_length, limit)
    return embedder


def check_prompt_name(embedder, name: str | None, option: str = "--prompt-name") -> None:
    """Refuse a prompt ``name`` the embedder does not have (``None`` passes).

    Example:

    >>> import textbones
    >>> embedder = textbones.models.FNetTextEmbedder(
    ...     textbones.models.FNetBackbone(30, 1, 8, 16), prompts={"query": "query: "})
    >>> check_prompt_name(embedder, "query")
    >>> check_prompt_name(embedder, "title")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --prompt-name 'title': the preset has no prompt of that name (its prompts: ...
    """
    prompts = embedder.prompts or {}
    if name is not None and name not in prompts:
        known = ", ".join(map(repr, prompts)) or "none"
        text_option = option.replace("-name", "")
        raise ValueError(
            f"{option} {name!r}: the preset has no prompt of that name (its prompts: {known}). "
            f"Name one of them, or give the prompt text with {text_option}."
        )


def _encode(embedder, texts: list[str], **kwargs) -> np.ndarray:
    """``encode_text`` with its late progress bar on stderr, so stdout keeps only results."""
    with contextlib.redirect_stdout(sys.stderr):
        return embedder.encode_text(texts, **kwargs)


def embed(
    preset: str,
    texts: list[str],
    prompt_name: str | None = None,
    prompt: str | None = None,
    batch_size: int | None = None,
) -> np.ndarray:
    """The embedding of each text, ``[len(texts), embedding_dim]``, by the preset's
    ``TextEmbedder`` (see :func:`load_embedder`), with the prompt named ``prompt_name`` or
    the text ``prompt`` (neither: the preset's default prompt, if any).

    Example:

    >>> import tempfile, textbones
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertBackbone(6, 1, 2, 8, 16).save_to_preset(folder)
    >>> tokenizer.save_to_preset(folder)
    >>> vectors = embed(folder, ["hi", "hi hi"])
    >>> vectors.shape, np.linalg.norm(vectors, axis=1).round(5).tolist()
    ((2, 8), [1.0, 1.0])
    """
    embedder = load_embedder("embed", preset)
    check_prompt_name(embedder, prompt_name)
    return _encode(embedder, texts, prompt_name=prompt_name, prompt=prompt, batch_size=batch_size)


def search(
    preset: str,
    corpus: str | os.PathLike,
    queries: list[str],
    top_k: int = 5,
    prompt_name: str | None = None,
    prompt: str | None = None,
    corpus_prompt_name: str | None = None,
    corpus_prompt: str | None = None,
    batch_size: int | None = None,
) -> list[dict[str, Any]]:
    """The ``top_k`` lines of the ``corpus`` file closest to each query, by the preset's
    ``TextEmbedder`` and its ``similarity``: one dict per query, ``{"query", "matches"}``,
    each match ``{"rank", "score", "line", "text"}`` (``line`` counts from 1, blank lines
    included), the best first; equal scores keep the corpus order.

    The corpus is one text per line (UTF-8; blank lines skipped), embedded once. Queries
    take the prompt named ``prompt_name`` (or the text ``prompt``), the corpus
    ``corpus_prompt_name`` (or ``corpus_prompt``); when neither is given, a preset prompt
    named ``"query"`` applies to the queries and one named ``"document"`` (else
    ``"passage"``) to the corpus, and otherwise the preset's default prompt, if any.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "red", "blue", "sky"])
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> textbones.models.BertBackbone(8, 1, 2, 8, 16).save_to_preset(folder)
    >>> tokenizer.save_to_preset(folder)
    >>> _ = (folder / "corpus.txt").write_text("red sky\\n\\nblue\\n")
    >>> [result] = search(folder, folder / "corpus.txt", ["red sky"], top_k=1)
    >>> result["matches"][0]["line"], result["matches"][0]["text"]
    (1, 'red sky')
    """
    from textbones.cli.corpus import numbered_lines

    for name, text, option in (
        (prompt_name, prompt, "--prompt"),
        (corpus_prompt_name, corpus_prompt, "--corpus-prompt"),
    ):
        if name is not None and text is not None:
            raise ValueError(f"Pass {option}-name or {option}, not both.")
    numbered = numbered_lines(corpus)  # before the model is loaded
    embedder = load_embedder("search", preset)
    check_prompt_name(embedder, prompt_name)
    check_prompt_name(embedder, corpus_prompt_name, "--corpus-prompt-name")
    if prompt_name is None and prompt is None:
        prompt_name = _preferred_prompt(embedder, QUERY_PROMPT_NAMES)
    if corpus_prompt_name is None and corpus_prompt is None:
        corpus_prompt_name = _preferred_prompt(embedder, CORPUS_PROMPT_NAMES)
    texts = [text for _, text in numbered]
    documents = _encode(
        embedder, texts, prompt_name=corpus_prompt_name, prompt=corpus_prompt, batch_size=batch_size
    )
    query_vectors = _encode(
        embedder, queries, prompt_name=prompt_name, prompt=prompt, batch_size=batch_size
    )
    scores = np.asarray(embedder.similarity(query_vectors, documents), dtype=np.float64)
    results = []
    for query, row in zip(queries, scores):
        best = np.argsort(-row, kind="stable")[:top_k]
        results.append(
            {
                "query": query,
                "matches": [
                    {
                        "rank": rank,
                        "score": round(float(row[index]), 6),
                        "line": numbered[index][0],
                        "text": numbered[index][1],
                    }
                    for rank, index in enumerate(best, start=1)
                ],
            }
        )
    return results


def _preferred_prompt(embedder, names: tuple[str, ...]) -> str | None:
    prompts = embedder.prompts or {}
    return next((name for name in names if name in prompts), None)


def npy_output_path(output: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """The file ``np.save(output, ...)`` writes (``.npy`` added when missing), checked
    before any work: never a folder, and an existing file only with ``overwrite``.

    Example:

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> npy_output_path(folder + "/vectors").name
    'vectors.npy'
    >>> npy_output_path(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    IsADirectoryError: --output ... is a folder; give a file path such as .../vectors.npy.
    """
    given = pathlib.Path(os.path.expanduser(os.fspath(output)))
    if given.is_dir():
        raise IsADirectoryError(
            f"--output {given} is a folder; give a file path such as {given / 'vectors.npy'}."
        )
    path = given if given.name.endswith(".npy") else given.with_name(given.name + ".npy")
    if path.is_dir():
        raise IsADirectoryError(f"--output {path} is a folder; give another file path.")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise FileExistsError(
            f"--output {path} already exists. Pass --overwrite to replace it, or choose "
            "another file."
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--output {path}: the folder {path.parent} does not exist.")
    return path


def save_npy(path: pathlib.Path, array: np.ndarray, overwrite: bool = False) -> None:
    """Write ``array`` to the ``.npy`` file ``path`` whole or not at all (through a
    temporary file beside it), replacing an existing file only with ``overwrite``.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "v.npy"
    >>> save_npy(path, np.ones((2, 3)))
    >>> np.load(path).shape
    (2, 3)
    """
    path = npy_output_path(path, overwrite=overwrite)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.save(file, array)
        os.chmod(temporary, 0o666 & ~_umask())
        if overwrite:
            os.replace(temporary, path)
        else:  # a link fails, where a rename would not, if a file appeared there meanwhile
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise FileExistsError(
                    f"--output {path} appeared while the vectors were computed; it was left "
                    "alone. Pass --overwrite to replace it, or choose another file."
                ) from None
            except OSError:  # a file system without hard links
                os.replace(temporary, path)
    finally:
        pathlib.Path(temporary).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
