"""Reusable Keras layers: the building blocks of the textbones backbones and tasks."""

from textbones.layers.activations import gelu_approximate
from textbones.layers.embedding_pooling import EmbeddingPooling
from textbones.layers.f_net_encoder import FNetEncoder
from textbones.layers.masked_lm_head import MaskedLMHead
from textbones.layers.position_embedding import PositionEmbedding
from textbones.layers.reversible_embedding import ReversibleEmbedding
from textbones.layers.self_attention import SelfAttention
from textbones.layers.token_and_position_embedding import TokenAndPositionEmbedding
from textbones.layers.transformer_encoder import TransformerEncoder
from textbones.preprocessing.masked_lm_mask_generator import MaskedLMMaskGenerator
from textbones.preprocessing.multi_segment_packer import MultiSegmentPacker
from textbones.preprocessing.start_end_packer import StartEndPacker

__all__ = [
    "EmbeddingPooling",
    "FNetEncoder",
    "MaskedLMHead",
    "MaskedLMMaskGenerator",
    "MultiSegmentPacker",
    "PositionEmbedding",
    "ReversibleEmbedding",
    "SelfAttention",
    "StartEndPacker",
    "TokenAndPositionEmbedding",
    "TransformerEncoder",
    "gelu_approximate",
]
