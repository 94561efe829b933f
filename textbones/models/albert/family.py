"""The ALBERT family, declared once: its classes, presets, initializer and converter table.

Example:

>>> from textbones.models.albert.family import FAMILY
>>> FAMILY.name, FAMILY.tasks["masked_lm"].__name__
('albert', 'AlbertMaskedLM')
>>> sorted(FAMILY.presets)[0]
'albert_base_en_uncased'
"""

import importlib.resources
import json

from textbones import registry
from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.albert.backbone import _albert_kernel_initializer as kernel_initializer
from textbones.models.albert.masked_lm import AlbertMaskedLM
from textbones.models.albert.masked_lm_preprocessor import AlbertMaskedLMPreprocessor
from textbones.models.albert.question_answerer import AlbertQuestionAnswerer
from textbones.models.albert.question_answerer_preprocessor import (
    AlbertQuestionAnswererPreprocessor,
)
from textbones.models.albert.text_classifier import AlbertTextClassifier
from textbones.models.albert.text_classifier_preprocessor import (
    AlbertTextClassifierPreprocessor,
)
from textbones.models.albert.text_embedder import AlbertTextEmbedder
from textbones.models.albert.text_embedder_preprocessor import AlbertTextEmbedderPreprocessor
from textbones.models.albert.token_classifier import AlbertTokenClassifier
from textbones.models.albert.token_classifier_preprocessor import (
    AlbertTokenClassifierPreprocessor,
)
from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.models.albert.transformers import ALBERT

FAMILY = registry.register_family(
    registry.Family(
        name="albert",
        display_name="Albert",
        backbone=AlbertBackbone,
        tokenizer=AlbertTokenizer,
        tasks={
            "masked_lm": AlbertMaskedLM,
            "classifier": AlbertTextClassifier,
            "text_embedder": AlbertTextEmbedder,
            "token_classifier": AlbertTokenClassifier,
            "question_answerer": AlbertQuestionAnswerer,
        },
        preprocessors={
            "masked_lm": AlbertMaskedLMPreprocessor,
            "classifier": AlbertTextClassifierPreprocessor,
            "text_embedder": AlbertTextEmbedderPreprocessor,
            "token_classifier": AlbertTokenClassifierPreprocessor,
            "question_answerer": AlbertQuestionAnswererPreprocessor,
        },
        presets=json.loads(
            importlib.resources.files(__package__).joinpath("presets.json").read_text("utf-8")
        ),
        # TruncatedNormal(stddev 0.02), the one AlbertBackbone builds its layers with.
        kernel_initializer=kernel_initializer,
        transformers=ALBERT,
        tiny_config={
            "num_layers": 4,
            "num_heads": 2,
            "embedding_dim": 8,
            "hidden_dim": 16,
            "intermediate_dim": 32,
            "num_groups": 2,
            "num_inner_repetitions": 2,
            "max_sequence_length": 24,
        },
        keras_hub_name="albert",
    )
)
