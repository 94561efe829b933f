"""Models and their preprocessing: backbones, tokenizers and preprocessors of each family.

Tasks (masked LM, text classification) join these as they are built.
"""

from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.masked_lm_preprocessor import AlbertMaskedLMPreprocessor
from textbones.models.albert.text_classifier_preprocessor import AlbertTextClassifierPreprocessor
from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.models.backbone import Backbone
from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.masked_lm_preprocessor import BertMaskedLMPreprocessor
from textbones.models.bert.text_classifier_preprocessor import BertTextClassifierPreprocessor
from textbones.models.bert.tokenizer import BertTokenizer
from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.masked_lm_preprocessor import FNetMaskedLMPreprocessor
from textbones.models.f_net.text_classifier_preprocessor import FNetTextClassifierPreprocessor
from textbones.models.f_net.tokenizer import FNetTokenizer
from textbones.preprocessing.masked_lm_preprocessor import MaskedLMPreprocessor
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.text_classifier_preprocessor import TextClassifierPreprocessor

# KerasHub's older names for the classifier preprocessors.
AlbertPreprocessor = AlbertTextClassifierPreprocessor
BertPreprocessor = BertTextClassifierPreprocessor
FNetPreprocessor = FNetTextClassifierPreprocessor

__all__ = [
    "AlbertBackbone",
    "AlbertMaskedLMPreprocessor",
    "AlbertPreprocessor",
    "AlbertTextClassifierPreprocessor",
    "AlbertTokenizer",
    "Backbone",
    "BertBackbone",
    "BertMaskedLMPreprocessor",
    "BertPreprocessor",
    "BertTextClassifierPreprocessor",
    "BertTokenizer",
    "FNetBackbone",
    "FNetMaskedLMPreprocessor",
    "FNetPreprocessor",
    "FNetTextClassifierPreprocessor",
    "FNetTokenizer",
    "MaskedLMPreprocessor",
    "Preprocessor",
    "TextClassifierPreprocessor",
]
