"""Figures drawn once by the grader, shown again in the kernels it grades.

A graded run draws the same figures in submission after submission: the same pictures of the
data, and, for most students, the same learning curves as the reference's. Drawing one takes
a tenth of a second or more, much of a short notebook's time. The grader records the reference's
figures along with its Keras calls (``replay.py``), in the folder ``COURSE_REPLAY_RECORD_DIR``
names; in the kernels it grades, ``COURSE_REPLAY_DIR`` names that folder (read-only), and a
helper of ``plotting`` whose figure is there publishes the recorded output instead of drawing it:
the same display message, byte for byte, that drawing it would have sent.

The key is the sha256 of everything the figure depends on: the helper, every value it draws
(arrays by their bytes), Matplotlib's settings (``rcParams``), the inline backend's settings
and the formatters that turn a figure into output, and the versions of everything that draws
it. A figure the key cannot describe (an argument that is not plain data, a backend other than
the inline one, another figure still open, formatters the key cannot describe) is drawn as
usual. As with Keras calls, an entry is named and encrypted by its key, so a kernel can read
only the figures it would draw itself, and one whose content does not match its checksum is
not used. Without either variable, as on a student's machine, every figure is drawn.

The key covers what a notebook changes through Matplotlib's interface (its settings, the
formatters); a kernel that reaches into Matplotlib's internals otherwise (say, its list of
fonts) may be shown the recorded figure instead of its own, which changes its own output only,
never a score (figures are not graded).

A kernel can still ask whether the reference drew a figure it describes: the name of its entry
exists or not. A helper therefore records only figures whose values no one could guess one
guess at a time (pictures, learning curves of floats); ``plot_confusion``, a few counts of
predictions, is always drawn.
"""
import functools
import hashlib
import json
import os
import re
from pathlib import Path

from . import replay
from .whole_files import write_whole

FORMAT = 1
SUFFIX = ".figure"
INLINE = ("inline", "module://matplotlib_inline.backend_inline")  # its names, new and old
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # a repr that names an object, not a value
shown = {"replayed": 0, "drawn": 0, "recorded": 0}  # this process's figures, for tests


class Figure:
    """One figure a helper of ``plotting`` is about to draw: ``Figure(helper, values)`` where
    ``values`` is everything the helper will draw (plain data: numbers, strings, arrays, lists,
    tuples, dicts). Call :meth:`replayed` before drawing and :meth:`show` instead of
    ``plt.show()``."""

    def __init__(self, helper, values):
        self.replay_from = os.environ.get(replay.FOLDER_VARIABLE)
        self.record_to = os.environ.get(replay.RECORD_VARIABLE)
        self.material = None
        if self.replay_from or self.record_to:
            try:
                self.material = key(helper, values)
            except Exception:  # noqa: BLE001 - replay.Undescribed, or anything odd: the figure is drawn
                self.material = None

    def replayed(self):
        """Publish the recorded output of this figure, where there is a sound one; whether it did."""
        if not (self.material and self.replay_from):
            return False
        bundle = _read(Path(self.replay_from), self.material)
        if bundle is None:
            return False
        from IPython.display import publish_display_data

        publish_display_data(data=bundle["data"], metadata=bundle["metadata"])
        shown["replayed"] += 1
        return True

    def show(self):
        """``plt.show()``; where the grader records, the output it published is kept as well."""
        import matplotlib.pyplot as plt

        shown["drawn"] += 1
        if not (self.material and self.record_to):
            plt.show()
            return
        from IPython import get_ipython

        publisher = get_ipython().display_pub
        published = []
        publish, patched = publisher.publish, vars(publisher).get("publish")

        def keep(data, metadata=None, **kwargs):
            published.append((data, metadata, kwargs))
            return publish(data, metadata, **kwargs)

        publisher.publish = keep
        try:
            plt.show()
        finally:
            if patched is None:
                del publisher.publish  # the class's method again
            else:
                publisher.publish = patched
        if len(published) == 1 and not published[0][2] and _plain_bundle(*published[0][:2]):
            try:
                _store(Path(self.record_to), self.material, published[0][0], published[0][1] or {})
                shown["recorded"] += 1
            except Exception:  # noqa: BLE001 - a figure not kept is drawn by every kernel: slower, never wrong
                pass


def key(helper, values):
    """The sha256 (bytes) of the figure ``helper`` draws from ``values`` in this kernel, as it is
    set up now; raises :class:`replay.Undescribed` where the figure would not be drawn exactly
    as the key says."""
    import matplotlib
    import matplotlib.pyplot as plt
    from IPython import get_ipython
    from matplotlib_inline.config import InlineBackend

    shell = get_ipython()
    if shell is None or matplotlib.get_backend() not in INLINE:
        raise replay.Undescribed("not the inline backend of a kernel")
    if plt.get_fignums():  # plt.show() would show those too
        raise replay.Undescribed("another figure is open")
    backend = InlineBackend.instance()
    if not backend.close_figures:
        raise replay.Undescribed("figures stay open after they are shown")
    digest = hashlib.sha256()
    description = {
        "format": FORMAT, "helper": helper,
        "values": replay._describe(values, digest),
        "versions": _versions(),
        "settings": _text(sorted(dict.items(matplotlib.rcParams))),
        "inline": _text([backend.figure_formats, backend.print_figure_kwargs]),
        "formatters": _formatters(shell),
    }
    digest.update(json.dumps(description, sort_keys=True, default=replay._refuse).encode("utf-8"))
    return digest.digest()


def _versions():
    """The versions of the modules that draw and send a figure, as this kernel imported them."""
    import IPython
    import matplotlib
    import matplotlib_inline
    import numpy
    import PIL

    return [getattr(module, "__version__", "-") for module in (matplotlib, IPython, matplotlib_inline, PIL, numpy)]


def _text(value):
    """``repr(value)``, for settings whose values are all printed by what they hold."""
    text = repr(value)
    if ADDRESS.search(text):
        raise replay.Undescribed("a setting that is an object, not a value")
    return text


def _formatters(shell):
    """What turns a figure into output: for each active formatter that has a printer for
    figures, the printer (a ``functools.partial`` of IPython's) and its arguments."""
    from matplotlib.figure import Figure as MatplotlibFigure

    formatter = shell.display_formatter
    if _printer(formatter.ipython_display_formatter, MatplotlibFigure) is not None:
        raise replay.Undescribed("figures are shown by an IPython display formatter")
    described = []
    for mime in sorted(formatter.active_types):
        printer = _printer(formatter.formatters.get(mime), MatplotlibFigure)
        if printer is None:
            continue
        if not isinstance(printer, functools.partial):
            raise replay.Undescribed(f"a printer for {mime} that is not IPython's")
        function = printer.func
        described.append([mime, function.__module__, function.__qualname__,
                          _text(list(printer.args)), _text(sorted(printer.keywords.items()))])
    return described


def _printer(formatter, kind):
    if formatter is None or not getattr(formatter, "enabled", True):
        return None
    try:
        return formatter.lookup_by_type(kind)
    except KeyError:
        return None


def _plain_bundle(data, metadata):
    return (isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
            and (metadata is None or isinstance(metadata, dict)))


# --------------------------------------------------------------------------------------------
# Entries: one file each, <name>.figure, encrypted by the key (replay.entry_name, replay._crypt)
# --------------------------------------------------------------------------------------------

def _store(folder, material, data, metadata):
    payload = json.dumps({"format": FORMAT, "data": data, "metadata": metadata}).encode("utf-8")
    content = replay._crypt(hashlib.sha256(payload).digest() + payload, material, b"figure")
    folder.mkdir(parents=True, exist_ok=True)
    write_whole(folder / f"{replay.entry_name(material)}{SUFFIX}", lambda out: out.write(content))


def _read(folder, material):
    """The recorded output of ``material`` in ``folder``: {"data", "metadata"}, or None where
    there is no sound entry."""
    try:
        content = replay._crypt((folder / f"{replay.entry_name(material)}{SUFFIX}").read_bytes(), material, b"figure")
        checksum, payload = content[:32], content[32:]
        if hashlib.sha256(payload).digest() != checksum:
            return None
        bundle = json.loads(payload)
        if bundle.get("format") != FORMAT or not _plain_bundle(bundle["data"], bundle["metadata"]):
            return None
        return bundle
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
