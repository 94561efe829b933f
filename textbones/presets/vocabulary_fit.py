"""The check made wherever a tokenizer meets a backbone: its ids must all index the embedding."""

from __future__ import annotations


def check_vocabulary_fits(
    tokenizer,
    vocabulary_size: int,
    backbone_name: str = "backbone",
    backbone_source: str | None = None,
) -> None:
    """Raise ``ValueError`` if ``tokenizer`` can give ids that a backbone's token embedding of
    ``vocabulary_size`` rows has no row for.

    Ids past the table are clamped by some backends (garbage outputs) and refused mid-run
    by others. A smaller vocabulary than the table is fine (unused rows). A tokenizer whose
    vocabulary is not loaded yet passes: it is checked once it is. The message names the
    tokenizer's vocabulary file, if it was read from one, the backbone (``backbone_name``)
    and ``backbone_source`` (the file its config came from), if given.

    Example:

    >>> import textbones
    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    >>> check_vocabulary_fits(textbones.models.BertTokenizer(vocabulary=tokens), 6)
    >>> larger = textbones.models.BertTokenizer(vocabulary=tokens + ["a", "b", "c"])
    >>> check_vocabulary_fits(larger, 6, "BertBackbone")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The BertTokenizer's vocabulary has 8 tokens, but the BertBackbone's token ...
    """
    try:
        tokens = tokenizer.vocabulary_size()
    except ValueError:  # no vocabulary yet (a `.keras` archive loads it after building)
        return
    if tokens <= vocabulary_size:
        return
    rows = vocabulary_size
    vocabulary_file = getattr(tokenizer, "_vocabulary_source", None)
    read_from = f" ({vocabulary_file})" if vocabulary_file else ""
    config_from = f", from {backbone_source}" if backbone_source else ""
    past = f"id {rows}" if tokens == rows + 1 else f"ids {rows} to {tokens - 1}"
    raise ValueError(
        f"The {type(tokenizer).__name__}'s vocabulary{read_from} has {tokens} tokens, but the "
        f"{backbone_name}'s token embedding has {rows} rows (vocabulary_size={rows}"
        f"{config_from}): {past} would index past it. Use the tokenizer the backbone was "
        f"trained with, or a backbone with vocabulary_size >= {tokens}."
    )
