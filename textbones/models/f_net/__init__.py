"""The FNet family: backbone, tokenizer, tasks and preprocessors (declared in ``family.py``)."""

from textbones.models.f_net import family as family  # registers FAMILY
from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.masked_lm import FNetMaskedLM
from textbones.models.f_net.masked_lm_preprocessor import FNetMaskedLMPreprocessor
from textbones.models.f_net.question_answerer import FNetQuestionAnswerer
from textbones.models.f_net.question_answerer_preprocessor import (
    FNetQuestionAnswererPreprocessor,
)
from textbones.models.f_net.text_classifier import FNetTextClassifier
from textbones.models.f_net.text_classifier_preprocessor import FNetTextClassifierPreprocessor
from textbones.models.f_net.text_embedder import FNetTextEmbedder
from textbones.models.f_net.text_embedder_preprocessor import FNetTextEmbedderPreprocessor
from textbones.models.f_net.token_classifier import FNetTokenClassifier
from textbones.models.f_net.token_classifier_preprocessor import (
    FNetTokenClassifierPreprocessor,
)
from textbones.models.f_net.tokenizer import FNetTokenizer

# KerasHub's older names for the classifier and its preprocessor.
FNetClassifier = FNetTextClassifier
FNetPreprocessor = FNetTextClassifierPreprocessor

__all__ = [
    "FNetBackbone",
    "FNetClassifier",
    "FNetMaskedLM",
    "FNetMaskedLMPreprocessor",
    "FNetPreprocessor",
    "FNetQuestionAnswerer",
    "FNetQuestionAnswererPreprocessor",
    "FNetTextClassifier",
    "FNetTextClassifierPreprocessor",
    "FNetTextEmbedder",
    "FNetTextEmbedderPreprocessor",
    "FNetTokenClassifier",
    "FNetTokenClassifierPreprocessor",
    "FNetTokenizer",
]
