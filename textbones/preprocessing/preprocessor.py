"""The ``Preprocessor`` base class: a tokenizer plus packing, saved as ``preprocessor.json``."""

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from textbones import registry
from textbones.classproperty import classproperty
from textbones.preprocessing.multi_segment_packer import MultiSegmentPacker
from textbones.preprocessing.padding_buckets import bucket_length, trim_columns
from textbones.preprocessing.text_inputs import as_texts
from textbones.preprocessing.tf_tensors import accepts_tf_tensors
from textbones.preprocessing.tokenizer import Tokenizer
from textbones.presets.files import PREPROCESSOR_CONFIG_FILE
from textbones.serialization import deserialize, qualified_name, register_keras_hub_aliases


class Preprocessor:
    """Base class of the preprocessors that turn raw text into a model's input dict.

    A preprocessor owns a tokenizer and a ``MultiSegmentPacker``; the packer's
    ``sequence_length`` follows the preprocessor's, which may be changed after
    construction. Everything runs on NumPy, so it works under every backend and in
    data-loading workers. Family subclasses only name ``tokenizer_cls`` and say which
    optional inputs their backbone takes (``has_segment_ids``, ``has_padding_mask``, as the
    backbone declares them: FNet drops the padding mask).

    Args:
        tokenizer: the family's tokenizer.
        sequence_length: length of the packed rows.
        truncate: ``"round_robin"`` or ``"waterfall"``, how pairs are shortened to fit.
        name: a name kept in the config.
        **kwargs: ``trainable``, ``dtype`` and ``config_file`` as KerasHub writes them; ignored.

    Example:

    >>> from textbones.models import BertTokenizer
    >>> tokenizer = BertTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
    >>> from textbones.models import BertTextClassifierPreprocessor
    >>> preprocessor = BertTextClassifierPreprocessor(tokenizer, sequence_length=6)
    >>> preprocessor.sequence_length = 5
    >>> preprocessor("the fox")["token_ids"].tolist()
    [2, 5, 6, 3, 0]
    """

    #: The tokenizer class this preprocessor expects (set by each family).
    tokenizer_cls: ClassVar[type[Tokenizer]] = Tokenizer
    #: Whether the model takes a ``segment_ids`` input (DistilBERT does not); without
    #: it the packed rows carry no ``segment_ids``.
    has_segment_ids: ClassVar[bool] = True
    #: Whether the model takes a ``padding_mask`` input (FNet does not).
    has_padding_mask: ClassVar[bool] = True
    _registry: ClassVar[Mapping[str, type["Preprocessor"]]] = registry.classes("preprocessor")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        registry.register_class("preprocessor", cls)
        register_keras_hub_aliases(cls)

    def __init__(
        self,
        tokenizer: Tokenizer,
        sequence_length: int = 512,
        truncate: str = "round_robin",
        name: str | None = None,
        **kwargs,
    ):
        unexpected = set(kwargs) - {"trainable", "dtype", "config_file"}
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {sorted(unexpected)}."
            )
        if not isinstance(tokenizer, self.tokenizer_cls):
            raise ValueError(
                f"{type(self).__name__} needs a {qualified_name(self.tokenizer_cls)}, got a "
                f"{qualified_name(type(tokenizer))}. Use the preprocessor of the tokenizer's "
                "family (and textbones' tokenizers with textbones' preprocessors)."
            )
        self.tokenizer = tokenizer
        self.truncate = truncate
        self.name = name or "".join(
            "_" + c.lower() if c.isupper() else c for c in type(self).__name__
        ).lstrip("_")
        self._packer = None
        self.sequence_length = sequence_length

    @property
    def sequence_length(self) -> int:
        """Length of the packed rows; settable, e.g. ``preprocessor.sequence_length = 128``."""
        return self._sequence_length

    @sequence_length.setter
    def sequence_length(self, value: int) -> None:
        self._sequence_length = int(value)
        self._packer = None

    @property
    def packer(self) -> MultiSegmentPacker:
        """The ``MultiSegmentPacker`` for the current ``sequence_length``.

        Its start and end ids are the tokenizer's ``start_token_id`` and
        ``end_token_id``. Built on first use, so a preprocessor can be deserialized before its
        tokenizer's vocabulary is loaded (as ``.keras`` loading does).
        """
        if self._packer is None or self._packer.sequence_length != self._sequence_length:
            start, end = self.tokenizer.start_token_id, self.tokenizer.end_token_id
            if start is None or end is None:
                raise ValueError(
                    f"{type(self).__name__} packs rows as `start a end (b end)`, but its "
                    f"{type(self.tokenizer).__name__} has no "
                    f"{'start_token' if start is None else 'end_token'}. Use the tokenizer "
                    "of the preprocessor's family."
                )
            self._packer = MultiSegmentPacker(
                sequence_length=self._sequence_length,
                start_value=start,
                end_value=end,
                pad_value=self.tokenizer.pad_token_id,
                truncate=self.truncate,
            )
        return self._packer

    def _model_inputs(self, segments, dynamic_length: bool = False) -> dict[str, Any]:
        """Tokenize and pack one or more text segments into the backbone's input dict.

        With ``dynamic_length`` (and a model that takes a padding mask) the rows are
        padded only to the batch's longest row, rounded up to a bucket length, rather
        than to ``sequence_length``; the real tokens are the same either way.
        """
        if isinstance(segments, tuple):
            sizes = {len(segment) for segment in segments if not isinstance(segment, str)}
            if len(sizes) > 1:
                raise ValueError(
                    "The segments of a pair must have the same number of rows, "
                    f"got {sorted(sizes)}. "
                    "Give every segment one entry per example."
                )
            # Checked here rather than by the tokenizer, so that a bad item is reported
            # with the segment it is in.
            checked = (
                as_texts(segment, type(self).__name__, (index, len(segments)))
                for index, segment in enumerate(segments)
            )
            tokenized = tuple(
                self.tokenizer.tokenize(texts[0] if single else texts) for texts, single in checked
            )
        else:
            tokenized = (self.tokenizer.tokenize(segments),)
        # An empty batch packs to zero rows, not to one empty example.
        tokenized = tuple(
            np.zeros((0, 0), "int32") if isinstance(ids, list) and not ids else ids
            for ids in tokenized
        )
        token_ids, segment_ids = self.packer(tokenized)
        inputs = {"token_ids": token_ids}
        if self.has_segment_ids:
            inputs["segment_ids"] = segment_ids
        if self.has_padding_mask:
            inputs["padding_mask"] = token_ids != self.tokenizer.pad_token_id
            if dynamic_length and token_ids.ndim == 2:
                inputs = trim_columns(
                    inputs, tuple(inputs), self._padded_length(inputs["padding_mask"])
                )
        return inputs

    def _padded_length(self, padding_mask) -> int:
        """The bucketed length that keeps every real token of the batch."""
        if not padding_mask.size:
            return bucket_length(1, self.sequence_length)
        width = padding_mask.shape[1]
        last_real = np.where(
            padding_mask.any(axis=1), width - np.argmax(padding_mask[:, ::-1], axis=1), 0
        )
        return bucket_length(int(last_real.max()), self.sequence_length)

    def preprocess_batch(self, x, y=None, sample_weight=None, **options):
        """Turn one batch of raw text (and its labels) into what the model trains on.

        This is what ``__call__`` does, with the options a data pipeline uses; a task's
        ``fit``, ``evaluate`` and ``predict`` call it on each batch (see
        ``textbones.preprocessing.text_batches``). ``x`` is a string, a list of strings,
        or a tuple of lists (one per segment, for sentence pairs); the result is ``x``,
        ``(x, y)`` or ``(x, y, sample_weight)`` as ``keras.utils.pack_x_y_sample_weight``
        packs them, NumPy arrays throughout.

        Options every preprocessor takes (subclasses may add their own, such as the masked
        LM's ``trim_mask_slots``):

        - ``dynamic_length``: pad the rows only to a bucket of the batch's longest row
          (see ``padding_buckets``), not to ``sequence_length``; ignored without a padding
          mask.
        - ``rng``: the ``numpy.random.Generator`` of any random choice (masking), so that
          each batch of each epoch can be reproduced.

        Example:

        >>> from textbones.models import BertTextClassifierPreprocessor, BertTokenizer
        >>> tokenizer = BertTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fox", "ran"])
        >>> preprocessor = BertTextClassifierPreprocessor(tokenizer, sequence_length=64)
        >>> x, y = preprocessor.preprocess_batch(
        ...     ["the fox ran", "the fox"], [1, 0], dynamic_length=True)
        >>> x["token_ids"].shape, x["token_ids"][:, :6].tolist(), y.tolist()
        ((2, 16), [[2, 5, 6, 7, 3, 0], [2, 5, 6, 3, 0, 0]], [1, 0])
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement `preprocess_batch`.")

    @accepts_tf_tensors
    def __call__(self, x, y=None, sample_weight=None):
        return self.preprocess_batch(x, y, sample_weight)

    def get_config(self) -> dict[str, Any]:
        from textbones.presets.saver import serialized_json

        return {
            "name": self.name,
            "trainable": True,
            "dtype": {
                "module": "keras",
                "class_name": "DTypePolicy",
                "config": {"name": "float32"},
                "registered_name": None,
            },
            "tokenizer": serialized_json(self.tokenizer),
            "config_file": PREPROCESSOR_CONFIG_FILE,
            "sequence_length": self.sequence_length,
            "truncate": self.truncate,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Preprocessor":
        config = dict(config)
        if "tokenizer" in config:
            config["tokenizer"] = deserialize(
                config["tokenizer"], Tokenizer, f"the tokenizer of {cls.__name__}"
            )
        return cls(**config)

    @classproperty
    def presets(cls) -> dict[str, dict[str, Any]]:
        """The built-in presets this class can load, by name, as KerasHub lists them: those
        of every family whose preprocessor for some task kind is this class or a subclass
        of it, or that this class subclasses. Values are those of ``Backbone.presets``.

        Example:

        >>> import textbones
        >>> sorted(textbones.models.AlbertMaskedLMPreprocessor.presets)[0]
        'albert_base_en_uncased'
        >>> len(Preprocessor.presets) == len(textbones.models.Backbone.presets)
        True
        """
        from textbones.presets.registry import presets_for_class

        owner = registry.family_of(cls)
        return presets_for_class(
            {
                family.backbone.__name__
                for family in registry.families()
                if family is owner
                or any(issubclass(klass, cls) for klass in family.preprocessors.values())
            }
        )

    @classmethod
    def from_preset(cls, preset, **kwargs) -> "Preprocessor":
        """Load a preprocessor from a preset: its ``preprocessor.json`` if there is one,
        otherwise this class built around the preset's tokenizer. ``kwargs`` such as
        ``sequence_length=128`` override the saved config."""
        from textbones.presets.loader import load_preprocessor

        return load_preprocessor(cls, preset, **kwargs)

    def save_to_preset(self, preset_dir, format: str = "keras") -> None:
        """Write ``preprocessor.json`` and the tokenizer's files, atomically.

        With ``format="transformers"``, only the tokenizer's Hugging Face files (a
        ``transformers`` checkpoint has no preprocessor of its own).
        """
        from textbones.presets.saver import save_preprocessor

        save_preprocessor(self, preset_dir, format=format)
