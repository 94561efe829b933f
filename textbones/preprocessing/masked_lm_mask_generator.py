"""``MaskedLMMaskGenerator``: BERT's dynamic masking for masked language modelling, in NumPy.

Every call draws new masks from the generator's own ``numpy.random.Generator``, so the
same batch seen in two epochs is masked differently, and a seed fixes the whole sequence.
"""

from collections.abc import Iterable
from typing import Any

import keras
import numpy as np

from textbones.preprocessing.tf_tensors import accepts_tf_tensors
from textbones.serialization import register_keras_hub_aliases

# Keys KerasHub writes into every layer config; they mean nothing to a NumPy generator.
_IGNORED_LAYER_KWARGS = frozenset({"name", "trainable", "dtype"})
# Slack for rates that sum to one only up to float rounding (0.7 + 0.3, say).
_RATE_SUM_TOLERANCE = 1e-9


@keras.saving.register_keras_serializable(package="textbones")
class MaskedLMMaskGenerator:
    """Chooses tokens to predict and corrupts them, as in BERT pre-training.

    Each position whose id is not in ``unselectable_token_ids`` is selected with
    probability ``mask_selection_rate``, independently. A row keeps at most
    ``mask_selection_length`` selections (a uniformly random subset when more were
    drawn). Each selected token is then replaced by ``mask_token_id`` with probability
    ``mask_token_rate``, by an id drawn uniformly from ``[0, vocabulary_size)`` with
    probability ``random_token_rate``, and otherwise left as it was.

    Randomness comes from a ``numpy.random.Generator`` created with the object: with a
    ``seed``, a fresh generator with the same seed repeats the same sequence of masks;
    with ``seed=None`` its seed is drawn from NumPy's global random state, which
    ``keras.utils.set_random_seed`` sets, so a program that calls that first is
    reproducible too. Successive calls always give new masks (dynamic masking).

    Inputs and outputs are NumPy (or Python lists where the result is ragged); no Keras
    backend op runs. Output names, dtypes and structure follow KerasHub 0.32's
    ``MaskedLMMaskGenerator`` called eagerly.

    Args:
        vocabulary_size: number of ids; random replacements are drawn below it.
        mask_selection_rate: probability that a selectable token is selected.
        mask_token_id: the id put in place of most selected tokens.
        mask_selection_length: the most selections kept per row, and the width ``M`` of
            the ``mask_*`` outputs (``0`` selects nothing: ``M`` is 0). ``None`` sets no
            limit: each row's ``mask_*`` holds just its own selections, so a batch gets
            Python lists of rows (NumPy arrays only when every row selected as many).
        unselectable_token_ids: ids never selected (padding, ``[CLS]``, ``[SEP]``, ...).
        mask_token_rate: probability that a selected token becomes ``mask_token_id``.
        random_token_rate: probability that a selected token becomes a random id.
            ``mask_token_rate + random_token_rate`` must not exceed 1; the rest of the
            selected tokens stay unchanged.
        seed: seed of the generator's random numbers; ``None`` draws one from NumPy's
            global random state.
        **kwargs: ``name``, ``trainable`` and ``dtype``, as found in KerasHub configs;
            ignored.

    Returns:
        When called, a dict. ``token_ids``: the input with the selected tokens replaced,
        int32, same shape (rows of unequal length in, Python lists of rows out).
        ``mask_positions``: ``[batch, M]`` int32 positions of the selections, ascending,
        then padded with 0. ``mask_ids``: ``[batch, M]`` int32 original ids at those
        positions, padded with 0. ``mask_weights``: ``[batch, M]`` float32, 1.0 for a
        selection, 0.0 for padding. A single row (1-D input) gives 1-D outputs.

    Example:

    >>> masker = MaskedLMMaskGenerator(
    ...     vocabulary_size=10, mask_selection_rate=1.0, mask_token_id=3,
    ...     mask_selection_length=4, unselectable_token_ids=[0, 1, 2],
    ...     mask_token_rate=1.0, random_token_rate=0.0, seed=0)
    >>> outputs = masker(np.array([[1, 7, 8, 2, 0], [1, 9, 2, 0, 0]]))
    >>> outputs["token_ids"]
    array([[1, 3, 3, 2, 0],
           [1, 3, 2, 0, 0]], dtype=int32)
    >>> outputs["mask_positions"]
    array([[1, 2, 0, 0],
           [1, 0, 0, 0]], dtype=int32)
    >>> outputs["mask_ids"]
    array([[7, 8, 0, 0],
           [9, 0, 0, 0]], dtype=int32)
    >>> outputs["mask_weights"]
    array([[1., 1., 0., 0.],
           [1., 0., 0., 0.]], dtype=float32)
    """

    def __init__(
        self,
        vocabulary_size: int,
        mask_selection_rate: float,
        mask_token_id: int,
        mask_selection_length: int | None = None,
        unselectable_token_ids: Iterable[int] | None = (0,),
        mask_token_rate: float = 0.8,
        random_token_rate: float = 0.1,
        seed: int | None = None,
        **kwargs: Any,
    ):
        unexpected = set(kwargs) - _IGNORED_LAYER_KWARGS
        if unexpected:
            raise TypeError(
                f"MaskedLMMaskGenerator got unexpected argument(s) {sorted(unexpected)}."
            )
        if not _is_int(vocabulary_size) or vocabulary_size <= 0:
            raise ValueError(
                f"`vocabulary_size` must be a positive integer, got {vocabulary_size!r}."
            )
        if not _is_int(mask_token_id) or not 0 <= mask_token_id < vocabulary_size:
            raise ValueError(
                "`mask_token_id` must be an id in [0, vocabulary_size - 1] = "
                f"[0, {vocabulary_size - 1}], "
                f"got {mask_token_id!r}."
            )
        if mask_selection_length is not None and (
            not _is_int(mask_selection_length) or mask_selection_length < 0
        ):
            raise ValueError(
                "`mask_selection_length` must be a non-negative integer (0 selects nothing) or "
                f"None (no limit), got {mask_selection_length!r}."
            )
        for name, rate in (
            ("mask_selection_rate", mask_selection_rate),
            ("mask_token_rate", mask_token_rate),
            ("random_token_rate", random_token_rate),
        ):
            if (
                not isinstance(rate, (int, float, np.integer, np.floating))
                or not 0.0 <= rate <= 1.0
            ):
                raise ValueError(f"`{name}` must be a probability in [0, 1], got {rate!r}.")
        if mask_token_rate + random_token_rate > 1.0 + _RATE_SUM_TOLERANCE:
            raise ValueError(
                "`mask_token_rate + random_token_rate` must be at most 1 (the rest of the selected "
                f"tokens stay unchanged), got {mask_token_rate} + {random_token_rate} = "
                f"{mask_token_rate + random_token_rate}."
            )
        unselectable = [] if unselectable_token_ids is None else list(unselectable_token_ids)
        if not all(_is_int(token_id) for token_id in unselectable):
            raise TypeError(
                f"`unselectable_token_ids` must be integer ids, got {unselectable_token_ids!r}."
            )
        if seed is not None and not _is_int(seed):
            raise TypeError(f"`seed` must be an integer or None, got {seed!r}.")

        self.vocabulary_size = int(vocabulary_size)
        self.mask_selection_rate = float(mask_selection_rate)
        self.mask_token_id = int(mask_token_id)
        self.mask_selection_length = (
            None if mask_selection_length is None else int(mask_selection_length)
        )
        self.unselectable_token_ids = [int(token_id) for token_id in unselectable]
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.seed = None if seed is None else int(seed)

        # np.random's global state is what keras.utils.set_random_seed seeds for NumPy.
        generator_seed = np.random.randint(0, 2**63 - 1, dtype=np.int64) if seed is None else seed
        self._rng = np.random.default_rng(generator_seed)
        self._unselectable = np.array(self.unselectable_token_ids, dtype=np.int64)

    @accepts_tf_tensors
    def __call__(
        self, token_ids: Any, rng: np.random.Generator | None = None
    ) -> dict[str, np.ndarray]:
        """Masks a batch ``[batch, sequence_length]``, or one row ``[sequence_length]``.

        Args:
            token_ids: integer ids: a 2-D array or a list of equally long rows, or a 1-D
                array or list for a single row (then every output loses its batch axis).
            rng: the random generator to draw from for this call instead of the
                object's own. A data pipeline passes one seeded from (seed, epoch,
                batch) so masks do not depend on which worker prepares a batch.

        Returns:
            A dict with ``token_ids``, ``mask_positions``, ``mask_ids`` and
            ``mask_weights``; see the class documentation.

        Example:

        >>> masker = MaskedLMMaskGenerator(
        ...     vocabulary_size=100, mask_selection_rate=0.5, mask_token_id=4,
        ...     mask_selection_length=3, seed=1)
        >>> outputs = masker([5, 6, 7, 8, 9, 10])
        >>> {name: value.shape for name, value in outputs.items()}
        {'token_ids': (6,), 'mask_positions': (3,), 'mask_ids': (3,), 'mask_weights': (3,)}
        >>> selected = outputs["mask_positions"][outputs["mask_weights"] > 0]
        >>> bool(np.all(
        ...     np.array([5, 6, 7, 8, 9, 10])[selected] == outputs["mask_ids"][: len(selected)]))
        True
        """
        rng = self._rng if rng is None else rng
        ids, lengths, batched = _canonicalize_token_ids(token_ids)
        batch_size, sequence_length = ids.shape
        limit = self.mask_selection_length
        width = sequence_length if limit is None else limit

        selectable = ~np.isin(ids, self._unselectable)
        if lengths is not None:  # ragged rows, padded here: their padding is no token
            selectable &= np.arange(sequence_length)[None, :] < lengths[:, None]
        selected = selectable & (rng.random(ids.shape) < self.mask_selection_rate)
        if limit is not None:
            selected = _keep_random_subset(selected, limit, rng)

        # A stable sort of "not selected" brings each row's selected columns to the front,
        # still in ascending order.
        order = np.argsort(~selected, axis=1, kind="stable")[:, :width]
        found = np.take_along_axis(selected, order, axis=1)
        filled = slice(0, order.shape[1])  # narrower than `width` for short rows
        mask_positions = np.zeros((batch_size, width), dtype=np.int32)
        mask_positions[:, filled] = np.where(found, order, 0)
        mask_ids = np.zeros((batch_size, width), dtype=np.int32)
        mask_ids[:, filled] = np.where(found, np.take_along_axis(ids, order, axis=1), 0)
        mask_weights = np.zeros((batch_size, width), dtype=np.float32)
        mask_weights[:, filled] = found

        masked = ids.astype(np.int32)
        rows, columns = np.nonzero(selected)
        draw = rng.random(len(rows))
        to_mask = draw < self.mask_token_rate
        to_random = ~to_mask & (draw < self.mask_token_rate + self.random_token_rate)
        masked[rows[to_mask], columns[to_mask]] = self.mask_token_id
        masked[rows[to_random], columns[to_random]] = rng.integers(
            0, self.vocabulary_size, size=int(to_random.sum())
        )

        outputs = {
            "token_ids": masked,
            "mask_positions": mask_positions,
            "mask_ids": mask_ids,
            "mask_weights": mask_weights,
        }
        if limit is None:
            # No limit: each row keeps only its own selections (KerasHub's ragged output).
            counts = selected.sum(axis=1)
            kept = int(counts.max(initial=0))
            for name in ("mask_positions", "mask_ids", "mask_weights"):
                value = outputs[name][:, :kept]
                if batched and np.any(counts != kept):
                    value = [row[:count].tolist() for row, count in zip(value, counts)]
                outputs[name] = value
        if lengths is not None:
            outputs["token_ids"] = [row[:length].tolist() for row, length in zip(masked, lengths)]
        if not batched:
            outputs = {name: value[0] for name, value in outputs.items()}
        return outputs

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments.

        Example:

        >>> masker = MaskedLMMaskGenerator(30522, 0.15, 103, mask_selection_length=20, seed=7)
        >>> MaskedLMMaskGenerator.from_config(
        ...     masker.get_config()).get_config() == masker.get_config()
        True
        """
        return {
            "vocabulary_size": self.vocabulary_size,
            "mask_selection_rate": self.mask_selection_rate,
            "mask_token_id": self.mask_token_id,
            "mask_selection_length": self.mask_selection_length,
            "unselectable_token_ids": list(self.unselectable_token_ids),
            "mask_token_rate": self.mask_token_rate,
            "random_token_rate": self.random_token_rate,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "MaskedLMMaskGenerator":
        """Builds a generator from ``get_config()`` output (KerasHub's config too).

        Example:

        >>> config = {"vocabulary_size": 10, "mask_selection_rate": 0.2, "mask_token_id": 1,
        ...           "name": "masker", "trainable": True}
        >>> MaskedLMMaskGenerator.from_config(config).mask_token_rate
        0.8
        """
        return cls(**config)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"MaskedLMMaskGenerator({arguments})"


register_keras_hub_aliases(MaskedLMMaskGenerator)


def _keep_random_subset(selected: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """``selected`` with each row cut down to ``limit`` uniformly chosen selections."""
    if limit >= selected.shape[1] or not np.any(selected.sum(axis=1) > limit):
        return selected
    # Random keys for selected positions, above any of them for the rest: a row's
    # `limit` smallest keys are a uniform random subset of its selections.
    keys = np.where(selected, rng.random(selected.shape), 2.0)
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    return selected & (rank < limit)


def _canonicalize_token_ids(token_ids: Any) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """``token_ids`` as a 2-D integer array, the row lengths when the rows were ragged
    (padded here, else ``None``), and whether it came with a batch axis."""
    if (
        isinstance(token_ids, (list, tuple))
        and token_ids
        and all(isinstance(row, (list, tuple, np.ndarray)) for row in token_ids)
    ):
        rows = [np.asarray(row) for row in token_ids]
        lengths = np.array([row.shape[0] if row.ndim else -1 for row in rows], dtype=np.int64)
        if any(row.ndim != 1 for row in rows):
            raise ValueError(
                "Each row of `token_ids` must be a 1-D sequence of ids; got a row of shape "
                f"{next(row.shape for row in rows if row.ndim != 1)}."
            )
        for row in rows:
            if row.size and row.dtype.kind not in "iu":
                raise TypeError(f"`token_ids` must hold integer ids; got dtype {row.dtype}.")
        if len(set(lengths.tolist())) > 1:
            padded = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
            for index, row in enumerate(rows):
                padded[index, : len(row)] = row
            return padded, lengths, True
    ids = np.asarray(token_ids)
    if ids.dtype == object:
        raise ValueError(
            "`token_ids` must be a row of ids, a batch of rows (lists of ids of any length) "
            f"or a 1-D or 2-D integer array; got {type(token_ids).__name__} that NumPy reads "
            "as objects."
        )
    if ids.ndim not in (1, 2):
        raise ValueError(
            f"`token_ids` must be 1-D (one row) or 2-D (a batch of rows); got shape {ids.shape}."
        )
    if ids.size and ids.dtype.kind not in "iu":
        raise TypeError(f"`token_ids` must hold integer ids; got dtype {ids.dtype}.")
    if ids.ndim == 1:
        return ids.astype(np.int64).reshape(1, -1), None, False
    return ids.astype(np.int64), None, True


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
