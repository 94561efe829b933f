"""The DistilBERT family, declared once: its classes, presets, initializer and converter table.

Example:

>>> from textbones.models.distil_bert.family import FAMILY
>>> FAMILY.name, FAMILY.display_name, FAMILY.tasks["masked_lm"].__name__
('distil_bert', 'DistilBert', 'DistilBertMaskedLM')
>>> {name: entry["parameter_count"] for name, entry in FAMILY.presets.items()}
{'distil_bert_base_en_uncased': 66362880, 'distil_bert_base_en': 65190912, \
'distil_bert_base_multi': 134734080}
>>> FAMILY.transformers.model_type
'distilbert'
"""

import importlib.resources
import json

from textbones import registry
from textbones.models.distil_bert.backbone import (
    DistilBertBackbone,
    distil_bert_kernel_initializer,
)
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
from textbones.models.distil_bert.transformers import DISTIL_BERT

FAMILY = registry.register_family(
    registry.Family(
        name="distil_bert",
        display_name="DistilBert",
        backbone=DistilBertBackbone,
        tokenizer=DistilBertTokenizer,
        tasks={
            "masked_lm": DistilBertMaskedLM,
            "classifier": DistilBertTextClassifier,
            "text_embedder": DistilBertTextEmbedder,
            "token_classifier": DistilBertTokenClassifier,
            "question_answerer": DistilBertQuestionAnswerer,
        },
        preprocessors={
            "masked_lm": DistilBertMaskedLMPreprocessor,
            "classifier": DistilBertTextClassifierPreprocessor,
            "text_embedder": DistilBertTextEmbedderPreprocessor,
            "token_classifier": DistilBertTokenClassifierPreprocessor,
            "question_answerer": DistilBertQuestionAnswererPreprocessor,
        },
        presets=json.loads(
            importlib.resources.files(__package__).joinpath("presets.json").read_text("utf-8")
        ),
        # TruncatedNormal(stddev 0.02), the one DistilBertBackbone builds its layers with.
        kernel_initializer=distil_bert_kernel_initializer,
        transformers=DISTIL_BERT,
        tiny_config={
            "num_layers": 2,
            "num_heads": 2,
            "hidden_dim": 16,
            "intermediate_dim": 32,
            "max_sequence_length": 24,
        },
        keras_hub_name="distil_bert",
    )
)
