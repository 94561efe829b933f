"""Load a local preset as one version, even while another process saves over it.

A save replaces a preset folder as a whole (``staged_directory``), so the folder at the
preset's path is a new one, with a new inode, after every save. :func:`consistent_read`
wraps the public loaders: while one runs, ``resolve_preset`` reports every local folder it
hands out to :func:`watch`, which opens the folder (so its inode cannot be reused) and
notes what the path names. When the load is done (or failed), a path that now names
another folder means a save happened in between and the files read may mix two versions:
the load runs again, this time holding :func:`~textbones.presets.atomic_directory.reading_lock`
of those paths, which waits for a running save and holds back new ones until it is done.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import os
import pathlib
import time
from collections.abc import Callable
from typing import TypeVar

from textbones.presets.atomic_directory import reading_lock

#: How many times a load runs before :class:`PresetChangedError`.
ATTEMPTS = 4

_watches: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "textbones_preset_watches", default=None
)

Function = TypeVar("Function", bound=Callable)


class PresetChangedError(RuntimeError):
    """A preset kept being replaced by saves while it was loaded.

    Example:

    >>> issubclass(PresetChangedError, RuntimeError)
    True
    """


def _identity(path: str | os.PathLike) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


@dataclasses.dataclass
class _Watch:
    requested: str
    requested_identity: tuple[int, int] | None
    folder: pathlib.Path
    folder_identity: tuple[int, int] | None
    descriptor: int | None

    def changed(self) -> bool:
        return (
            _identity(self.requested) != self.requested_identity
            or _identity(self.folder) != self.folder_identity
        )

    def close(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None


def watch(requested: str | os.PathLike, folder: pathlib.Path) -> None:
    """Note that a load reads the local preset ``folder``, found for the path ``requested``.

    ``folder`` is ``requested`` itself, or the hidden copy an interrupted save left. Outside
    a :func:`consistent_read` call this does nothing.

    Example:

    >>> import pathlib, tempfile
    >>> watch(tempfile.mkdtemp(), pathlib.Path(tempfile.mkdtemp())) is None
    True
    """
    records = _watches.get()
    if records is None:
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        status = os.fstat(descriptor)
        folder_identity = (status.st_dev, status.st_ino)
    except OSError:
        descriptor, folder_identity = None, None
    record = _Watch(os.fspath(requested), _identity(requested), folder, folder_identity, descriptor)
    records.append(record)


def consistent_read(function: Function) -> Function:
    """Make a preset loader see one version of every local preset it reads.

    The wrapped loader runs again (up to :data:`ATTEMPTS` times in all) when a save replaced
    a preset it read while it ran, and raises :class:`PresetChangedError` if that keeps
    happening. Loaders called from inside a wrapped one are not wrapped again: the outer
    call checks everything they read.

    Example:

    >>> import pathlib, tempfile
    >>> from textbones.presets.handles import resolve_preset
    >>> @consistent_read
    ... def count_files(preset):
    ...     return len(list(resolve_preset(preset).iterdir()))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text("{}")
    >>> count_files(folder)
    1
    """

    @functools.wraps(function)
    def load_consistently(*args, **kwargs):
        if _watches.get() is not None:
            return function(*args, **kwargs)
        locked: list[str] = []
        failure = None
        for attempt in range(ATTEMPTS):
            records: list[_Watch] = []
            token = _watches.set(records)
            try:
                with contextlib.ExitStack() as stack:
                    held = all([stack.enter_context(reading_lock(path)) for path in locked])
                    try:
                        result = function(*args, **kwargs)
                    except Exception as error:
                        if not any(record.changed() for record in records):
                            raise
                        failure = error
                    else:
                        if not any(record.changed() for record in records):
                            return result
            finally:
                _watches.reset(token)
                for record in records:
                    record.close()
            locked = sorted({record.requested for record in records})
            if not held:
                time.sleep(0.05 * (attempt + 1))
        paths = ", ".join(locked)
        raise PresetChangedError(
            f"The preset at {paths} was replaced by a save while it was being loaded, "
            f"{ATTEMPTS} times in a row: another process keeps saving to it. Load it again "
            "once that process is done saving."
        ) from failure

    return load_consistently
