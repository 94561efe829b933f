"""Models and their preprocessing: backbones, tasks, tokenizers and preprocessors of each family."""

from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.masked_lm import AlbertMaskedLM
from textbones.models.albert.masked_lm_preprocessor import AlbertMaskedLMPreprocessor
from textbones.models.albert.text_classifier import AlbertTextClassifier
from textbones.models.albert.text_classifier_preprocessor import AlbertTextClassifierPreprocessor
from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.models.backbone import Backbone
from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.masked_lm import BertMaskedLM
from textbones.models.bert.masked_lm_preprocessor import BertMaskedLMPreprocessor
from textbones.models.bert.text_classifier import BertTextClassifier
from textbones.models.bert.text_classifier_preprocessor import BertTextClassifierPreprocessor
from textbones.models.bert.tokenizer import BertTokenizer
from textbones.models.causal_lm import CausalLM
from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.masked_lm import FNetMaskedLM
from textbones.models.f_net.masked_lm_preprocessor import FNetMaskedLMPreprocessor
from textbones.models.f_net.text_classifier import FNetTextClassifier
from textbones.models.f_net.text_classifier_preprocessor import FNetTextClassifierPreprocessor
from textbones.models.f_net.tokenizer import FNetTokenizer
from textbones.models.masked_lm import MaskedLM
from textbones.models.task import Task
from textbones.models.text_classifier import TextClassifier
from textbones.preprocessing.masked_lm_preprocessor import MaskedLMPreprocessor
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.text_classifier_preprocessor import TextClassifierPreprocessor
from textbones.preprocessing.tokenizer import Tokenizer

# KerasHub's older names for the classifiers and their preprocessors.
AlbertClassifier = AlbertTextClassifier
BertClassifier = BertTextClassifier
Classifier = TextClassifier
FNetClassifier = FNetTextClassifier
AlbertPreprocessor = AlbertTextClassifierPreprocessor
BertPreprocessor = BertTextClassifierPreprocessor
FNetPreprocessor = FNetTextClassifierPreprocessor

__all__ = [
    "AlbertBackbone",
    "AlbertClassifier",
    "AlbertMaskedLM",
    "AlbertMaskedLMPreprocessor",
    "AlbertPreprocessor",
    "AlbertTextClassifier",
    "AlbertTextClassifierPreprocessor",
    "AlbertTokenizer",
    "Backbone",
    "BertBackbone",
    "BertClassifier",
    "BertMaskedLM",
    "BertMaskedLMPreprocessor",
    "BertPreprocessor",
    "BertTextClassifier",
    "BertTextClassifierPreprocessor",
    "BertTokenizer",
    "CausalLM",
    "Classifier",
    "FNetBackbone",
    "FNetClassifier",
    "FNetMaskedLM",
    "FNetMaskedLMPreprocessor",
    "FNetPreprocessor",
    "FNetTextClassifier",
    "FNetTextClassifierPreprocessor",
    "FNetTokenizer",
    "MaskedLM",
    "MaskedLMPreprocessor",
    "Preprocessor",
    "Task",
    "TextClassifier",
    "TextClassifierPreprocessor",
    "Tokenizer",
]
