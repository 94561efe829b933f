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
import urllib.parse

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
# configs and tokenizer files, Keras weights (sharded or not) and PyTorch weights.
_HF_ALLOW_PATTERNS = [
    "*.json",
    "*.txt",
    "*.model",
    "*.spm",
    "*.weights.h5",
    "*.safetensors",
    "pytorch_model*.bin",
    "assets/*",
]


class PresetDownloadError(OSError):
    """A preset could not be downloaded.

    Raised by :func:`resolve_preset` in place of whatever ``kagglehub`` or
    ``huggingface_hub`` raised (the original error stays reachable as ``__context__`` but is
    left out of the printed traceback). The message names the handle, the cause in one line,
    and the ways to work without a network.

    Attributes:
        handle: The handle that was being resolved, as given by the caller.
        reason: The one-line cause, e.g. ``"HTTP 404 not found: ..."``.
    """

    def __init__(self, message: str, *, handle: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.handle = handle
        self.reason = reason


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
    if os.path.isdir(expanded):
        return pathlib.Path(expanded)
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


def _local_directory(path: str) -> pathlib.Path:
    """Returns ``path`` (``~`` expanded) if it is a directory, else raises a clear error."""
    expanded = os.path.expanduser(path)
    if os.path.isdir(expanded):
        return pathlib.Path(expanded)
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
        reason = _describe_failure(error, source="kaggle")
        message = _failure_message(
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

        folder = huggingface_hub.snapshot_download(
            repo_id=repo_id, allow_patterns=_HF_ALLOW_PATTERNS
        )
        return pathlib.Path(folder)
    except Exception as error:  # Every failure of the download library is reported alike.
        reason = _describe_failure(error, source="hf")
        message = _failure_message(requested, reason=reason, source="hf")
    raise PresetDownloadError(message, handle=requested, reason=reason) from None


def _failure_message(
    requested: str,
    *,
    reason: str,
    source: str,
    kaggle_handle: str | None = None,
    versioned: bool = True,
) -> str:
    """The text of a :class:`PresetDownloadError`."""
    if source == "kaggle" and kaggle_handle != requested:
        what = f"the built-in preset {requested!r} (Kaggle handle {kaggle_handle!r})"
    else:
        what = f"the preset {requested!r}"
    lines = [f"Could not download {what}.", f"Cause: {reason}.", "To work without a network:"]
    lines.append(
        "  - pass the path of a local preset directory instead, e.g. one written by "
        "`save_to_preset`;"
    )
    if source == "kaggle":
        lines.append(
            "  - or fill the cache first on a machine with network: kagglehub keeps its "
            "downloads under KAGGLEHUB_CACHE (default ~/.cache/kagglehub), and a later call "
            "finds them there; copy that folder over and point KAGGLEHUB_CACHE at it;"
        )
        if not versioned:
            lines.append(
                "  - with no network, pin the version ('.../<variation>/<version>'): for an "
                "unversioned handle kagglehub asks Kaggle for the latest version even when a "
                "copy is cached;"
            )
    else:
        lines.append(
            "  - or fill the cache first on a machine with network: huggingface_hub keeps its "
            "downloads under HF_HOME (default ~/.cache/huggingface; HF_HUB_CACHE for the hub "
            "folder alone), and a later call finds them there; set HF_HUB_OFFLINE=1 to use "
            "that cache without trying the network;"
        )
    lines.append(
        "  - `from_preset(<built-in name>, load_weights=False)` needs no download at all: the "
        "configs of the built-in presets ship with textbones."
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Explaining a failure in one line

_NETWORK_ERROR_NAMES = {
    "ConnectionError",  # requests, and the builtin
    "ConnectError",  # httpx
    "NetworkError",  # httpx
    "TimeoutException",  # httpx
    "Timeout",  # requests
    "TimeoutError",  # builtin
    "ProxyError",  # requests and httpx
    "NewConnectionError",  # urllib3
    "NameResolutionError",  # urllib3
    "MaxRetryError",  # urllib3
    "gaierror",  # socket
}


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` followed by its causes and contexts, outermost first."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found and len(found) < 16:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _class_names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def _status_code(error: BaseException) -> int | None:
    """The HTTP status carried by an exception from requests, httpx or huggingface_hub."""
    try:
        response = getattr(error, "response", None)
    except Exception:  # httpx raises when an error has no response attached.
        return None
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _host(error: BaseException) -> str | None:
    """The ``host[:port]`` an exception was trying to reach, when it says."""
    for link in _chain(error):
        try:
            request = getattr(link, "request", None)
        except Exception:  # httpx raises when an error has no request attached.
            request = None
        url = getattr(request, "url", None)
        if url is not None:
            parts = urllib.parse.urlsplit(str(url))
            if parts.hostname:
                return parts.netloc.rsplit("@", 1)[-1]
        match = re.search(r"host='([^']+)'(?:, port=(\d+))?", str(link))
        if match:
            host, port = match.groups()
            return host if port in (None, "80", "443") else f"{host}:{port}"
    return None


def _default_host(source: str) -> str:
    if source == "hf":
        try:
            from huggingface_hub import constants

            return urllib.parse.urlsplit(constants.ENDPOINT).netloc or "huggingface.co"
        except Exception:
            return "huggingface.co"
    return "the Kaggle API"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _describe_failure(error: BaseException, *, source: str) -> str:
    """One line saying why a download failed."""
    chain = _chain(error)
    names = set().union(*(_class_names(link) for link in chain))

    if "OfflineModeIsEnabled" in names:
        return (
            "huggingface_hub is in offline mode (HF_HUB_OFFLINE is set) and the repository "
            "is not in its cache"
        )
    if "IncompleteSnapshotError" in names:
        return "the cached copy is incomplete and the Hub could not be reached to complete it"

    status = next((code for code in map(_status_code, chain) if code is not None), None)
    if "GatedRepoError" in names or (status == 403 and source == "hf"):
        return (
            "access denied (HTTP 403): the repository is gated or private; accept its licence "
            "on huggingface.co and set credentials (HF_TOKEN or `hf auth login`)"
        )
    if "RepositoryNotFoundError" in names:
        return (
            f"HTTP {status or 404} not found: no such repository on the Hub, or it is private "
            "and no valid token was sent (set HF_TOKEN or run `hf auth login`)"
        )
    if "RevisionNotFoundError" in names:
        return "HTTP 404 not found: the repository has no such revision"
    if status in (401, 403) and source == "hf":
        return (
            f"access denied (HTTP {status}): the repository is private or gated; set a token "
            "that may read it (HF_TOKEN or `hf auth login`)"
        )
    if status in (401, 403):
        return (
            f"access denied (HTTP {status}): the model is gated or private; accept its licence "
            "on its Kaggle page and set credentials (KAGGLE_USERNAME and KAGGLE_KEY, or "
            "~/.kaggle/kaggle.json)"
        )
    if status == 404 and source == "hf":
        return "HTTP 404 not found: check the repository name"
    if status == 404:
        return "HTTP 404 not found: check the owner, model, framework, variation and version"
    if status == 429:
        return "HTTP 429 too many requests: the server is rate limiting, try again later"
    if status is not None:
        return f"the server answered HTTP {status}"
    if "UnauthenticatedError" in names:
        return (
            "Kaggle credentials are required (KAGGLE_USERNAME and KAGGLE_KEY, or "
            "~/.kaggle/kaggle.json)"
        )
    if "DataCorruptionError" in names:
        return "the downloaded data failed its checksum; try again"

    if names & _NETWORK_ERROR_NAMES:
        host = _host(error) or _default_host(source)
        text = " ".join(str(link) for link in chain).lower()
        if "ProxyError" in names:
            return (
                f"could not connect to {host} through the HTTP proxy "
                "(check HTTPS_PROXY / HTTP_PROXY)"
            )
        if any(
            marker in text
            for marker in (
                "name or service not known",
                "nameresolution",
                "failed to resolve",
                "temporary failure in name resolution",
                "nodename nor servname",
                "getaddrinfo",
                "no address associated",
            )
        ):
            return (
                f"could not connect to {host}: its name could not be resolved "
                "(no network or no DNS)"
            )
        if "refused" in text:
            return f"could not connect to {host}: connection refused"
        if "timed out" in text or "timeout" in text:
            return f"could not connect to {host}: the connection timed out"
        return f"could not connect to {host}"

    detail = _first_line(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
