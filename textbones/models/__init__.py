"""Models: backbones now; tasks and preprocessors join them as they are built."""

from textbones.models.albert.backbone import AlbertBackbone
from textbones.models.backbone import Backbone
from textbones.models.bert.backbone import BertBackbone
from textbones.models.f_net.backbone import FNetBackbone

__all__ = ["AlbertBackbone", "Backbone", "BertBackbone", "FNetBackbone"]
