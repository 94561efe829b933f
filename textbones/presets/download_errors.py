"""Why a preset download failed, said in one line, and the error that carries it.

``kagglehub`` and ``huggingface_hub`` fail in many ways (no network, proxies, HTTP 401, 403,
404, rate limits, offline mode, corrupt data), each with its own exception types from
``requests``, ``httpx`` or themselves. :func:`describe_failure` reduces any of them to one
readable cause and :func:`failure_message` adds how to work without a network.
"""

from __future__ import annotations

import re
import urllib.parse


class PresetDownloadError(OSError):
    """A preset could not be downloaded.

    Raised by :func:`resolve_preset` in place of whatever ``kagglehub`` or
    ``huggingface_hub`` raised (the original error stays reachable as ``__context__`` but is
    left out of the printed traceback). The message names the handle, the cause in one line,
    and the ways to work without a network.

    Attributes:
        handle: The handle that was being resolved, as given by the caller.
        reason: The one-line cause, e.g. ``"HTTP 404 not found: ..."``.

    Example:

    >>> error = PresetDownloadError("Could not download ...", handle="hf://a/b", reason="HTTP 404")
    >>> isinstance(error, OSError), error.handle, error.reason
    (True, 'hf://a/b', 'HTTP 404')
    """

    def __init__(self, message: str, *, handle: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.handle = handle
        self.reason = reason


def failure_message(
    requested: str,
    *,
    reason: str,
    source: str,
    kaggle_handle: str | None = None,
    versioned: bool = True,
) -> str:
    """The text of a :class:`PresetDownloadError`: what failed, why, and how to work offline.

    Example:

    >>> print(failure_message("hf://org/name", reason="HTTP 404", source="hf").splitlines()[0])
    Could not download the preset 'hf://org/name'.
    """
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
        "  - `Backbone.from_preset(<built-in name>, load_weights=False)` needs no download at "
        "all: the configs of the built-in presets ship with textbones (so does a task's, with "
        "`load_weights=False, preprocessor=None`; a tokenizer needs its vocabulary file)."
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


def describe_failure(error: BaseException, *, source: str) -> str:
    """One line saying why a download failed.

    Example:

    >>> describe_failure(ConnectionError("Connection refused"), source="kaggle")[:22]
    'could not connect to t'
    """
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
