"""Write a preset folder so that no interruption, crash or concurrent save damages it.

A save (:func:`staged_directory`) writes a complete new folder beside the target, then
puts it in the target's place in one step: an atomic exchange of the two folders where the
platform has one (``renameat2(RENAME_EXCHANGE)`` on Linux, ``renamex_np(RENAME_SWAP)`` on
macOS), else two renames. Around that, beside the target ``NAME``:

* ``.NAME.lock`` is locked (``flock``) for the whole save, so saves of one target run one
  after the other and a save knows every hidden folder it finds belongs to a dead one;
* ``.NAME.staging-XXXXXXXX`` is the folder being written;
* ``.NAME.previous-XXXXXXXX`` holds the old preset between the two renames of the
  fallback. If a crash leaves only it, :func:`interrupted_save_copy` (used by
  ``resolve_preset``) brings it back, and so does the next save.

The next save of the same target removes what killed saves left behind. Loaders that must
see one version while a save may run use :func:`reading_lock`
(see ``textbones.presets.consistent_read``).

Test hook: when the environment variable ``TEXTBONES_TEST_KILL_SAVE_AT`` names one of
:data:`SAVE_STEPS`, a save ``SIGKILL``s its own process on reaching that step, so tests can
stop it between the steps of the swap. Nothing else reads this variable.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import pathlib
import re
import secrets
import shutil
import signal
import sys
from collections.abc import Callable, Collection, Iterator

from textbones.presets.preset_layout import components, owner, present_components, stale_components
from textbones.presets.save_target import check_save_target

try:
    import fcntl
except ImportError:  # Windows: saves still stage and swap, but do not lock or clean up.
    fcntl = None

#: The steps of a save, in order, as named by the test hook. ``retired`` (the old preset
#: renamed aside, nothing at the target) happens only without an atomic exchange.
SAVE_STEPS = ("locked", "cleaned", "staged", "written", "retired", "swapped", "done")
KILL_AT_VARIABLE = "TEXTBONES_TEST_KILL_SAVE_AT"

_STAGING = "staging"
_PREVIOUS = "previous"


def _step(name: str) -> None:
    if os.environ.get(KILL_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _real_target(target: str | os.PathLike) -> pathlib.Path:
    """The folder a save must replace: symbolic links (to the folder too) resolved."""
    return pathlib.Path(os.path.realpath(os.path.expanduser(os.fspath(target))))


def _hidden_path(target: pathlib.Path, kind: str) -> pathlib.Path:
    return target.parent / f".{target.name}.{kind}-{secrets.token_hex(4)}"


def _hidden_folders(target: pathlib.Path, kind: str) -> list[pathlib.Path]:
    """The ``.NAME.<kind>-XXXXXXXX`` folders beside ``target``."""
    pattern = re.compile(re.escape(f".{target.name}.{kind}-") + "[0-9a-f]{8}")
    try:
        with os.scandir(target.parent) as entries:
            names = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return sorted(target.parent / name for name in names if pattern.fullmatch(name))


def _new_hidden_folder(target: pathlib.Path, kind: str) -> pathlib.Path:
    """A new empty folder beside ``target``, with the mode the umask gives any folder."""
    while True:
        path = _hidden_path(target, kind)
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue


# --------------------------------------------------------------------------------------------
# The lock beside a target


def _lock_path(target: pathlib.Path) -> pathlib.Path:
    return target.parent / f".{target.name}.lock"


def _open_lock(path: pathlib.Path, required: bool) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        if required:
            raise
    try:  # A folder this process may not write to: lock an existing file, if any.
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None


def _is_current(descriptor: int, path: pathlib.Path) -> bool:
    """Whether ``path`` still names the file open as ``descriptor`` (a releaser unlinks it)."""
    try:
        held, named = os.fstat(descriptor), os.stat(path)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


@contextlib.contextmanager
def _locked(
    target: pathlib.Path, *, shared: bool = False, blocking: bool = True, required: bool = False
) -> Iterator[bool]:
    """Hold the lock of ``target``; yields whether it is held.

    It is not held when the platform has no ``flock``, when ``blocking`` is false and
    another process holds it, or (unless ``required``) when the lock file cannot be made.
    The last holder to leave removes the lock file; whoever then gets the lock of the removed
    file sees that it is no longer the current one and tries again.
    """
    if fcntl is None:
        yield False
        return
    path = _lock_path(target)
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB)
    while True:
        descriptor = _open_lock(path, required)
        if descriptor is None:
            yield False
            return
        try:
            fcntl.flock(descriptor, mode)
        except BlockingIOError:
            os.close(descriptor)
            yield False
            return
        if _is_current(descriptor, path):
            break
        os.close(descriptor)
    try:
        yield True
    finally:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _is_current(descriptor, path):
                path.unlink()
        except OSError:
            pass  # Another holder remains (it removes the file), or the folder is read-only.
        os.close(descriptor)


@contextlib.contextmanager
def reading_lock(directory: str | os.PathLike) -> Iterator[bool]:
    """Keep saves from replacing ``directory`` while the block reads it; yields whether they are.

    Waits for a save in progress to finish. Yields ``False`` (and reads unprotected) where
    the lock cannot be taken, e.g. beside a folder this process may not write to.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "preset"
    >>> with reading_lock(folder) as held:
    ...     print(held, (folder.parent / ".preset.lock").exists())
    True True
    >>> (folder.parent / ".preset.lock").exists()
    False
    """
    with _locked(_real_target(directory), shared=True) as held:
        yield held


# --------------------------------------------------------------------------------------------
# Recovery and clean-up of what killed saves left


def interrupted_save_copy(path: str | os.PathLike) -> pathlib.Path | None:
    """Where the preset at ``path`` is when a killed save left it only in its hidden copy.

    When nothing is at ``path`` but exactly one ``.NAME.previous-*`` folder is beside it (a
    save was killed between its two renames), the copy is renamed back to ``path`` and
    ``path`` is returned; while a save of ``path`` runs, the copy itself is returned. In
    every other case: ``None``.

    Example:

    >>> import pathlib, tempfile
    >>> parent = pathlib.Path(tempfile.mkdtemp())
    >>> (parent / ".preset.previous-0123abcd").mkdir()
    >>> interrupted_save_copy(parent / "preset") == parent / "preset"
    True
    >>> sorted(path.name for path in parent.iterdir())
    ['preset']
    """
    target = _real_target(path)
    if os.path.lexists(target):
        return None
    copies = _hidden_folders(target, _PREVIOUS)
    if len(copies) != 1:
        return None
    with _locked(target, blocking=False) as held:
        if held and not os.path.lexists(target) and _hidden_folders(target, _PREVIOUS) == copies:
            try:
                os.rename(copies[0], target)
                return pathlib.Path(os.path.expanduser(os.fspath(path)))
            except OSError:
                pass
    return copies[0] if copies[0].is_dir() else None


def _recover_and_clean(target: pathlib.Path) -> None:
    """Under the save lock: bring back a preset left in its hidden copy, then remove the
    folders killed saves left (all of them are dead, as this save holds the lock)."""
    copies = _hidden_folders(target, _PREVIOUS)
    if not os.path.lexists(target) and len(copies) == 1:
        os.rename(copies[0], target)
    leftovers = _hidden_folders(target, _STAGING)
    if os.path.lexists(target):
        leftovers += _hidden_folders(target, _PREVIOUS)
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The save


@contextlib.contextmanager
def staged_directory(
    target: str | os.PathLike, writes: Collection[str] = (), *, whole: bool = False
) -> Iterator[pathlib.Path]:
    """Yield a staging folder that replaces ``target`` only if the block succeeds.

    ``writes`` names the components (see ``textbones.presets.preset_layout``) the block
    writes, and ``whole`` says they make a whole model. The staging folder starts with
    (hard links to) the files of ``target`` that the save keeps:

    * saving a whole (a task), saving over a whole, or saving over files of the other
      format (a Keras preset over a ``transformers`` checkpoint or back) keeps no old
      preset file: the folder then holds exactly what was saved;
    * otherwise the components written replace their old files, the old files of the
      components that need them are dropped (a new tokenizer drops the old
      ``preprocessor.json``, a new backbone the old task files), and other components
      are kept (a tokenizer saved beside a backbone);
    * files of no component (a ``README.md``, a ``.gitattributes``) are always kept,
      symbolic links as links.

    Write staged files through :func:`replace_file` (kept files may be hard links to the
    live ones). On success the staging folder takes the place of ``target`` atomically; on
    any exception, including ``KeyboardInterrupt``, it is removed and ``target`` is
    untouched. ``target`` must be missing, empty or a preset (never a folder of other
    files); a symbolic link to a folder stays a link, and the folder it points to is
    replaced. New folders get the mode the umask gives.

    Example:

    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "preset"
    >>> with staged_directory(target, ["tokenizer"]) as staging:
    ...     _ = (staging / "tokenizer.json").write_text('{"registered_name": "x"}')
    >>> sorted(path.name for path in target.iterdir())
    ['tokenizer.json']
    """
    check_save_target(target)
    shown = pathlib.Path(target).expanduser().absolute()
    target = _real_target(target)
    table = components()
    unknown = sorted(set(writes) - set(table))
    if unknown:
        raise ValueError(f"Unknown preset components {unknown}: known are {sorted(table)}.")
    with contextlib.ExitStack() as stack:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            held = stack.enter_context(_locked(target, required=True))
        except OSError as error:
            raise OSError(
                f"Cannot save a preset to {shown}: {error.strerror or error}. "
                "Choose a directory you can write to."
            ) from None
        _step("locked")
        if held:
            _recover_and_clean(target)
        _step("cleaned")
        stale = stale_components(present_components(target), writes, whole)
        _refuse_linked_folders(target, [table[name] for name in writes], shown)
        staging = _new_hidden_folder(target, _STAGING)
        try:
            if target.is_dir():
                _mirror(target, staging, lambda part: part is not None and part.name in stale)
            _step("staged")
            yield staging
            _step("written")
            _swap_into_place(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if held:
            _recover_and_clean(target)
        _step("done")


def _refuse_linked_folders(target: pathlib.Path, written, shown: pathlib.Path) -> None:
    """A folder the save writes into must not lie under a symbolic link: the write would
    change the files the link points to, outside the preset."""
    for part in written:
        for folder in part.folders():
            steps = folder.split("/")
            for depth in range(1, len(steps)):
                above = target.joinpath(*steps[:depth])
                if above.is_symlink():
                    raise ValueError(
                        f"Will not save to {shown}: its {'/'.join(steps[:depth])} is a symbolic "
                        f"link (to {os.readlink(above)}), and writing {folder}/ would change "
                        "files outside the preset. Replace the link by a folder, or save to "
                        "another folder."
                    )


def replace_file(path: pathlib.Path) -> pathlib.Path:
    """Unlink ``path`` if present and return it, so the next write makes a new file.

    Inside a staging directory this keeps a write from reaching the live preset's file
    through a shared hard link.

    Example:

    >>> import os, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "live.txt").write_text("old")
    >>> os.link(folder / "live.txt", folder / "staged.txt")
    >>> _ = replace_file(folder / "staged.txt").write_text("new")
    >>> (folder / "live.txt").read_text()
    'old'
    """
    path.unlink(missing_ok=True)
    return path


def _mirror(source: pathlib.Path, destination: pathlib.Path, drops: Callable) -> None:
    """Hard-link (or copy) into ``destination`` every entry of ``source`` whose owning
    component ``drops`` does not drop. Symbolic links are recreated as links, never
    followed; a folder that had entries and keeps none is left out."""

    def mirror_folder(relative: str) -> bool:
        """Mirror one folder; whether it keeps anything (or was empty to begin with)."""
        with os.scandir(source / relative) as found:
            entries = sorted(found, key=lambda entry: entry.name)
        kept = False
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            if drops(owner(source, path)):
                continue
            copy = destination / path
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), copy)
            elif entry.is_dir(follow_symlinks=False):
                copy.mkdir()
                if not mirror_folder(path):
                    copy.rmdir()
                    continue
            else:
                try:
                    os.link(entry.path, copy, follow_symlinks=False)
                except OSError:
                    shutil.copy2(entry.path, copy, follow_symlinks=False)
            kept = True
        return kept or not entries

    mirror_folder("")


def _swap_into_place(staging: pathlib.Path, target: pathlib.Path) -> None:
    if not os.path.lexists(target):
        os.rename(staging, target)
        _step("swapped")
        return
    if _atomic_exchange(staging, target):
        _step("swapped")
        shutil.rmtree(staging, ignore_errors=True)  # It now holds the old preset.
        return
    retired = _hidden_path(target, _PREVIOUS)
    os.rename(target, retired)
    _step("retired")
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(retired, target)
        raise
    _step("swapped")
    # Renamed first: a copy named "previous" would be brought back if the target went away.
    garbage = _hidden_path(target, _STAGING)
    os.rename(retired, garbage)
    shutil.rmtree(garbage, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Atomic exchange of two folders

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # Linux, renameat2(2)
_RENAME_SWAP = 2  # macOS, renamex_np(2)
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


@functools.cache
def _exchange_function():
    """``exchange(first: bytes, second: bytes) -> (result, errno)`` from the C library, or
    ``None`` where the platform has no atomic exchange."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if sys.platform.startswith("linux"):
            function = libc.renameat2
            path, flags = ctypes.c_char_p, ctypes.c_uint
            function.argtypes = [ctypes.c_int, path, ctypes.c_int, path, flags]

            def arguments(first, second):
                return _AT_FDCWD, first, _AT_FDCWD, second, _RENAME_EXCHANGE

        elif sys.platform == "darwin":
            function = libc.renamex_np
            function.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]

            def arguments(first, second):
                return first, second, _RENAME_SWAP

        else:
            return None
        function.restype = ctypes.c_int
    except (OSError, AttributeError, TypeError):
        return None

    def exchange(first: bytes, second: bytes) -> tuple[int, int]:
        result = function(*arguments(first, second))
        return result, ctypes.get_errno() if result != 0 else 0

    return exchange


def _atomic_exchange(first: pathlib.Path, second: pathlib.Path) -> bool:
    """Exchange two existing paths in one step; ``False`` where that is not possible here."""
    exchange = _exchange_function()
    if exchange is None:
        return False
    result, error = exchange(os.fsencode(first), os.fsencode(second))
    if result == 0:
        return True
    if error in _UNSUPPORTED:
        return False
    raise OSError(error, os.strerror(error), str(first), None, str(second))
