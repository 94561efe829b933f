"""``fill-mask``, ``classify`` and ``embed``: using a preset on a few texts from the shell."""

from __future__ import annotations

import os
import pathlib
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
    "embed": (None, "a preset with a backbone"),
}
#: The subcommands that fit each task kind.
FITTING = {"masked_lm": "fill-mask or embed", "classifier": "classify or embed", None: "embed"}


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
    `textbones classify or embed` ...
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
        advice = "`textbones embed` can still use its backbone"
    else:
        advice = f"Use `textbones {FITTING[kind.task]}` with it"
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


def embed(preset: str, texts: list[str]) -> np.ndarray:
    """The backbone's pooled output for each text, ``[len(texts), hidden_dim]``.

    Example:

    >>> import tempfile, textbones
    >>> tokenizer = textbones.models.BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertBackbone(6, 1, 2, 8, 16).save_to_preset(folder)
    >>> tokenizer.save_to_preset(folder)
    >>> embed(folder, ["hi", "hi hi"]).shape
    (2, 8)
    """
    import textbones

    directory = preset_directory_for("embed", preset)
    backbone = textbones.models.Backbone.from_preset(directory)
    preprocessor = textbones.models.TextClassifierPreprocessor.from_preset(directory)
    preprocessor.sequence_length = min(preprocessor.sequence_length, backbone.max_sequence_length)
    inputs = preprocessor(texts)
    return np.asarray(backbone.predict(inputs, verbose=0)["pooled_output"], dtype=np.float32)


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
