"""The BERT family: backbone, tokenizer, tasks and preprocessors (declared in ``family.py``)."""

from textbones.models.bert import family as family  # registers FAMILY
from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.masked_lm import BertMaskedLM
from textbones.models.bert.masked_lm_preprocessor import BertMaskedLMPreprocessor
from textbones.models.bert.question_answerer import BertQuestionAnswerer
from textbones.models.bert.question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)
from textbones.models.bert.text_classifier import BertTextClassifier
from textbones.models.bert.text_classifier_preprocessor import BertTextClassifierPreprocessor
from textbones.models.bert.text_embedder import BertTextEmbedder
from textbones.models.bert.text_embedder_preprocessor import BertTextEmbedderPreprocessor
from textbones.models.bert.token_classifier import BertTokenClassifier
from textbones.models.bert.token_classifier_preprocessor import (
    BertTokenClassifierPreprocessor,
)
from textbones.models.bert.tokenizer import BertTokenizer

# KerasHub's older names for the classifier and its preprocessor.
BertClassifier = BertTextClassifier
BertPreprocessor = BertTextClassifierPreprocessor

__all__ = [
    "BertBackbone",
    "BertClassifier",
    "BertMaskedLM",
    "BertMaskedLMPreprocessor",
    "BertPreprocessor",
    "BertQuestionAnswerer",
    "BertQuestionAnswererPreprocessor",
    "BertTextClassifier",
    "BertTextClassifierPreprocessor",
    "BertTextEmbedder",
    "BertTextEmbedderPreprocessor",
    "BertTokenClassifier",
    "BertTokenClassifierPreprocessor",
    "BertTokenizer",
]
