"""FNetTokenizer: sentencepiece's ids, the special tokens, presets and serialization."""

import pytest

from tests.helpers.sentence_piece_family_tests import *  # noqa: F403 - the shared tests
from textbones.models.albert.tokenizer import AlbertTokenizer
from textbones.models.f_net.backbone import FNetBackbone
from textbones.models.f_net.tokenizer import FNetTokenizer


@pytest.fixture
def family():
    return FNetTokenizer, FNetBackbone, AlbertTokenizer
