"""Notebook progress bars for downloads and scans, drawn without terminal control codes.

Progress (:class:`NotebookProgress`): an HTML ``<progress>`` element updated in place through an
IPython display handle. Why not rich's Jupyter mode or ``tqdm.auto``: both need ipywidgets (not
installed with Jupyter, and without it rich warns and tqdm falls back to ``\\r`` text in the cell),
and widget state is not saved in an executed notebook; a display handle needs only IPython, shows
no terminal control codes, and the final state stays in the saved notebook. Display updates are
sent only from the thread that created the bar (the cell's thread: ipykernel routes output by the
executing cell), at most every :data:`REFRESH` seconds; engine threads only record counts.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from .sizes import human_size

if TYPE_CHECKING:  # annotations only: the engine never imports this module
    from .transfer.engine import FileResult

MAX_TEXT = 200      # characters of any one text cell
REFRESH = 0.25      # seconds between progress redraws


def _t(text: object, limit: int = MAX_TEXT) -> str:
    """Escaped, shortened text."""
    s = "" if text is None else str(text)
    if len(s) > limit:
        s = s[:limit - 1] + "…"
    return html.escape(s, quote=True)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a ZMQ shell: JupyterLab, Notebook, VS Code, Colab), not terminal IPython."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    get_ipython = getattr(sys.modules["IPython"], "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return shell is not None and any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__)


def in_cell() -> bool:
    """True in a Jupyter kernel's main thread, where cells run and whose output goes to the running cell.

    Why the thread matters: ipykernel routes output by the executing cell's context; a bar drawn from
    a worker thread (a batch run on a private loop) may land in another cell or nowhere, so none is drawn.
    """
    return threading.current_thread() is threading.main_thread() and in_notebook()


class _Shown:
    """A display object with an HTML and a plain-text form (IPython's ``HTML`` shows its class name as text)."""

    def __init__(self, html_text: str, plain: str) -> None:
        self._html, self._plain = html_text, plain

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._plain


class NotebookProgress:
    """A :class:`~doi2data.transfer.engine.ProgressSink` drawn as an HTML ``<progress>`` bar in the cell."""

    def __init__(self, label: str = "download") -> None:
        self._label = label
        self._lock = threading.Lock()
        self._owner = threading.get_ident()
        self._files = self._done = self._total = self._bytes = self._failed = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._handle: Any = None
        self._closed = False

    # ProgressSink: called from the event loop and engine threads; only the owner thread draws
    def start(self, files: int, total_bytes: int) -> None:
        with self._lock:
            self._files, self._total = files, total_bytes
        self.refresh(force=True)

    def file_started(self, path: str, size: int | None) -> None:
        pass

    def advance(self, path: str, nbytes: int) -> None:
        with self._lock:
            self._bytes += nbytes
        self.refresh()

    def file_done(self, result: FileResult) -> None:
        with self._lock:
            self._done += 1
            self._failed += result.status == "failed"
        self.refresh()

    def html(self) -> str:
        with self._lock:
            files, done, total, got, failed = self._files, self._done, self._total, self._bytes, self._failed
        elapsed = max(time.monotonic() - self._started, 1e-3)
        rate = human_size(int(got / elapsed)) + "/s"
        bar = f'<progress value="{min(got, total)}" max="{total}" style="width:40%"></progress>' if total else \
            f'<progress value="{done}" max="{max(files, 1)}" style="width:40%"></progress>'
        state = "done" if self._closed else rate
        fail = f", <b>{failed} failed</b>" if failed else ""
        return (f'<div class="d2d-progress">{_t(self._label)}: {bar} {done}/{files} files{fail}, '
                f"{_t(human_size(got))}{' of ' + _t(human_size(total)) if total else ''} · {_t(state)}</div>")

    def refresh(self, force: bool = False) -> None:
        """Redraw (from the owner thread only, at most every :data:`REFRESH` s unless ``force``)."""
        if threading.get_ident() != self._owner:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REFRESH:
            return
        self._drawn = now
        from IPython.display import display

        shown = _Shown(self.html(), self.text())
        if self._handle is None:
            self._handle = display(shown, display_id=True)
        else:
            self._handle.update(shown)

    def text(self) -> str:
        """The same state as plain text (what a text-only notebook viewer shows)."""
        with self._lock:
            files, done, total, got, failed = self._files, self._done, self._total, self._bytes, self._failed
        size = human_size(got) + (f" of {human_size(total)}" if total else "")
        fail = f", {failed} failed" if failed else ""
        return f"{self._label}: {done}/{files} files{fail}, {size}{', done' if self._closed else ''}"

    def stop(self) -> None:
        """Final state (called by whoever created the bar)."""
        self._closed = True
        if self._handle is not None or self._files:
            self.refresh(force=True)



class ActivityBar:
    """An indeterminate bar for work whose end is not known in advance (a frame scan): requests and bytes so far.

    :meth:`poll` is called by the caller's thread while the work runs elsewhere (see
    :func:`doi2data.inplace.frames`); like :class:`NotebookProgress` it draws only from its own thread.
    """

    def __init__(self, label: str) -> None:
        self._label = label
        self._owner = threading.get_ident()
        self._handle: Any = None
        self._drawn = 0.0

    def _draw(self, html_text: str, plain: str) -> None:
        if threading.get_ident() != self._owner:
            return
        from IPython.display import display

        shown = _Shown(f'<div class="d2d-progress">{html_text}</div>', plain)
        if self._handle is None:
            self._handle = display(shown, display_id=True)
        else:
            self._handle.update(shown)

    def poll(self, requests: int, nbytes: int) -> None:
        now = time.monotonic()
        if now - self._drawn < REFRESH:
            return
        self._drawn = now
        state = f"{requests:,} requests, {human_size(nbytes)} received"
        bar = '<progress style="width:20%"></progress>'
        self._draw(f"{_t(self._label)}: {bar} {_t(state)}", f"{self._label}: {state}")

    def stop(self, summary: str) -> None:
        self._draw(f"{_t(self._label)}: {_t(summary)}", f"{self._label}: {summary}")


__all__ = ["ActivityBar", "NotebookProgress", "in_cell", "in_notebook"]
