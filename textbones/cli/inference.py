"""``fill-mask``, ``classify`` and ``embed``: using a preset on a few texts from the shell."""

from __future__ import annotations

from typing import Any

import numpy as np


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

    masked_lm = textbones.models.MaskedLM.from_preset(preset)
    preprocessor = masked_lm.preprocessor
    if preprocessor is None:
        raise ValueError(f"The preset {preset} has no tokenizer, so it can't read text.")
    tokenizer = preprocessor.tokenizer
    mask_token = tokenizer.id_to_token(tokenizer.mask_token_id)
    pieces = text.split(mask_token)
    if len(pieces) < 2:
        raise ValueError(f"The text has no {mask_token} to fill in. Write {mask_token} where a word should be predicted.")
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
            f"The text is too long: some {mask_token} fall beyond the model's {preprocessor.sequence_length} tokens. Shorten it."
        )
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "mask_positions": positions[None, :].astype(np.int32)}
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
    >>> preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16)
    >>> folder = tempfile.mkdtemp()
    >>> textbones.models.BertTextClassifier(backbone, 3, preprocessor).save_to_preset(folder)
    >>> result = classify(folder, ["good", "bad"])
    >>> len(result), len(result[0]["probabilities"])
    (2, 3)
    """
    import textbones

    classifier = textbones.models.TextClassifier.from_preset(preset)
    if classifier.preprocessor is None:
        raise ValueError(f"The preset {preset} has no tokenizer, so it can't read text.")
    outputs = np.asarray(classifier.predict(texts, verbose=0), dtype=np.float64)
    import keras

    if classifier.activation is not keras.activations.softmax:
        outputs = _softmax(outputs)
    return [
        {"text": text, "class": int(row.argmax()), "probabilities": [round(float(p), 6) for p in row]}
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

    backbone = textbones.models.Backbone.from_preset(preset)
    preprocessor = textbones.models.TextClassifierPreprocessor.from_preset(preset)
    preprocessor.sequence_length = min(preprocessor.sequence_length, backbone.max_sequence_length)
    inputs = preprocessor(texts)
    return np.asarray(backbone.predict(inputs, verbose=0)["pooled_output"], dtype=np.float32)
