"""Write a preset directory so that an interrupted write never damages the old one."""

import contextlib
import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def staged_directory(target: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a staging directory that replaces ``target`` only if the block succeeds.

    The staging directory is created beside ``target`` (same file system, so renames are
    atomic) and starts with hard links to (or copies of) the files ``target`` already
    holds, so writers only add or replace what they own. Because those may be hard
    links to the live files, write through :func:`replace_file` (or unlink first),
    never modify a staged file in place. On success the old directory
    is renamed aside, the staged one renamed into place, and the old one deleted; on any
    exception, including ``KeyboardInterrupt``, the staging directory is removed and
    ``target`` is untouched.

    Example:

    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "preset"
    >>> with staged_directory(target) as staging:
    ...     _ = (staging / "config.json").write_text("{}")
    >>> sorted(path.name for path in target.iterdir())
    ['config.json']
    """
    target = pathlib.Path(target).expanduser().absolute()
    if target.exists() and not target.is_dir():
        raise FileExistsError(
            f"Cannot save a preset to {target}: it exists and is not a directory. "
            "Choose another path or remove that file."
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(
            tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent)
        )
    except OSError as error:
        raise OSError(
            f"Cannot save a preset to {target}: {error.strerror or error}. "
            "Choose a directory you can write to."
        ) from None
    try:
        if target.exists():
            _mirror(target, staging)
        yield staging
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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


def _mirror(source: pathlib.Path, destination: pathlib.Path) -> None:
    for path in source.rglob("*"):
        relative = path.relative_to(source)
        if path.is_dir():
            (destination / relative).mkdir(parents=True, exist_ok=True)
            continue
        (destination / relative).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination / relative)
        except OSError:
            shutil.copy2(path, destination / relative)


def _swap_into_place(staging: pathlib.Path, target: pathlib.Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    retired = pathlib.Path(
        tempfile.mkdtemp(prefix=f".{target.name}.previous-", dir=target.parent)
    )
    retired.rmdir()
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
