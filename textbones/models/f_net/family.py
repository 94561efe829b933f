"""The FNet family, declared once: its classes, presets, initializer and converter table.

Example:

>>> from textbones.models.f_net.family import FAMILY
>>> FAMILY.name, FAMILY.display_name, FAMILY.transformers.model_type
('f_net', 'FNet', 'fnet')
>>> sorted(FAMILY.presets)
['f_net_base_en', 'f_net_large_en']
"""

import importlib.resources
import json

from textbones import registry
from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.backbone import _f_net_initializer as kernel_initializer
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
from textbones.models.f_net.transformers import F_NET

FAMILY = registry.register_family(
    registry.Family(
        name="f_net",
        display_name="FNet",
        backbone=FNetBackbone,
        tokenizer=FNetTokenizer,
        tasks={
            "masked_lm": FNetMaskedLM,
            "classifier": FNetTextClassifier,
            "text_embedder": FNetTextEmbedder,
            "token_classifier": FNetTokenClassifier,
            "question_answerer": FNetQuestionAnswerer,
        },
        preprocessors={
            "masked_lm": FNetMaskedLMPreprocessor,
            "classifier": FNetTextClassifierPreprocessor,
            "text_embedder": FNetTextEmbedderPreprocessor,
            "token_classifier": FNetTokenClassifierPreprocessor,
            "question_answerer": FNetQuestionAnswererPreprocessor,
        },
        presets=json.loads(
            importlib.resources.files(__package__).joinpath("presets.json").read_text("utf-8")
        ),
        # RandomNormal(stddev 0.02), the one FNetBackbone builds kernels, biases and
        # embeddings with.
        kernel_initializer=kernel_initializer,
        transformers=F_NET,
        tiny_config={
            "num_layers": 2,
            "hidden_dim": 16,
            "intermediate_dim": 32,
            "max_sequence_length": 24,
        },
        keras_hub_name="f_net",
    )
)
