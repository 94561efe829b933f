"""The public loaders behind ``from_preset``: resolve the handle, choose the format once
(:func:`~textbones.presets.formats.preset_format`), and let the format build the object.

The steps every format shares (picking a class by name, overrides, dtype) are in
:mod:`textbones.presets.building`; the Keras format is
:class:`~textbones.presets.keras_preset.KerasPreset`, the ``transformers`` one
:class:`~textbones.presets.transformers.checkpoint_format.TransformersFormat`.
"""

from textbones.presets.building import class_named, instantiate, with_preset_dtype
from textbones.presets.consistent_read import consistent_read
from textbones.presets.formats import preset_format
from textbones.presets.handles import resolve_preset
from textbones.presets.registry import builtin_presets

# with_preset_dtype and the weights-file readers stay importable from here.
from textbones.presets.weights_file import (  # noqa: F401
    build_with_weights,
    load_h5_weights,
    load_weights_file,
    weights_path,
)

__all__ = [
    "load_backbone",
    "load_preprocessor",
    "load_tokenizer",
    "with_preset_dtype",
]


@consistent_read
def load_backbone(cls: type, preset, load_weights: bool = True, **kwargs):
    """Build the backbone ``preset`` describes, as ``cls`` or one of its subclasses.

    See ``Backbone.from_preset`` for the accepted handles and arguments.

    Example:

    >>> from textbones.models import Backbone
    >>> load_backbone(Backbone, "albert_base_en_uncased", load_weights=False).num_layers
    12
    """
    if not load_weights and isinstance(preset, str) and preset in builtin_presets():
        entry = builtin_presets()[preset]
        source = f"the built-in preset {preset!r}"
        klass = class_named("backbone", entry["class_name"], cls, source)
        return instantiate(klass, with_preset_dtype(entry["config"], kwargs), source)
    return preset_format(resolve_preset(preset)).load_backbone(cls, load_weights, kwargs)


@consistent_read
def load_tokenizer(cls: type, preset, **kwargs):
    """Build the tokenizer a preset describes, as ``cls`` or one of its subclasses.

    From a Keras preset: ``tokenizer.json`` (KerasHub's layout) and the vocabulary in
    ``assets/tokenizer/``; from a ``transformers`` checkpoint: its tokenizer files.
    ``kwargs`` override the saved config.

    Example:

    >>> import tempfile
    >>> from textbones.tokenizers import BertTokenizer, Tokenizer
    >>> folder = tempfile.mkdtemp()
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]
    >>> BertTokenizer(vocabulary=vocabulary).save_to_preset(folder)
    >>> load_tokenizer(Tokenizer, folder, sequence_length=3)("hi").tolist()
    [5, 0, 0]
    """
    return preset_format(resolve_preset(preset)).load_tokenizer(cls, kwargs)


@consistent_read
def load_preprocessor(cls: type, preset, **kwargs):
    """Build the preprocessor a preset describes, as ``cls`` or one of its subclasses.

    With a ``preprocessor.json`` (KerasHub's layout) its class and config are used; without
    one, the subclass of ``cls`` made for the preset's tokenizer is built around it.
    ``kwargs`` override the saved config.

    Example:

    >>> import tempfile
    >>> from textbones.models import BertTokenizer, TextClassifierPreprocessor
    >>> folder = tempfile.mkdtemp()
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]
    >>> BertTokenizer(vocabulary=vocabulary).save_to_preset(folder)
    >>> preprocessor = load_preprocessor(TextClassifierPreprocessor, folder, sequence_length=4)
    >>> type(preprocessor).__name__, preprocessor("hi")["token_ids"].tolist()
    ('BertTextClassifierPreprocessor', [2, 5, 3, 0])
    """
    return preset_format(resolve_preset(preset)).load_preprocessor(cls, kwargs)
