"""The BERT family, declared once: its classes, presets, initializer and converter table.

Example:

>>> from textbones.models.bert.family import FAMILY
>>> FAMILY.name, FAMILY.tasks["classifier"].__name__
('bert', 'BertTextClassifier')
>>> sorted(name for name in FAMILY.presets if name.startswith("bert_"))[:2]
['bert_base_en', 'bert_base_en_uncased']
"""

import importlib.resources
import json

from textbones import registry
from textbones.models.bert.backbone import BertBackbone
from textbones.models.bert.backbone import _bert_kernel_initializer as kernel_initializer
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
from textbones.models.bert.transformers import BERT

FAMILY = registry.register_family(
    registry.Family(
        name="bert",
        display_name="Bert",
        backbone=BertBackbone,
        tokenizer=BertTokenizer,
        tasks={
            "masked_lm": BertMaskedLM,
            "classifier": BertTextClassifier,
            "text_embedder": BertTextEmbedder,
            "token_classifier": BertTokenClassifier,
            "question_answerer": BertQuestionAnswerer,
        },
        preprocessors={
            "masked_lm": BertMaskedLMPreprocessor,
            "classifier": BertTextClassifierPreprocessor,
            "text_embedder": BertTextEmbedderPreprocessor,
            "token_classifier": BertTokenClassifierPreprocessor,
            "question_answerer": BertQuestionAnswererPreprocessor,
        },
        presets=json.loads(
            importlib.resources.files(__package__).joinpath("presets.json").read_text("utf-8")
        ),
        # TruncatedNormal(stddev 0.02), the one BertBackbone builds its layers with.
        kernel_initializer=kernel_initializer,
        transformers=BERT,
        tiny_config={
            "num_layers": 2,
            "num_heads": 2,
            "hidden_dim": 16,
            "intermediate_dim": 32,
            "max_sequence_length": 24,
        },
        keras_hub_name="bert",
    )
)
