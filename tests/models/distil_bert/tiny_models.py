"""Tiny DistilBERT models and batches, shared by the tests of the family."""

import keras
import numpy as np

from tests.conftest import perturb_weights
from textbones.models.distil_bert.backbone import DistilBertBackbone

TINY = dict(
    vocabulary_size=97,
    num_layers=2,
    num_heads=2,
    hidden_dim=16,
    intermediate_dim=32,
    max_sequence_length=24,
)

#: A WordPiece vocabulary with DistilBERT's special tokens (KerasHub's order of BERT's).
VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",  # 0-4
    "the", "quick", "brown", "fox", "jump", "##ed", "##s", ".", "a", "dog", "sat",  # 5-15
    "good", "bad", "movie", "great", "awful", "is", "was", "!",  # 16-23
]  # fmt: skip


def make_backbone(seed: int = 0, **overrides) -> DistilBertBackbone:
    """A tiny DistilBertBackbone whose every weight is moved off its initial value."""
    keras.utils.set_random_seed(seed)
    model = DistilBertBackbone(**{**TINY, **overrides})
    perturb_weights(model, seed)
    return model


def make_inputs(lengths=(7, 5, 2), total: int = 7, seed: int = 0) -> dict:
    """A batch of ids with rows of the given real lengths, right-padded with id 0."""
    rng = np.random.default_rng(seed)
    mask = (np.arange(total)[None, :] < np.array(lengths)[:, None]).astype("int32")
    token_ids = (rng.integers(1, TINY["vocabulary_size"], (len(lengths), total)) * mask).astype(
        "int32"
    )
    return {"token_ids": token_ids, "padding_mask": mask}
