"""Keras weights files (``model.weights.h5``, sharded ``model.weights.json``, ``task.weights.h5``)
read one dataset at a time, straight into the model's variables.

Keras writes a model's variables under the path its saving walk gives each layer
(``layers/<attribute path>/vars/<index>``, the top model's own under ``vars/``). Here
that same walk is run over the model against a recorder instead of a file, so every
variable gets the exact entry Keras' ``load_weights`` would read for it. Then:

* every variable must find its entry, with its shape, and every entry of the file must
  belong to a variable (or to an object the caller skips, or to an optimizer): any
  mismatch raises ``ValueError`` naming the file before any variable changes;
* each dataset is read when its variable takes its value and dropped at once. A model
  built with deferred variables (see :func:`build_with_weights`) never holds random
  weights, so a load costs the model plus one tensor, not two copies of the weights.

The result is bit-identical to ``keras.Model.load_weights`` (checked by the tests on every
family, for backbones and for task heads).
"""

from __future__ import annotations

import contextlib
import json
import pathlib
from collections.abc import Callable, Iterable
from typing import Any

import h5py
import keras
import ml_dtypes
import numpy as np

from textbones.keras_internals import (
    DeferredVariables,
    convert_for_variable,
    is_deferred,
    saved_variable_entries,
    set_value,
)
from textbones.presets.files import CONFIG_FILE, SHARDED_WEIGHTS_INDEX, WEIGHTS_FILE
from textbones.presets.preset_files import decode_problem, shown_name, weight_map_files

#: The top-level group Keras gives a compiled model's optimizer: its state is never
#: restored by ``from_preset`` (KerasHub does the same), so it is neither used nor "extra".
_OPTIMIZER_GROUP = "optimizer"
#: Keras 2.13 named the sub-layers' group so; Keras 3 still reads such files.
_LEGACY_LAYERS_GROUP = "_layer_checkpoint_dependencies"


def weights_path(preset_dir: pathlib.Path) -> pathlib.Path:
    """``model.weights.json`` (sharded weights) if the preset has one, else ``model.weights.h5``.

    Example:

    >>> import pathlib, tempfile
    >>> weights_path(pathlib.Path(tempfile.mkdtemp()))
    Traceback (most recent call last):
    ...
    FileNotFoundError: ... has no model.weights.h5 (nor a sharded model.weights.json). ...
    """
    index = preset_dir / SHARDED_WEIGHTS_INDEX
    if index.is_file():
        return index
    path = preset_dir / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{preset_dir} has no {WEIGHTS_FILE} (nor a sharded {SHARDED_WEIGHTS_INDEX}). "
            "Download or save the preset again, or pass `load_weights=False` to build "
            "the architecture with random weights."
        )
    return path


class WeightsFile(contextlib.AbstractContextManager):
    """The datasets of a Keras weights file (or of every shard a ``.weights.json`` names).

    Opening checks that each file is a readable HDF5 file that refers to nothing outside
    itself (no external or virtual datasets, no links), and that the shards an index names
    lie inside its folder. ``fill(model)`` then gives every variable its dataset.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> model = textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.weights.h5"
    >>> model.save_weights(path)
    >>> with WeightsFile(path, "config.json") as weights:
    ...     sorted(weights.entries)[:2]
    ['layers/dense/vars/0', 'layers/dense/vars/1']
    """

    def __init__(self, path: pathlib.Path, described_by: str):
        self.path = pathlib.Path(path)
        self.described_by = described_by
        self._files: dict[pathlib.Path, h5py.File] = {}
        #: entry path ("layers/dense/vars/0") -> the file holding it
        self.entries: dict[str, pathlib.Path] = {}
        try:
            for shard in self._shard_paths():
                self._catalogue(shard)
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------
    def _shard_paths(self) -> list[pathlib.Path]:
        if self.path.name != SHARDED_WEIGHTS_INDEX and not self.path.name.endswith(".weights.json"):
            return [self.path]
        try:
            index = json.loads(self.path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise ValueError(
                f"{self.path} is not valid JSON ({decode_problem(error)}); the preset is "
                "corrupt. Save or download it again."
            ) from None
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        return weight_map_files(self.path.parent, self.path, weight_map, lists=True)

    def _catalogue(self, path: pathlib.Path) -> None:
        try:
            handle = self._files[path] = h5py.File(path, "r")
            found = hdf5_datasets(handle, "")
        except OSError as error:
            raise ValueError(
                f"{path} is corrupt or incomplete ({hdf5_problem(error)}). It was probably cut "
                "short by an interrupted download or save: download or save the preset again."
            ) from None
        except RefusedHDF5 as problem:
            raise ValueError(
                f"{path} is not a plain Keras weights file: {problem}. textbones reads only "
                "weights stored in the file itself; download or save the preset again."
            ) from None
        for entry in found:
            if entry in self.entries:
                raise ValueError(
                    f"{path} and {self.entries[entry]} both hold {entry}; the sharded weights "
                    "are inconsistent. Download or save the preset again."
                )
            self.entries[entry] = path

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------
    def read(self, entry: str) -> np.ndarray:
        """The dataset ``entry`` as a NumPy array, as Keras reads it (bfloat16 included)."""
        dataset = self._files[self.entries[entry]][entry]
        try:
            if dataset.attrs.get("dtype") == "bfloat16":
                return np.array(dataset, dtype=ml_dtypes.bfloat16)
            return np.array(dataset)
        except OSError as error:
            raise ValueError(
                f"Could not read {entry} from {self.entries[entry]} ({hdf5_problem(error)}); the "
                "file is corrupt or incomplete. Download or save the preset again."
            ) from None

    def fill(self, model, objects_to_skip: Iterable[Any] | None = None) -> None:
        """Give each variable of ``model`` (except those of ``objects_to_skip``) its dataset.

        Every entry is checked first; then a variable whose value is deferred gets the
        dataset as its initializer (it is read when the variable is initialized), and any
        other is assigned at once, one dataset at a time.
        """
        for entry, variable in self.plan(model, objects_to_skip):
            set_value(variable, _DatasetReader(self, entry, variable))

    def plan(self, model, objects_to_skip: Iterable[Any] | None = None) -> list[tuple[str, Any]]:
        """``(entry, variable)`` for every variable to load; ``ValueError`` on any mismatch."""
        skipped = list(objects_to_skip or [])
        wanted = variable_entries(model, skipped)
        everything = variable_entries(model, []) if skipped else wanted
        model_name = type(model).__name__
        where = f"The weights in {self.path}"
        plan, missing, misshapen = [], [], []
        for entry, variable in wanted.items():
            found = self._find(entry)
            if found is None:
                missing.append(f"{entry} ({variable.path})")
                continue
            stored = tuple(self._files[self.entries[found]][found].shape)
            if stored != tuple(variable.shape):
                misshapen.append(
                    f"{found} has shape {stored}, the variable {variable.path} "
                    f"{tuple(variable.shape)}"
                )
            plan.append((found, variable))
        if misshapen:
            raise ValueError(
                f"{where} do not fit the {model_name} described by {self.described_by}: "
                f"{len(misshapen)} entries have another shape than the model's variables, e.g. "
                f"{'; '.join(misshapen[:3])}. The config and the weights do not belong together."
            )
        if missing:
            raise ValueError(
                f"{where} do not cover the {model_name} described by {self.described_by}: "
                f"{len(missing)} of its {len(wanted)} variables have no entry, e.g. "
                f"{', '.join(missing[:3])}. The config and the weights do not belong together, "
                "or the file is incomplete: download or save the preset again."
            )
        known = {self._find(entry) or entry for entry in everything}
        extra = sorted(
            entry
            for entry in self.entries
            if entry not in known and entry.split("/", 1)[0] != _OPTIMIZER_GROUP
        )
        if extra:
            raise ValueError(
                f"{where} do not fit the {model_name} described by {self.described_by}: they "
                f"hold {len(extra)} entries the model has no variable for, e.g. "
                f"{', '.join(map(shown_name, extra[:3]))}. The config and the weights do not "
                "belong together: check the config, or download or save the preset again."
            )
        return plan

    def _find(self, entry: str) -> str | None:
        if entry in self.entries:
            return entry
        legacy = entry.replace("layers", _LEGACY_LAYERS_GROUP)
        return legacy if legacy in self.entries else None


class _DatasetReader:
    """An initializer that reads one dataset (Keras calls it with the variable's shape).

    The value is cast to the variable's dtype as ``variable.assign`` casts it (Keras keeps
    an initializer's value as it comes), so a ``dtype`` override loads exactly as Keras'
    ``load_weights`` does.
    """

    def __init__(self, weights: WeightsFile, entry: str, variable):
        self.weights, self.entry, self.variable = weights, entry, variable

    def __call__(self, shape, dtype=None):
        value = self.weights.read(self.entry)
        return convert_for_variable(self.variable, value)


class RefusedHDF5(ValueError):
    """An HDF5 feature that would read outside the file (a link, external or virtual data)."""


def hdf5_datasets(group: h5py.Group, prefix: str) -> list[str]:
    """Every dataset under ``group``, refusing links and data stored outside the file."""
    found = []
    for name in group.keys():
        path = f"{prefix}{name}"
        link = group.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise RefusedHDF5(f"{shown_name(path)} is a {type(link).__name__}")
        item = group[name]
        if isinstance(item, h5py.Group):
            found += hdf5_datasets(item, path + "/")
        elif isinstance(item, h5py.Dataset):
            if item.external or item.is_virtual:
                raise RefusedHDF5(f"the dataset {shown_name(path)} keeps its data in other files")
            found.append(path)
    return found


def hdf5_problem(error: OSError) -> str:
    # HDF5's messages name objects of the file; say only what kind of failure it was.
    text = str(error).lower()
    if "truncated" in text:
        return "it is truncated"
    if "signature" in text:
        return "it is not an HDF5 file"
    return "HDF5 cannot read it"


def variable_entries(model, objects_to_skip: Iterable[Any] = ()) -> dict[str, Any]:
    """The weights-file entry of each of ``model``'s variables, as Keras lays them out.

    Keras' own saving walk runs over the model (``keras_internals.saved_variable_entries``),
    so each path is the one ``model.save_weights`` would write; ``objects_to_skip`` are
    left out as Keras leaves them out. Raises ``TypeError`` if something would be saved
    that is not a variable (a LoRA-merged kernel, ...), which cannot be streamed, or if
    this Keras has no such walk: callers then load with Keras' own ``load_weights``.

    Example:

    >>> import textbones
    >>> model = textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> entries = variable_entries(model)
    >>> entries["layers/reversible_embedding/vars/0"].path
    'token_embedding/embeddings'
    """
    entries = saved_variable_entries(model, objects_to_skip)
    if entries is None:
        raise TypeError("This Keras has no saving walk to find the entries of the variables")
    for entry, value in entries.items():
        if not isinstance(value, keras.Variable):
            raise TypeError(f"{entry} of {type(model).__name__} is saved from a computed value")
    return entries


def load_h5_weights(model, path: pathlib.Path, described_by: str, objects_to_skip=None) -> None:
    """Load a Keras weights file into ``model``, turning every mismatch into a ``ValueError``.

    ``objects_to_skip`` (layers, an optimizer) are left as they are, as with
    ``keras.saving.load_weights``; ``described_by`` names the config file in messages.
    Variables built deferred take their values when they are initialized; any other is
    assigned here, one dataset at a time.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> model = textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.weights.h5"
    >>> model.save_weights(path)
    >>> other = textbones.models.FNetBackbone(50, 2, 8, 16)
    >>> load_h5_weights(other, path, "config.json")
    Traceback (most recent call last):
    ...
    ValueError: The weights in ... do not cover the FNetBackbone described by config.json: ...
    """
    with WeightsFile(path, described_by) as weights:
        try:
            weights.fill(model, objects_to_skip)
        except TypeError:  # not all saved values are variables: Keras' own loader
            pass
        else:
            if any(is_deferred(variable) for variable in model.variables):
                with keras.StatelessScope():  # closing it initializes deferred variables
                    pass
            return
    _load_with_keras(model, path, described_by, objects_to_skip)


def build_with_weights(make: Callable[[], Any], path: pathlib.Path, described_by: str):
    """``make()`` a model with deferred variables, each then initialized from its dataset.

    No random weights are drawn: memory holds the model plus the one tensor being read.
    If the weights do not fit, the ``ValueError`` comes before any variable has a value
    and the half-built model is forgotten.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> model = textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.weights.h5"
    >>> model.save_weights(path)
    >>> make = lambda: textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> copy = build_with_weights(make, path, "config.json")
    >>> bool((copy.weights[0].numpy() == model.weights[0].numpy()).all())
    True
    """
    with WeightsFile(path, described_by) as weights:
        deferred = DeferredVariables()
        try:
            model = deferred.build(make)
            try:
                weights.fill(model)
            except TypeError:  # not all saved values are variables: Keras' own loader
                deferred.initialize()
                _load_with_keras(model, path, described_by, None)
                return model
            deferred.initialize()
        except BaseException:
            deferred.abandon()
            raise
    return model


def load_weights_file(model, preset_dir: pathlib.Path) -> None:
    """Load ``model.weights.h5`` (or its shards) from ``preset_dir`` into ``model``.

    Raises ``ValueError`` if the file is damaged or does not match the model, rather
    than leaving some variables silently at their random initial values.

    Example:

    >>> import pathlib, tempfile, textbones
    >>> model = textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> model.save_to_preset(folder)
    >>> copy = textbones.models.FNetBackbone(50, 1, 8, 16)
    >>> load_weights_file(copy, folder)
    >>> bool((copy.weights[0].numpy() == model.weights[0].numpy()).all())
    True
    """
    load_h5_weights(model, weights_path(preset_dir), CONFIG_FILE)


def _load_with_keras(model, path: pathlib.Path, described_by: str, objects_to_skip) -> None:
    """Keras' own loader, for models whose saved values are not all plain variables."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if objects_to_skip is None:
                model.load_weights(str(path))
            else:
                keras.saving.load_weights(model, str(path), objects_to_skip=objects_to_skip)
        except (OSError, KeyError) as error:
            raise ValueError(
                f"Could not read the weights in {path} ({type(error).__name__}); the file is "
                "corrupt or incomplete. Download or save the preset again."
            ) from None
        except ValueError as error:
            raise ValueError(
                f"The weights in {path} do not fit the {type(model).__name__} described "
                f"by {described_by}: {error}"
            ) from None
    for warning in caught:
        message = str(warning.message)
        if "could not be loaded" in message or "Skipping" in message:
            raise ValueError(
                f"The weights in {path} do not cover the {type(model).__name__} described "
                f"by {described_by}: {message}"
            )
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
