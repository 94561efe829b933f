"""Turning a preset handle into a local directory.

Every ``from_preset`` call starts here. A handle is one of:

* a local directory (``"./my_preset"``, ``"~/presets/bert"``, a :class:`pathlib.Path`);
* ``"kaggle://org/model/framework/variation"`` or the same with a trailing ``/version``,
  fetched (and cached) by ``kagglehub``;
* ``"hf://org/name"``, fetched (and cached) by ``huggingface_hub``;
* a built-in preset name such as ``"bert_base_en_uncased"``, which the registry maps to a
  versioned Kaggle handle.

Both download libraries are imported only when a download is actually needed, so resolving a
local directory stays cheap. Whatever goes wrong inside them (no network, a gated or missing
model, a server error) comes out as a single :class:`PresetDownloadError` that says which handle
failed, why, and how to carry on without a network.
"""

from __future__ import annotations

import difflib
import os
import pathlib
import re

from textbones.presets.atomic_directory import interrupted_save_copy
from textbones.presets.consistent_read import watch
from textbones.presets.download_errors import (
    PresetDownloadError,
    describe_failure,
    failure_message,
)
from textbones.presets.files import HF_CONFIG_FILE, HF_TORCH_PATTERN

__all__ = ["PresetDownloadError", "resolve_preset"]

_KAGGLE_SCHEME = "kaggle://"
_HF_SCHEME = "hf://"

_ACCEPTED_FORMS = (
    "  - a local preset directory, e.g. './my_preset' (as written by `save_to_preset`);\n"
    "  - a built-in preset name, e.g. 'bert_base_en_uncased';\n"
    "  - 'kaggle://<owner>/<model>/<framework>/<variation>[/<version>]', "
    "e.g. 'kaggle://keras/bert/keras/bert_base_en_uncased/3';\n"
    "  - 'hf://<owner>/<repository>', e.g. 'hf://google-bert/bert-base-uncased'."
)

# A Kaggle slug or a Hugging Face name component: letters, digits, '.', '_' and '-'.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# `snapshot_download` fetches every file of a repository unless told otherwise, and
# `transformers` repositories often carry the same weights several times over (TensorFlow,
# Flax, ONNX, Rust, Core ML ...). Only fetch what a textbones preset can consist of:
# configs and tokenizer files, Keras weights (sharded or not) and safetensors weights;
# PyTorch pickles only for a repository that has no safetensors (a second, rare call).
_HF_ALLOW_PATTERNS = [
    "*.json",
    "*.txt",
    "*.model",
    "*.spm",
    "*.weights.h5",
    "*.safetensors",
    "assets/*",
]
_HF_TORCH_PATTERNS = [HF_TORCH_PATTERN]


def resolve_preset(preset: str | os.PathLike) -> pathlib.Path:
    """Returns the local directory holding a preset, downloading it if needed.

    The handle is tried as, in order: an existing local directory; a ``kaggle://`` handle; an
    ``hf://`` handle; a built-in preset name (resolved through its Kaggle handle). Downloads go
    through the libraries' own caches (``KAGGLEHUB_CACHE``, ``HF_HOME`` / ``HF_HUB_CACHE``), so a
    second call with the same versioned handle needs no network.

    Args:
        preset: A local directory (``str`` or path-like, ``~`` is expanded), a
            ``kaggle://owner/model/framework/variation[/version]`` handle, an
            ``hf://owner/name`` handle, or a built-in preset name.

    Returns:
        The directory that holds the preset files.

    Raises:
        FileNotFoundError: ``preset`` looks like a path (it is path-like, contains a path
            separator, or starts with ``.``, ``~`` or ``/``) but nothing exists there.
        NotADirectoryError: ``preset`` is an existing file rather than a directory.
        ValueError: ``preset`` is a malformed ``kaggle://`` / ``hf://`` handle, or names
            nothing known; the message lists the accepted forms and the closest built-in
            names.
        PresetDownloadError: the download could not happen (no network, access denied,
            not found, ...).
        TypeError: ``preset`` is neither a string nor path-like.

    Example:

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = pathlib.Path(folder, "config.json").write_text("{}")
    ...     resolved = resolve_preset(folder)
    ...     print(resolved == pathlib.Path(folder), (resolved / "config.json").is_file())
    True True
    """
    if isinstance(preset, os.PathLike):
        return _local_directory(os.fspath(preset))
    if not isinstance(preset, str):
        raise TypeError(
            f"A preset must be a string or a path, not {type(preset).__name__}: {preset!r}."
        )

    handle = preset.strip()
    if not handle:
        raise ValueError(f"The preset handle is empty. Accepted forms:\n{_ACCEPTED_FORMS}")

    if handle.startswith(_KAGGLE_SCHEME):
        return _download_from_kaggle(_validated_kaggle_handle(handle), requested=handle)
    if handle.startswith(_HF_SCHEME):
        return _download_from_hugging_face(_validated_hf_repo_id(handle), requested=handle)
    if "://" in handle:
        scheme = handle.split("://", 1)[0]
        raise ValueError(
            f"Unsupported preset handle {handle!r}: the '{scheme}://' scheme is not known. "
            f"Accepted forms:\n{_ACCEPTED_FORMS}"
        )

    # Paths are used as given (a folder name may end in a space); names and schemes are not.
    expanded = os.path.expanduser(preset)
    directory = _existing_directory(expanded)
    if directory is not None:
        return directory
    if _looks_like_a_path(handle):
        return _local_directory(preset)

    from textbones.presets.registry import builtin_presets

    presets = builtin_presets()
    if handle in presets:
        kaggle_handle = presets[handle]["kaggle_handle"]
        return _download_from_kaggle(
            _validated_kaggle_handle(kaggle_handle), requested=handle, kaggle_handle=kaggle_handle
        )

    message = f"Unknown preset {handle!r}: it is not a local directory nor a built-in preset name."
    close = difflib.get_close_matches(handle, presets, n=3, cutoff=0.6)
    if close:
        message += f" Did you mean {close[0]!r}?"
        if len(close) > 1:
            message += " Other close names: " + ", ".join(repr(name) for name in close[1:]) + "."
    message += f"\nAccepted forms:\n{_ACCEPTED_FORMS}"
    message += "\nBuilt-in presets: " + ", ".join(sorted(presets)) + "."
    raise ValueError(message)


# --------------------------------------------------------------------------------------------
# Local directories


def _looks_like_a_path(text: str) -> bool:
    """Whether a string that is not an existing directory was meant as a path."""
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    return text.startswith((".", "~", "/")) or any(sep in text for sep in separators)


def _existing_directory(expanded: str) -> pathlib.Path | None:
    """The local directory at ``expanded``, or ``None`` when there is none.

    A save killed between its two renames leaves the preset only in a hidden copy beside
    the path; it is brought back (or, while a save of it runs, read in place). A load in
    progress is told which directory it reads (see ``consistent_read``).
    """
    if os.path.isdir(expanded):
        directory = pathlib.Path(expanded)
    else:
        directory = interrupted_save_copy(expanded)
        if directory is None:
            return None
    watch(expanded, directory)
    return directory


def _local_directory(path: str) -> pathlib.Path:
    """Returns ``path`` (``~`` expanded) if it is a directory, else raises a clear error."""
    expanded = os.path.expanduser(path)
    directory = _existing_directory(expanded)
    if directory is not None:
        return directory
    if os.path.exists(expanded):
        raise NotADirectoryError(
            f"The preset path {path!r} is a file; a preset is a directory holding "
            "`config.json` and its companion files."
        )
    shown = repr(path) if expanded == path else f"{path!r} ({expanded})"
    raise FileNotFoundError(
        f"The preset directory {shown} does not exist. Pass an existing preset directory "
        "(e.g. one written by `save_to_preset`), a built-in preset name, or a "
        "'kaggle://' / 'hf://' handle."
    )


# --------------------------------------------------------------------------------------------
# Handle validation


def _validated_kaggle_handle(handle: str) -> str:
    """Checks a ``kaggle://`` handle and returns it without the scheme."""
    body = handle[len(_KAGGLE_SCHEME) :].rstrip("/")
    parts = body.split("/")
    problem = None
    if len(parts) not in (4, 5):
        problem = f"it has {len(parts)} part(s) after 'kaggle://', not 4 or 5"
    elif not all(_SEGMENT.fullmatch(part) for part in parts[:4]):
        problem = "the owner, model, framework and variation must be non-empty slugs"
    elif len(parts) == 5 and not parts[4].isdigit():
        problem = f"the version {parts[4]!r} is not a whole number"
    if problem:
        raise ValueError(
            f"Malformed Kaggle handle {handle!r}: {problem}. Expected "
            "'kaggle://<owner>/<model>/<framework>/<variation>' or the same followed by "
            "'/<version>', e.g. 'kaggle://keras/bert/keras/bert_base_en_uncased/3'."
        )
    return body


def _validated_hf_repo_id(handle: str) -> str:
    """Checks an ``hf://`` handle and returns the repository id (``owner/name``)."""
    body = handle[len(_HF_SCHEME) :].rstrip("/")
    parts = body.split("/")
    valid = (
        len(parts) == 2
        and all(_SEGMENT.fullmatch(part) for part in parts)
        and ".." not in body
        and "--" not in body
    )
    if not valid:
        raise ValueError(
            f"Malformed Hugging Face handle {handle!r}. Expected 'hf://<owner>/<repository>', "
            "e.g. 'hf://google-bert/bert-base-uncased' (names use letters, digits, '.', '_' "
            "and '-')."
        )
    return body


# --------------------------------------------------------------------------------------------
# Downloads
#
# Speed with no network: neither library retries the calls made here when the connection
# itself fails, so "no network" surfaces in well under a second when the name lookup fails or
# the connection is refused (checked against kagglehub 1.0.2 and huggingface_hub 2.4.0):
# * kagglehub talks to Kaggle through `kagglesdk`, a plain `requests.Session` with no retry
#   adapter (the "Max retries exceeded" text in its errors is urllib3's wording for zero
#   retries). A versioned handle that is already in KAGGLEHUB_CACHE is returned before any
#   request is made; an unversioned one always asks Kaggle for the latest version first.
# * `snapshot_download` makes a single `repo_info` call, not wrapped in its retrying
#   `http_backoff`, and falls back to the cache when that call cannot connect. HF_HUB_OFFLINE=1
#   skips the network entirely.
# Neither library sets a connect timeout on these calls and neither offers a setting for one,
# so a network that silently drops packets (rather than refusing them) waits for the
# operating system's own connect timeout. We do not try to outguess that with threads or a
# global socket timeout, which would leak into the user's other connections.


def _download_from_kaggle(
    body: str, *, requested: str, kaggle_handle: str | None = None
) -> pathlib.Path:
    """Fetches a validated Kaggle handle (``owner/model/framework/variation[/version]``)."""
    try:
        import kagglehub

        return pathlib.Path(kagglehub.model_download(body))
    except Exception as error:  # Every failure of the download library is reported alike.
        reason = describe_failure(error, source="kaggle")
        message = failure_message(
            requested,
            kaggle_handle=kaggle_handle or _KAGGLE_SCHEME + body,
            reason=reason,
            source="kaggle",
            versioned=body.count("/") == 4,
        )
    raise PresetDownloadError(message, handle=requested, reason=reason) from None


def _download_from_hugging_face(repo_id: str, *, requested: str) -> pathlib.Path:
    """Fetches a validated Hugging Face repository id."""
    try:
        import huggingface_hub

        folder = pathlib.Path(
            huggingface_hub.snapshot_download(repo_id=repo_id, allow_patterns=_HF_ALLOW_PATTERNS)
        )
        if _needs_torch_weights(folder):
            folder = pathlib.Path(
                huggingface_hub.snapshot_download(
                    repo_id=repo_id, allow_patterns=_HF_ALLOW_PATTERNS + _HF_TORCH_PATTERNS
                )
            )
        return folder
    except Exception as error:  # Every failure of the download library is reported alike.
        reason = describe_failure(error, source="hf")
        message = failure_message(requested, reason=reason, source="hf")
    raise PresetDownloadError(message, handle=requested, reason=reason) from None


def _needs_torch_weights(folder: pathlib.Path) -> bool:
    """Whether a downloaded repository is a `transformers` checkpoint without safetensors."""
    if any(folder.glob("*.safetensors")) or any(folder.glob("*.weights.h5")):
        return False
    config = folder / HF_CONFIG_FILE
    return config.is_file() and '"model_type"' in config.read_text(
        encoding="utf-8", errors="replace"
    )
