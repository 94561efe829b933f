"""Models and their preprocessing: the bases, then the backbones, tasks, tokenizers and
preprocessors of each family (one folder per family, declared in its ``family.py``).

Example:

>>> import textbones
>>> textbones.models.BertClassifier is textbones.models.BertTextClassifier
True
"""

import importlib

from textbones import registry
from textbones.models.backbone import Backbone
from textbones.models.causal_lm import CausalLM
from textbones.models.masked_lm import MaskedLM
from textbones.models.question_answerer import QuestionAnswerer
from textbones.models.task import Task
from textbones.models.text_classifier import TextClassifier
from textbones.models.text_embedder import TextEmbedder
from textbones.models.token_classifier import TokenClassifier
from textbones.preprocessing.masked_lm_preprocessor import MaskedLMPreprocessor
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.question_answerer_preprocessor import QuestionAnswererPreprocessor
from textbones.preprocessing.text_classifier_preprocessor import TextClassifierPreprocessor
from textbones.preprocessing.text_embedder_preprocessor import TextEmbedderPreprocessor
from textbones.preprocessing.token_classifier_preprocessor import TokenClassifierPreprocessor
from textbones.preprocessing.tokenizer import Tokenizer

# The registry lines: one per family, in the order `registry.families()` lists them.
# isort: off
from textbones.models.bert import *  # noqa: F403, E402
from textbones.models.albert import *  # noqa: F403, E402
from textbones.models.f_net import *  # noqa: F403, E402
from textbones.models.distil_bert import *  # noqa: F403, E402
# isort: on

# KerasHub's older name for the classifier base.
Classifier = TextClassifier

__all__ = [
    "Backbone",
    "CausalLM",
    "Classifier",
    "MaskedLM",
    "MaskedLMPreprocessor",
    "Preprocessor",
    "QuestionAnswerer",
    "QuestionAnswererPreprocessor",
    "Task",
    "TextClassifier",
    "TextClassifierPreprocessor",
    "TextEmbedder",
    "TextEmbedderPreprocessor",
    "TokenClassifier",
    "TokenClassifierPreprocessor",
    "Tokenizer",
    # Each family folder's public names (its `__all__`).
    *(
        name
        for family in registry.families()
        for name in importlib.import_module(f"{__name__}.{family.name}").__all__
    ),
]
