"""The ``TextEmbedder`` base class: a backbone with a pooling head, one vector per text."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import keras
import numpy as np

from textbones import registry
from textbones.layers.embedding_pooling import EmbeddingPooling, pooling_modes
from textbones.losses import MultipleNegativesRankingLoss
from textbones.models.backbone import Backbone
from textbones.models.task import Task
from textbones.preprocessing import text_batches
from textbones.preprocessing.preprocessor import Preprocessor
from textbones.preprocessing.text_embedder_preprocessor import TextEmbedderPreprocessor
from textbones.serialization import qualified_name

#: The similarity functions ``similarity`` can compute (sentence-transformers' names).
SIMILARITY_FUNCTIONS = ("cosine", "dot", "euclidean", "manhattan")

#: Constructor arguments KerasHub's embedders lack: written to the config only when they
#: differ from these defaults, so that KerasHub can load what textbones saves.
_TEXTBONES_DEFAULTS = {
    "include_prompt": True,
    "prompts": None,
    "default_prompt_name": None,
    "similarity_fn_name": "dot",
    "truncate_dim": None,
}


class TextEmbedder(Task):
    """Embeds each text as one vector, for semantic search, clustering and similarity.

    The backbone's per-token features are pooled over the real tokens (``pooling_mode``:
    ``"mean"``, ``"cls"``, ``"max"``, ``"mean_sqrt_len_tokens"``, ``"weightedmean"``,
    ``"lasttoken"``, or a list of them, concatenated) and, with ``normalize``, divided by
    their L2 norm. ``predict`` (and ``encode_text``) on raw strings returns a float32 NumPy
    array ``[n, embedding_dim]``, rows in the order of the texts.

    Prompts: ``prompts`` maps names to strings put before a text (``{"query": "query: "}``);
    ``encode_text(texts, prompt_name="query")`` applies one, and ``default_prompt_name``
    the one used when none is named. With ``include_prompt=False`` the prompt's tokens
    (and the start token) are left out of the pooling, as sentence-transformers does.

    Training: with the default loss, ``fit`` takes a tuple ``(anchors, positives)`` or
    ``(anchors, positives, negatives)`` of lists of texts and trains with in-batch
    negatives (``textbones.losses.MultipleNegativesRankingLoss``: scale 20, cosine); its
    batches never hold one text twice. Any Keras loss can be compiled instead, with
    labels ``y`` (e.g. target vectors). Default optimizer: ``Adam(5e-5)``.

    Use a family's class (``BertTextEmbedder``, ...), or ``TextEmbedder.from_preset`` to
    pick it from a preset (a sentence-transformers folder included).

    Args:
        backbone: the family's backbone.
        preprocessor: a ``TextEmbedderPreprocessor`` of the family, or ``None``.
        pooling_mode: a pooling mode or a list of them.
        normalize: L2-normalize the embeddings.
        include_prompt: pool over the prompt's tokens too.
        prompts: named prompts, ``{name: text}``.
        default_prompt_name: the prompt applied when a call names none (``None``: none).
        similarity_fn_name: what ``similarity`` computes: ``"dot"`` (KerasHub's, the
            default), ``"cosine"``, ``"euclidean"`` or ``"manhattan"`` (negated distances).
        truncate_dim: keep only the first ``truncate_dim`` dimensions (Matryoshka models),
            after normalizing.
        **kwargs: ``name``, ``compile`` and other ``keras.Model`` arguments.

    Example:

    >>> import numpy as np, textbones
    >>> backbone = textbones.models.BertBackbone(
    ...     vocabulary_size=30, num_layers=1, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=16)
    >>> embedder = textbones.models.BertTextEmbedder(backbone, pooling_mode="cls")
    >>> embeddings = embedder.predict({
    ...     "token_ids": np.array([[2, 5, 6, 3]]), "segment_ids": np.zeros((1, 4), "int32"),
    ...     "padding_mask": np.ones((1, 4), "int32")}, verbose=0)
    >>> embeddings.shape, round(float(np.linalg.norm(embeddings)), 5)
    ((1, 8), 1.0)
    """

    reads_token_features_only: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        preprocessor: Preprocessor | None = None,
        pooling_mode: str | Sequence[str] = "mean",
        normalize: bool = True,
        include_prompt: bool = True,
        prompts: Mapping[str, str] | None = None,
        default_prompt_name: str | None = None,
        similarity_fn_name: str = "dot",
        truncate_dim: int | None = None,
        **kwargs,
    ):
        if self.backbone_cls is not None and not isinstance(backbone, self.backbone_cls):
            raise ValueError(
                f"{type(self).__name__} needs a {qualified_name(self.backbone_cls)}, got a "
                f"{qualified_name(type(backbone))}. Use the text embedder class of the "
                "backbone's family."
            )
        pooling_modes(pooling_mode)
        prompts = _checked_prompts(prompts, default_prompt_name)
        if similarity_fn_name not in SIMILARITY_FUNCTIONS:
            raise ValueError(
                f"Unknown similarity_fn_name {similarity_fn_name!r}; use one of "
                f"{', '.join(map(repr, SIMILARITY_FUNCTIONS))}."
            )
        self._backbone = backbone
        inputs = dict(backbone.input)
        if "padding_mask" not in inputs:
            inputs["padding_mask"] = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        if not include_prompt:
            inputs["prompt_length"] = keras.Input(shape=(), dtype="int32", name="prompt_length")
        features = backbone.sequence_features(
            backbone({name: inputs[name] for name in backbone.input_names})
        )
        self.pooling = EmbeddingPooling(
            pooling_mode,
            normalize=normalize,
            truncate_dim=truncate_dim,
            dtype=backbone.head_dtype_policy,
            name="pooling",
        )
        outputs = self.pooling(
            features, inputs["padding_mask"], prompt_length=inputs.get("prompt_length")
        )
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.pooling_mode = pooling_mode if isinstance(pooling_mode, str) else list(pooling_mode)
        self.normalize = bool(normalize)
        self.include_prompt = bool(include_prompt)
        self.prompts = prompts
        self.default_prompt_name = default_prompt_name
        self.similarity_fn_name = similarity_fn_name
        self.truncate_dim = truncate_dim
        self._prompt_in_use: str | None = None
        self._attach(backbone, preprocessor)

    @property
    def embedding_dim(self) -> int:
        """The length of each embedding."""
        return int(self.output_shape[-1])

    @property
    def _uses_dynamic_length(self) -> bool:
        # The preprocessor always makes a padding mask (pooling reads it), but a backbone
        # that takes none (FNet) mixes the padding in and keeps its fixed length.
        return super()._uses_dynamic_length and self.backbone.has_padding_mask

    # Compilation and training ----------------------------------------------------------

    def _default_compile_arguments(self) -> dict[str, Any]:
        return {
            "optimizer": keras.optimizers.Adam(5e-5),
            "loss": MultipleNegativesRankingLoss(),
            "metrics": None,
            "weighted_metrics": None,
        }

    def _preprocess_options(self, purpose: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        prompt = self._prompt_in_use if purpose == "predict" else None
        if prompt is None and purpose == "predict":
            prompt = self._resolve_prompt(None, None)
        if prompt:
            options["prompt"] = prompt
        if not self.include_prompt:
            options["prompt_length"] = True
        return options

    def _rows_meet_in_loss(self) -> bool:
        # In-batch negatives: every row of a batch is a negative for the others.
        return isinstance(getattr(self, "loss", None), MultipleNegativesRankingLoss)

    def _adapt_data(self, x, y=None, sample_weight=None, **kwargs):
        purpose = kwargs.get("purpose", "predict")
        pairs = isinstance(x, tuple) and text_batches.is_text(x) and len(x) > 1
        default_loss = isinstance(getattr(self, "loss", None), MultipleNegativesRankingLoss)
        if purpose in ("fit", "evaluate") and self.preprocessor is not None:
            if pairs and y is None:
                options = {**self._preprocess_options(purpose), "separate_columns": True}
                data, batches = super()._adapt_data(
                    x,
                    None,
                    sample_weight,
                    **{**kwargs, "needs_labels": False, "preprocess_options": options},
                )
                if batches is not None:
                    batches.avoid_duplicate_texts()
                return data, batches
            if default_loss and text_batches.is_text(x):
                raise ValueError(
                    f"{type(self).__name__} is compiled with MultipleNegativesRankingLoss, which "
                    "trains on a tuple `(anchors, positives)` or `(anchors, positives, "
                    "negatives)` of lists of texts, with no labels. "
                    + (
                        "Got labels `y`: compile with a loss that takes them (e.g. "
                        "`loss=keras.losses.CosineSimilarity()` for target vectors)."
                        if y is not None
                        else "Got one column of texts: pass the pairs as a tuple of lists."
                    )
                )
        if purpose == "predict" and pairs:
            raise ValueError(
                f"{type(self).__name__}.predict got a tuple of {len(x)} text columns. An "
                "embedder encodes one text per row: encode each list on its own (e.g. "
                "`encode_text(queries)` and `encode_documents(documents)`)."
            )
        return super()._adapt_data(x, y, sample_weight, **kwargs)

    # Encoding and similarity -----------------------------------------------------------

    def encode_text(
        self,
        text,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int | None = None,
        **kwargs,
    ) -> np.ndarray:
        """Embed a string or a list of strings: a float32 array ``[n, embedding_dim]``.

        ``prompt_name`` picks one of ``prompts`` (``prompt`` gives the text itself); with
        neither, ``default_prompt_name``'s prompt applies, if any. Texts are batched by
        length and returned in the caller's order; a progress bar appears once the work
        takes more than a few seconds (pass ``verbose`` to choose). Other keyword
        arguments go to ``predict``.

        Example:

        >>> import textbones
        >>> tokenizer = textbones.models.BertTokenizer(
        ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "query", ":"])
        >>> backbone = textbones.models.BertBackbone(9, 1, 2, 8, 16, max_sequence_length=16)
        >>> embedder = textbones.models.BertTextEmbedder(
        ...     backbone, textbones.models.BertTextEmbedderPreprocessor(tokenizer),
        ...     prompts={"query": "query: "})
        >>> embedder.encode_text(["a b", "b"], prompt_name="query").shape
        (2, 8)
        """
        if isinstance(text, (str, bytes)):
            text = [text]
        chosen = self._resolve_prompt(prompt_name, prompt)
        if "verbose" not in kwargs:
            kwargs["verbose"] = 0
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), LateProgressBar()]
        self._prompt_in_use = chosen
        try:
            outputs = self.predict(text, batch_size, **kwargs)
        finally:
            self._prompt_in_use = None
        return np.asarray(outputs, dtype="float32")

    def encode_query(self, query, **kwargs) -> np.ndarray:
        """``encode_text`` for queries (KerasHub's name); a string gives one row."""
        return self.encode_text(query, **kwargs)

    def encode_documents(self, documents, **kwargs) -> np.ndarray:
        """``encode_text`` for documents (KerasHub's name)."""
        return self.encode_text(documents, **kwargs)

    def similarity(self, query_embeddings, document_embeddings) -> np.ndarray:
        """Scores ``[num_queries, num_documents]`` by ``similarity_fn_name``.

        ``"dot"`` gives dot products (cosine, for normalized embeddings), ``"cosine"``
        cosines, ``"euclidean"`` and ``"manhattan"`` the negated distances (higher is
        closer, as for the others). A single vector counts as one row.

        Example:

        >>> import numpy as np, textbones
        >>> backbone = textbones.models.FNetBackbone(30, 1, 8, 16)
        >>> embedder = textbones.models.FNetTextEmbedder(backbone, similarity_fn_name="euclidean")
        >>> embedder.similarity(np.array([0.0, 0.0]), np.array([[3.0, 4.0], [0.0, 1.0]])).tolist()
        [[-5.0, -1.0]]
        """
        queries = np.atleast_2d(np.asarray(query_embeddings, "float32"))
        documents = np.atleast_2d(np.asarray(document_embeddings, "float32"))
        if queries.shape[-1] != documents.shape[-1]:
            raise ValueError(
                f"The query embeddings have {queries.shape[-1]} dimensions and the document "
                f"embeddings {documents.shape[-1]}: embed both with the same model."
            )
        name = self.similarity_fn_name
        if name == "cosine":
            queries = queries / np.maximum(np.linalg.norm(queries, axis=-1, keepdims=True), 1e-12)
            documents = documents / np.maximum(
                np.linalg.norm(documents, axis=-1, keepdims=True), 1e-12
            )
        if name in ("dot", "cosine"):
            return queries @ documents.T
        differences = queries[:, None, :] - documents[None, :, :]
        if name == "manhattan":
            return -np.abs(differences).sum(-1)
        return -np.sqrt(np.square(differences).sum(-1))

    def _resolve_prompt(self, prompt_name: str | None, prompt: str | None) -> str | None:
        if prompt is not None and prompt_name is not None:
            raise ValueError("Pass `prompt` or `prompt_name`, not both.")
        if prompt is not None:
            return prompt
        name = prompt_name if prompt_name is not None else self.default_prompt_name
        if name is None:
            return None
        if name not in (self.prompts or {}):
            known = ", ".join(map(repr, self.prompts or {})) or "none"
            raise ValueError(
                f"{type(self).__name__} has no prompt named {name!r} (its prompts: {known}). "
                "Name one of them, pass `prompt=` with the text, or add it to `prompts`."
            )
        return self.prompts[name]

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "pooling_mode": self.pooling_mode,
            "normalize": self.normalize,
        }
        for key, default in _TEXTBONES_DEFAULTS.items():
            value = getattr(self, key)
            if value != default:
                config[key] = dict(value) if isinstance(value, Mapping) else value
        return config


def _checked_prompts(prompts, default_prompt_name) -> dict[str, str] | None:
    if prompts is not None:
        if not isinstance(prompts, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in prompts.items()
        ):
            raise ValueError(
                f"`prompts` must map prompt names to prompt texts ({{'query': 'query: '}}), got "
                f"{prompts!r}."
            )
        prompts = dict(prompts)
    if default_prompt_name is not None and default_prompt_name not in (prompts or {}):
        raise ValueError(
            f"`default_prompt_name` {default_prompt_name!r} is not one of the prompts "
            f"({', '.join(map(repr, prompts or {})) or 'none given'})."
        )
    return prompts


class LateProgressBar(keras.callbacks.Callback):
    """A ``predict`` progress bar that shows itself only once the work has taken ``delay``
    seconds and batches remain, so that short calls print nothing.

    Example:

    >>> bar = LateProgressBar(delay=60.0)
    >>> bar.delay
    60.0
    """

    def __init__(self, delay: float = 3.0):
        super().__init__()
        self.delay = float(delay)
        self._start = 0.0
        self._bar = None

    def on_predict_begin(self, logs=None):
        self._start = time.monotonic()
        self._bar = None

    def on_predict_batch_end(self, batch, logs=None):
        steps = self.params.get("steps")
        if self._bar is None:
            if time.monotonic() - self._start < self.delay or (steps and batch + 1 >= steps):
                return  # short work, or nothing left to wait for
            self._bar = keras.utils.Progbar(steps, unit_name="batch")
        self._bar.update(batch + 1)

    def on_predict_end(self, logs=None):
        if self._bar is not None and not self.params.get("steps"):
            self._bar.update(self._bar._seen_so_far, finalize=True)  # close an open-ended bar


registry.register_task_kind(
    registry.TaskKind(
        name="text_embedder",
        task_base=TextEmbedder,
        preprocessor_base=TextEmbedderPreprocessor,
        transformers_suffix=None,
    )
)
