"""The DistilBERT family: backbone, tokenizer, tasks and preprocessors (declared in
``family.py``).

Example:

>>> import textbones
>>> textbones.models.DistilBertClassifier is textbones.models.DistilBertTextClassifier
True
"""

from textbones.models.distil_bert import family as family  # registers FAMILY
from textbones.models.distil_bert.backbone import DistilBertBackbone
from textbones.models.distil_bert.masked_lm import DistilBertMaskedLM
from textbones.models.distil_bert.masked_lm_preprocessor import DistilBertMaskedLMPreprocessor
from textbones.models.distil_bert.question_answerer import DistilBertQuestionAnswerer
from textbones.models.distil_bert.question_answerer_preprocessor import (
    DistilBertQuestionAnswererPreprocessor,
)
from textbones.models.distil_bert.text_classifier import DistilBertTextClassifier
from textbones.models.distil_bert.text_classifier_preprocessor import (
    DistilBertTextClassifierPreprocessor,
)
from textbones.models.distil_bert.text_embedder import DistilBertTextEmbedder
from textbones.models.distil_bert.text_embedder_preprocessor import (
    DistilBertTextEmbedderPreprocessor,
)
from textbones.models.distil_bert.token_classifier import DistilBertTokenClassifier
from textbones.models.distil_bert.token_classifier_preprocessor import (
    DistilBertTokenClassifierPreprocessor,
)
from textbones.models.distil_bert.tokenizer import DistilBertTokenizer

# KerasHub's older names for the classifier and its preprocessor.
DistilBertClassifier = DistilBertTextClassifier
DistilBertPreprocessor = DistilBertTextClassifierPreprocessor

__all__ = [
    "DistilBertBackbone",
    "DistilBertClassifier",
    "DistilBertMaskedLM",
    "DistilBertMaskedLMPreprocessor",
    "DistilBertPreprocessor",
    "DistilBertQuestionAnswerer",
    "DistilBertQuestionAnswererPreprocessor",
    "DistilBertTextClassifier",
    "DistilBertTextClassifierPreprocessor",
    "DistilBertTextEmbedder",
    "DistilBertTextEmbedderPreprocessor",
    "DistilBertTokenClassifier",
    "DistilBertTokenClassifierPreprocessor",
    "DistilBertTokenizer",
]
