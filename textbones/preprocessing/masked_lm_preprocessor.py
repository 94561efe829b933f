"""Raw text to masked-language-model inputs, labels and weights, masked afresh each call."""

from typing import Any

import keras
import numpy as np

from textbones.preprocessing.masked_lm_mask_generator import MaskedLMMaskGenerator
from textbones.preprocessing.padding_buckets import bucket_length, trim_columns
from textbones.preprocessing.preprocessor import Preprocessor

#: The fewest mask slots a dynamically padded batch gets; buckets double from here.
MASK_SLOT_BUCKET = 8


class MaskedLMPreprocessor(Preprocessor):
    """Tokenize, pack and mask text for a ``MaskedLM``.

    Returns ``(x, y, sample_weight)``: ``x`` holds the backbone inputs (with the selected
    tokens replaced) and ``mask_positions [batch, mask_selection_length]``; ``y`` the
    original ids at those positions; ``sample_weight`` 1.0 for real selections and 0.0 for
    unused slots. Special tokens are never selected. Every call draws new masks, so each
    epoch sees different ones; ``keras.utils.set_random_seed`` makes them reproducible.

    Args:
        tokenizer: the family's tokenizer.
        sequence_length: length of the packed rows.
        truncate: ``"round_robin"`` or ``"waterfall"``.
        mask_selection_rate: chance that a token is selected.
        mask_selection_length: most selections per row (the width of ``mask_positions``).
        mask_token_rate: chance that a selected token becomes the mask token.
        random_token_rate: chance that it becomes a random token (else it is kept).
        **kwargs: see ``Preprocessor``.

    Example:

    >>> from textbones.models import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> from textbones.models import BertMaskedLMPreprocessor
    >>> preprocessor = BertMaskedLMPreprocessor(
    ...     tokenizer, sequence_length=8, mask_selection_rate=1.0, mask_selection_length=3)
    >>> x, y, weights = preprocessor("the fox ran")
    >>> x["mask_positions"].tolist(), y.tolist(), weights.tolist()
    ([1, 2, 3], [5, 6, 7], [1.0, 1.0, 1.0])
    """

    def __init__(
        self,
        tokenizer,
        sequence_length: int = 512,
        truncate: str = "round_robin",
        mask_selection_rate: float = 0.15,
        mask_selection_length: int = 96,
        mask_token_rate: float = 0.8,
        random_token_rate: float = 0.1,
        **kwargs,
    ):
        super().__init__(tokenizer, sequence_length=sequence_length, truncate=truncate, **kwargs)
        self.mask_selection_rate = mask_selection_rate
        self.mask_selection_length = mask_selection_length
        self.mask_token_rate = mask_token_rate
        self.random_token_rate = random_token_rate
        # Drawn now, so that masks follow `keras.utils.set_random_seed` called before
        # construction, even though the generator is built on first use.
        self._mask_seed = int(np.random.randint(0, 2**31 - 1))
        self._masker = None

    @property
    def masker(self) -> MaskedLMMaskGenerator:
        """The ``MaskedLMMaskGenerator`` (built on first use, once the vocabulary is known)."""
        if self._masker is None:
            tokenizer = self.tokenizer
            self._masker = MaskedLMMaskGenerator(
                vocabulary_size=tokenizer.vocabulary_size(),
                mask_selection_rate=self.mask_selection_rate,
                mask_token_id=tokenizer.mask_token_id,
                mask_selection_length=self.mask_selection_length,
                unselectable_token_ids=[
                    tokenizer.start_token_id,
                    tokenizer.end_token_id,
                    tokenizer.pad_token_id,
                    tokenizer.mask_token_id,
                ],
                mask_token_rate=self.mask_token_rate,
                random_token_rate=self.random_token_rate,
                seed=self._mask_seed,
            )
        return self._masker

    def preprocess_batch(
        self,
        x,
        y=None,
        sample_weight=None,
        *,
        dynamic_length: bool = False,
        rng=None,
        trim_mask_slots: bool | None = None,
    ):
        """Masked inputs, labels and weights of the text ``x``; see
        ``Preprocessor.preprocess_batch``.

        ``rng`` draws the masks (the preprocessor's own seeded generator without one).
        ``trim_mask_slots`` (default: ``dynamic_length``) cuts the mask slots no row of
        the batch uses, keeping a bucketed width; ``predict`` keeps them all, so that
        the logits of every batch have one shape.
        """
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__} makes its own labels and weights from the text; "
                "call it with the text alone (or use `preprocessor=None` on the model and "
                "pass preprocessed inputs, labels and weights yourself)."
            )
        inputs = self._model_inputs(x, dynamic_length=dynamic_length)
        masked = self.masker(inputs["token_ids"], rng=rng)
        trim = dynamic_length if trim_mask_slots is None else trim_mask_slots
        if (
            trim
            and self.mask_selection_length
            and isinstance(masked["mask_weights"], np.ndarray)
            and masked["mask_weights"].ndim == 2
        ):
            # Unused mask slots cost a full vocabulary projection each; keep only as
            # many as the batch needs, rounded up to a bucket.
            most = int(masked["mask_weights"].sum(axis=1).max(initial=0))
            width = bucket_length(most, self.mask_selection_length, smallest=MASK_SLOT_BUCKET)
            masked = trim_columns(masked, ("mask_positions", "mask_ids", "mask_weights"), width)
        inputs["token_ids"] = masked["token_ids"]
        inputs["mask_positions"] = masked["mask_positions"]
        return keras.utils.pack_x_y_sample_weight(
            inputs, masked["mask_ids"], masked["mask_weights"]
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "mask_selection_rate": self.mask_selection_rate,
            "mask_selection_length": self.mask_selection_length,
            "mask_token_rate": self.mask_token_rate,
            "random_token_rate": self.random_token_rate,
        }
