"""The ALBERT family: backbone, tokenizer, tasks and preprocessors (declared in ``family.py``)."""

from textbones.models.albert import family as family  # registers FAMILY
from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.masked_lm import AlbertMaskedLM
from textbones.models.albert.masked_lm_preprocessor import AlbertMaskedLMPreprocessor
from textbones.models.albert.question_answerer import AlbertQuestionAnswerer
from textbones.models.albert.question_answerer_preprocessor import (
    AlbertQuestionAnswererPreprocessor,
)
from textbones.models.albert.text_classifier import AlbertTextClassifier
from textbones.models.albert.text_classifier_preprocessor import AlbertTextClassifierPreprocessor
from textbones.models.albert.text_embedder import AlbertTextEmbedder
from textbones.models.albert.text_embedder_preprocessor import AlbertTextEmbedderPreprocessor
from textbones.models.albert.token_classifier import AlbertTokenClassifier
from textbones.models.albert.token_classifier_preprocessor import (
    AlbertTokenClassifierPreprocessor,
)
from textbones.models.albert.tokenizer import AlbertTokenizer

# KerasHub's older names for the classifier and its preprocessor.
AlbertClassifier = AlbertTextClassifier
AlbertPreprocessor = AlbertTextClassifierPreprocessor

__all__ = [
    "AlbertBackbone",
    "AlbertClassifier",
    "AlbertMaskedLM",
    "AlbertMaskedLMPreprocessor",
    "AlbertPreprocessor",
    "AlbertQuestionAnswerer",
    "AlbertQuestionAnswererPreprocessor",
    "AlbertTextClassifier",
    "AlbertTextClassifierPreprocessor",
    "AlbertTextEmbedder",
    "AlbertTextEmbedderPreprocessor",
    "AlbertTokenClassifier",
    "AlbertTokenClassifierPreprocessor",
    "AlbertTokenizer",
]
