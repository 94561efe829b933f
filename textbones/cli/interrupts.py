"""Ctrl-C for the ``textbones`` command, remembered even where native code drops it.

Python turns SIGINT into a ``KeyboardInterrupt`` raised wherever the main thread happens
to be. When that is inside native code (NumPy converting a JAX array, an XLA call), the
exception can be lost there and training simply goes on. So the command's handler also
records the request, and long-running steps ask :func:`raise_if_requested` at points
where stopping is safe (after each training step, before saving).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

_requested = threading.Event()


def requested() -> bool:
    """Whether Ctrl-C was pressed while :func:`catching_interrupts` was active.

    Example:

    >>> requested()
    False
    """
    return _requested.is_set()


def raise_if_requested() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed (and perhaps lost on the way).

    Example:

    >>> raise_if_requested()  # nothing pressed: returns
    """
    if _requested.is_set():
        raise KeyboardInterrupt


def _on_sigint(signum, frame) -> None:
    _requested.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def catching_interrupts() -> Iterator[None]:
    """Within the block, SIGINT raises ``KeyboardInterrupt`` as usual and is also
    remembered for :func:`requested`; the previous handler (and an empty record) is
    restored afterwards.
    Outside the main thread (where handlers can't be set), or where SIGINT is ignored, it
    only clears the record.

    Example:

    >>> with catching_interrupts():
    ...     requested()
    False
    """
    _requested.clear()
    previous, previous_hook = None, sys.unraisablehook

    def quiet_lost_interrupt(unraisable) -> None:
        # A Ctrl-C that landed in a finalizer (``__del__``, a weakref callback) can't
        # propagate; it is recorded, so no "Exception ignored in ..." report is needed.
        if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and _requested.is_set()):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_lost_interrupt
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # keep an ignored Ctrl-C ignored
        try:
            previous = signal.signal(signal.SIGINT, _on_sigint)
        except ValueError:  # not the main thread
            previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
        _requested.clear()
