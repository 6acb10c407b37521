"""Checks shared by every assignment's tests: comparisons, messages, stand-ins, stored values.

Each assignment's ``problem_unittests.py`` builds its tests from these. A failing check raises
:class:`CheckFailed`, an ``AssertionError`` whose message starts with the function's name and says
what was expected and what came back; nothing here knows the answer to any graded function.

Messages never print an expected value: a wrong number is shown as the value received, where it
is and how far it is from the expected one (the nearest power of ten). The expected values of the
visible examples are public (``expected_outputs.json``), those of the hidden tests are not, and
the same checks serve both.
"""
import copy
import inspect
import json
import linecache
import math
import sys
import sysconfig
import textwrap
import tracemalloc
import traceback
import warnings
from pathlib import Path

import numpy as np

# Tolerances of every numeric comparison below (relative, absolute), as numpy.allclose uses them.
RTOL = 1e-5
ATOL = 1e-8


# --------------------------------------------------------------------------------------------
# Failures, and how a notebook shows them
# --------------------------------------------------------------------------------------------

class CheckFailed(AssertionError):
    """A failed check: an ``AssertionError`` (what nbgrader and the grader count as a failed
    test) that a notebook shows in a few lines instead of a traceback through the tests.

    IPython shows an exception that has ``_render_traceback_`` with the lines that method
    returns: here the message, and the line of the student's code involved (where it raised an
    error, or the line it returned from), at most :attr:`MAX_LINES` lines in all.
    """

    MAX_LINES = 10
    WIDTH = 100

    def __init__(self, message, where=None, shown=None):
        super().__init__(message)
        self.where = where                      # (file name, line number, verb) or None
        self.shown = shown or message           # the message as the notebook shows it

    def _render_traceback_(self):
        lines = textwrap.wrap(self.shown, self.WIDTH, subsequent_indent="  ",
                              break_long_words=False, break_on_hyphens=False) or [""]
        place = _place(self.where) if self.where else []
        if len(lines) > self.MAX_LINES - len(place):
            lines = lines[:self.MAX_LINES - len(place)]
            lines[-1] += " ..."
        lines[0] = f"\x1b[0;31m{type(self).__name__}\x1b[0m: {lines[0]}"
        return lines + place


def _cell_name(filename):
    """"Cell In[12]" for the file IPython compiled a notebook cell into, else the file's name."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        named = shell.compile.format_code_name(filename) if shell is not None else None
    except Exception:  # noqa: BLE001 - outside IPython, or another IPython: fall back on the name
        named = None
    return " ".join(named) if named else Path(filename).name


def _place(where):
    """The lines that point at the student's code: where it is, then the line itself."""
    filename, lineno, verb = where
    code = linecache.getline(filename, lineno).strip()
    lines = [f"\x1b[0;32m--> {verb} at {_cell_name(filename)}, line {lineno}\x1b[0m"]
    if code:
        lines.append(f"    {code[:CheckFailed.WIDTH]}")
    return lines


# The line each function under test last returned from: {function name: (file, line, verb)}.
# A failure found after the call (a wrong value) points there; it is used once.
_returned = {}


def fail(function, message):
    """Stop the test with a message that starts with the function's name."""
    where = _returned.pop(function, None)
    _returned.clear()
    raise CheckFailed(f"{function}: {message}", where) from None


def passed(function, check="visible tests"):
    _returned.clear()
    print(f"{function}: {check} passed.")


def _elsewhere(impl):
    """Whether ``impl`` is the grader's view of an object in another process (whose attributes
    are not to be read here)."""
    return getattr(type(impl), "course_stand_ins", None) is not None


def _code_of(impl):
    """The code object of the student's function or method ``impl``, if it has one here."""
    if inspect.isfunction(impl):
        impl = vars(impl).get("course_target", impl)  # the function call_as wraps
    if _elsewhere(impl) or not (inspect.isfunction(impl) or inspect.ismethod(impl)):
        return None
    code = getattr(getattr(impl, "__func__", impl), "__code__", None)
    return code if inspect.iscode(code) else None


def _call_noting_return(name, impl, args, kwargs):
    """``impl(*args, **kwargs)``, noting the line its own frame returns from (a profile hook that
    looks at return events only, removed afterwards)."""
    code = _code_of(impl)
    if code is None:
        return impl(*args, **kwargs)

    def watch(frame, event, arg):
        if event == "return" and frame.f_code is code:
            _returned[name] = (code.co_filename, frame.f_lineno, f"your {name} returned")

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        return impl(*args, **kwargs)
    except BaseException:
        _returned.pop(name, None)  # it raised: there is no line it returned from
        raise
    finally:
        sys.setprofile(previous)


def call_noting_return(impl, *args, **kwargs):
    """``impl(*args, **kwargs)`` as it is, errors included, noting the line it returns from for
    a failure found afterwards (:func:`call_quietly` does this too)."""
    return _call_noting_return(getattr(impl, "__name__", "the function"), impl, args, kwargs)


def call_quietly(impl, *args, **kwargs):
    """Call ``impl`` with numpy's floating-point warnings silenced.

    A warning printed inside a test cell would cost the whole cell its points, even when the
    answer is right; the values themselves are checked instead. An error raised by ``impl``
    (a ``ValueError`` from mismatched shapes, say) becomes a test failure that names it and the
    line of ``impl`` where it happened.
    """
    name = getattr(impl, "__name__", "the function")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                return _call_noting_return(name, impl, args, kwargs)
            except AssertionError:
                raise
            except NotImplementedError as error:
                _fail_with_error(name, "is not written yet: replace `raise NotImplementedError()` with your code.",
                                 error)
            except Exception as error:  # noqa: BLE001 - any error of the code under test
                _fail_with_error(name, None, error)


def _standing_for(impl, call, name):
    """The function ``call``, named ``name``, that the checks treat as ``impl``: failures are
    named after ``name`` and point at ``impl``'s lines, never at ``call``'s."""
    call.__name__ = name
    call.course_target = impl
    return call


def call_as(function, impl, *args, **kwargs):
    """:func:`call_quietly` for a class or a method, with failures named after ``function``."""
    return call_quietly(_standing_for(impl, lambda *a, **k: impl(*a, **k), function), *args, **kwargs)


def construct(function, cls, *args, **kwargs):
    """An instance of the student's class ``cls``, which the test then drives through its
    methods; failures are named after ``function``. (Where the class lives in another process,
    the grader's view of it makes the instance there.)"""
    make = getattr(type(cls), "course_construct", None)
    if make is not None:
        return call_as(function, lambda *a, **k: make(cls, *a, **k), *args, **kwargs)
    return call_as(function, cls, *args, **kwargs)


def without_weights(impl):
    """``impl``, for a test that reads the layers and shapes of the Keras models it returns and
    never their weights. Where ``impl`` is the grader's view of a function in the student's
    kernel, its models cross as their config alone and are built with fresh weights here:
    a network's megabytes of weights are neither sent nor read. Elsewhere, ``impl`` itself."""
    call = getattr(type(impl), "course_call_without_weights", None)
    if call is None:
        return impl
    return _standing_for(impl, lambda *a, **k: call(impl, *a, **k), getattr(impl, "__name__", "the function"))


def method_of(function, cls, name, signature):
    """The method ``name`` of the student's class ``cls``; fails if the class lacks it."""
    method = getattr(cls, name, None)
    if not callable(method):
        fail(function, f"the class should have a method {name}{signature}.")
    return method


# Files whose frames are never the student's line: the tests, Python's library, installed packages.
TEST_FILES = ("check_helpers.py", "problem_unittests.py", "hidden_checks.py")
LIBRARY_FOLDERS = tuple({folder for key, folder in sysconfig.get_paths().items()
                         if key in ("stdlib", "platstdlib", "purelib", "platlib")})


def _is_students(filename):
    return not (Path(filename).name in TEST_FILES or filename.startswith(LIBRARY_FOLDERS)
                or filename.startswith("<frozen "))


def _student_frame(error):
    """The frame of the traceback where the student's code raised (or called what raised)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != __file__]
    own = [f for f in frames if _is_students(f.filename)]
    return (own or frames or [None])[-1]


ERROR_ADVICE = "Check the shapes and names that line uses."  # after an error the code under test raised


def with_hint(failure, hint):
    """The failure ``failure`` (a :class:`CheckFailed`) with ``hint``, a test's own advice for the
    mistake it recognised, in place of :data:`ERROR_ADVICE` (or at its end, where that is not)."""
    def told(text):
        return f"{text.partition(' ' + ERROR_ADVICE)[0]} {hint}"

    return CheckFailed(told(str(failure)), failure.where, told(failure.shown))


def activation_of(layer):
    """The activation a Keras layer of its own applies (Activation("relu"), ReLU(), Softmax()), else None."""
    kind, config = type(layer).__name__, layer.get_config()
    if kind == "Activation":
        return config.get("activation")
    if kind == "ReLU" and config.get("max_value") is None and not config.get("negative_slope") \
            and not config.get("threshold"):
        return "relu"
    if kind == "Softmax" and config.get("axis", -1) in (-1, [-1]):
        return "softmax"
    return None


def _fail_with_error(function, text, error):
    """Fail because the code under test raised ``error``: the message says what it raised (or
    ``text``, for a function not written yet) and on which line; a notebook shows that line
    under the message."""
    remote_where = getattr(error, "course_where", None)  # set when the error was raised in another process
    frame = None if remote_where is not None else _student_frame(error)
    _returned.clear()
    place = (frame.filename, frame.lineno, "your code raised it") if frame is not None else None
    if text is not None:
        raise CheckFailed(f"{function}: {text}", place) from None
    where = remote_where or ""
    if frame is not None:
        where = f" (line {frame.lineno}" + (f": `{frame.line.strip()}`" if frame.line else "") + ")"
    advice = f". {ERROR_ADVICE}"
    raise CheckFailed(f"{function}: raised {type(error).__name__}: {error}{where}{advice}", place,
                      f"{function}: raised {type(error).__name__}: {error}{'' if place else where}{advice}") from None


def peak_memory(impl, *args, **kwargs):
    """``(impl(*args, **kwargs), bytes)``: the result of :func:`call_quietly` and the most memory
    the call held at once beyond what was held before it (NumPy reports its arrays to
    ``tracemalloc``), or ``None`` for the bytes where the call runs in another process that
    cannot measure it."""
    measure = getattr(type(impl), "course_peak_memory", None)
    if measure is not None:  # the grader's view of a function in the student's kernel measures it there
        measured = {}

        def call(*a, **k):
            result, measured["bytes"] = measure(impl, *a, **k)
            return result
        _standing_for(impl, call, getattr(impl, "__name__", "the function"))
        return call_quietly(call, *args, **kwargs), measured["bytes"]
    if _elsewhere(impl):
        return call_quietly(impl, *args, **kwargs), None
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call_quietly(impl, *args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        if started:
            tracemalloc.stop()


# --------------------------------------------------------------------------------------------
# Inputs left as they were
# --------------------------------------------------------------------------------------------

def snapshot(*arrays):
    """Deep copies of the inputs, to check afterwards that a function did not change them."""
    return [copy.deepcopy(a) for a in arrays]


def _same(old, new):
    """Equal values, looking inside dicts, lists and tuples (caches, parameter dicts)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and old.keys() == new.keys() and all(
            _same(old[k], new[k]) for k in old)
    if isinstance(old, (list, tuple)):
        return isinstance(new, (list, tuple)) and len(old) == len(new) and all(
            _same(a, b) for a, b in zip(old, new))
    try:
        return bool(np.array_equal(np.asarray(old), np.asarray(new)))
    except (TypeError, ValueError):
        return old == new


# Where the code under test runs in another process (the grader's view of a sandboxed kernel),
# the grader's inputs never change; the grader sets this to a function that says whether the
# other process changed its copy of an input in place.
changed_elsewhere = None


def _changed(value):
    if changed_elsewhere is not None and changed_elsewhere(value):
        return True
    if isinstance(value, dict):
        return any(_changed(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_changed(v) for v in value)
    return False


def changed_in_place(value):
    """Whether the process the code under test runs in (the student's kernel, seen from the
    grader) changed its copy of ``value`` in place; always False where that code runs here,
    where the test compares ``value`` itself."""
    return _changed(value)


def check_unchanged(function, names, before, after):
    """Fail if a function modified one of its inputs in place."""
    for name, old, new in zip(names, before, after):
        if not _same(old, new) or _changed(new):
            fail(function, f"changed the caller's {name} in place (an augmented assignment such as -= or /=, "
                           f"or an assignment into its entries): compute the result as a new array and "
                           f"leave {name} as it came.")


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

def check_array(function, what, got, shape):
    """``got`` must be a numpy array of floating or integer numbers with the given shape."""
    if not isinstance(got, np.ndarray):
        fail(function, f"{what} should be a numpy array of shape {shape}, "
                       f"got {type(got).__name__}.")
    if got.shape != tuple(shape):
        fail(function, f"expected {what} of shape {tuple(shape)}, got {got.shape}.")
    if not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
        fail(function, f"{what} should hold numbers, got dtype {got.dtype}.")
    if np.issubdtype(got.dtype, np.floating) and not np.all(np.isfinite(got)):
        fail(function, f"{what} contains NaN or infinite values.")


def check_float_array(function, what, got, shape):
    """Like :func:`check_array`, and the values must be floating-point numbers."""
    check_array(function, what, got, shape)
    if not np.issubdtype(got.dtype, np.floating):
        fail(function, f"{what} should hold floating-point numbers, got dtype {got.dtype}. "
                       f"Gradient descent needs fractional values.")


def check_scalar(function, what, got):
    """``got`` must be one real number (a Python float or a numpy scalar), not an array."""
    if isinstance(got, (bool, np.bool_)) or np.ndim(got) != 0:
        shape = np.shape(got)
        fail(function, f"{what} should be a single number, got {type(got).__name__}"
                       f"{' of shape ' + str(shape) if shape else ''}. "
                       f"Use float(...) or np.sum/np.mean over all elements.")
    try:
        value = float(got)
    except (TypeError, ValueError):
        fail(function, f"{what} should be a single number, got {type(got).__name__}.")
    if not np.isfinite(value):
        fail(function, f"{what} is {value}, expected a finite number.")
    return value


def check_returns(function, result, names):
    """``result`` must be a tuple (or list) with one value per name in ``names``."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = type(result).__name__
        if isinstance(result, (tuple, list)):
            got += f" of length {len(result)}"
        fail(function, f"should return a tuple ({', '.join(names)}), got {got}.")
    return result


def _hint(got, expected, hints):
    """The first hint whose transformed expected value matches what came back, else ''."""
    for transform, message in hints:
        try:
            candidate = np.asarray(transform(np.asarray(expected, dtype=float)), dtype=float)
            if candidate.shape == np.shape(got) and np.allclose(got, candidate, rtol=RTOL, atol=ATOL):
                return " " + message
        except (ValueError, TypeError, ZeroDivisionError):
            continue
    return ""


def off_by(got, expected):
    """How far ``got`` is from ``expected``, as the nearest power of ten ("something of the order of
    0.01"): enough to tell a rounding slip from a wrong formula, too little to give the expected
    value away (a distance to two digits would leave two candidates for it, ``got`` plus or minus
    that). Said as an order, so that a distance of 2.7 is not read as "about 1"."""
    distance = abs(float(got) - float(expected))
    if not math.isfinite(distance) or distance == 0:
        return f"{distance:g}"
    return f"something of the order of {10.0 ** round(math.log10(distance)):g}"


def times(n):
    """How often a function was called, for the messages: "1 time", "2 times"."""
    return f"{n} time" if n == 1 else f"{n} times"


def entry_name(index):
    """"[2, 0]" for the index (2, 0), "[3]" for (3,)."""
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def worst_entry(got, expected, rtol=RTOL, atol=ATOL):
    """(number of differing values, index of the one farthest off) of two arrays of one shape."""
    wrong = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    distance = np.where(wrong, np.abs(got - expected), -1.0)
    distance = np.where(np.isnan(distance), np.inf, distance)
    return int(np.sum(wrong)), np.unravel_index(int(np.argmax(distance)), got.shape)


def check_close(function, what, got, expected, hints=()):
    """Values must match to the module's tolerances; ``hints`` explain known wrong answers.

    ``hints`` is a sequence of ``(transform, message)``: when ``got`` equals ``transform(expected)``
    the message is added, e.g. ``(lambda e: e * m, "Did you average over the m examples?")``.
    A failure names one differing entry, the value received there and how far off it is.
    """
    got_arr = np.asarray(got, dtype=float)
    expected_arr = np.asarray(expected, dtype=float)
    if got_arr.shape != expected_arr.shape:
        fail(function, f"expected {what} of shape {expected_arr.shape}, got {got_arr.shape}.")
    if np.allclose(got_arr, expected_arr, rtol=RTOL, atol=ATOL):
        return
    if expected_arr.ndim == 0:
        fail(function, f"{what} differs from the expected value: got {float(got_arr):.6g}, "
                       f"off by {off_by(got_arr, expected_arr)}." + _hint(got_arr, expected_arr, hints))
    wrong, index = worst_entry(got_arr, expected_arr)
    fail(function, f"{what}: {wrong} of {expected_arr.size} values "
                   f"{'differs' if wrong == 1 else 'differ'} from the expected ones; "
                   f"at {entry_name(index)} you have {got_arr[index]:.6g}, off by "
                   f"{off_by(got_arr[index], expected_arr[index])}." + _hint(got_arr, expected_arr, hints))


def check_binary(function, what, got, hint="Turn probabilities into labels with the 0.5 threshold."):
    """Every value must be 0 or 1 (predicted labels, not probabilities; a one-hot encoding):
    ``hint`` says how such values are made."""
    values = np.unique(np.asarray(got, dtype=float))
    if not np.all(np.isin(values, [0.0, 1.0])):
        fail(function, f"{what} should contain only 0 and 1, got values such as "
                       f"{values[~np.isin(values, [0.0, 1.0])][:3].round(3).tolist()}. {hint}")


def fixed_array(shape, phase=0.0, scale=1.0):
    """A fixed, irregular test array of the given shape (no random generator involved)."""
    count = int(np.prod(shape))
    return np.round(np.sin(np.arange(count, dtype=float) * 1.37 + phase) * scale, 3).reshape(shape)


# --------------------------------------------------------------------------------------------
# Stand-ins: the student's helpers replaced while a function built on them is tested
# --------------------------------------------------------------------------------------------

def replayed_in_kernel(cls):
    """Class decorator for a stand-in that the student's kernel may answer with a copy of its own,
    where the tests are decided in the grader's process: the kernel logs each call and its
    answer, and the grader runs this stand-in on the logged calls, in order, refusing any answer
    that differs. A test that calls a stand-in thousands of times (a training loop) then costs
    a message per thousand calls instead of two per call. For a class that

    - needs nothing but numpy (``np``) and builtins: its source is what the kernel runs;
    - answers from its arguments as they are at the call and from its own state, and changes
      neither its arguments nor what it answered before;
    - is made with arguments the kernel may see (they are sent there), in each test afresh.

    In a test run in the notebook's own kernel it changes nothing."""
    made = cls.__init__

    def __init__(self, *args, **kwargs):
        self.course_made_with = (args, kwargs)
        made(self, *args, **kwargs)

    cls.__init__ = __init__
    cls.course_replayed_in_kernel = True
    return cls


class stand_ins:
    """Context manager: replace names the function under test looks up (e.g. ``propagate``).

    A stand-in that the function uses as a class (it makes objects and calls their methods)
    declares those methods in ``stand_in_methods``: where the function runs in another process,
    they are all it may call.
    """

    def __init__(self, function, **replacements):
        # A function that lives in another process (the grader's view of a sandboxed kernel)
        # installs the replacements there itself.
        self.remote = getattr(type(function), "course_stand_ins", None)
        self.function = function
        self.namespace = {} if self.remote else getattr(function, "__globals__", {})
        self.replacements = replacements
        self.saved = {}
        self.restore = None

    def __enter__(self):
        if self.remote:
            self.restore = self.remote(self.function, self.replacements)
            return self
        self.saved = {name: self.namespace[name] for name in self.replacements if name in self.namespace}
        self.namespace.update(self.replacements)
        return self

    def __exit__(self, *exc_info):
        if self.restore:
            self.restore()
            return False
        for name in self.replacements:
            if name in self.saved:
                self.namespace[name] = self.saved[name]
            else:
                self.namespace.pop(name, None)
        return False


class Recorder:
    """Stand-ins that record how they are called and return recognisable values.

    A function built on smaller ones (``linear_activation_forward`` on ``linear_forward`` and
    the activations, say) is tested with the smaller ones replaced by these, so a mistake in
    one of yours is not counted again, and the test sees exactly how the pieces are wired.
    """

    def __init__(self):
        self.calls = []
        self.counter = 0

    def value(self, shape):
        """A fresh, unmistakable array of the given shape."""
        self.counter += 1
        return fixed_array(shape, phase=0.1 * self.counter, scale=1.0 + 0.01 * self.counter)

    def named(self, name, result):
        """A stand-in called ``name`` computing ``result``; its parameters carry the real names,
        so calls by keyword work too. Each call is recorded with its arguments in order."""
        signature = inspect.signature(result)

        def stand_in(*args, **kwargs):
            values = tuple(signature.bind(*args, **kwargs).arguments.values())
            produced = result(*values)
            self.calls.append((name, values, {}, produced))
            return produced
        stand_in.__name__ = name
        return stand_in

    def called(self, name):
        return [call for call in self.calls if call[0] == name]


class Lookup:
    """A stand-in that answers from a table of stored values: ``[(arguments, answer), ...]``.

    It stands for one of your helpers while another function is tested, with the helper's right
    answers for the calls that function should make. A call with other arguments is remembered
    and answered with ``fallback(*arguments)`` (a neutral value of the right shape, so that the
    test can still say what else it finds), and :meth:`check` then fails with ``unexpected``; it
    fails with ``uncalled``, where given, when the stand-in was never called.
    Arguments match when their numbers agree to the module's tolerances.
    """

    def __init__(self, function, name, table, unexpected, fallback, uncalled=None):
        self.function, self.name, self.table = function, name, table
        self.unexpected, self.fallback = unexpected, fallback
        self.uncalled = uncalled  # given, check also fails with it when the stand-in was never called
        self.missed = self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        for known, answer in self.table:
            if _close(args, known):
                return copy.deepcopy(answer)
        self.missed += 1
        return self.fallback(*args)

    def check(self):
        if self.missed:
            fail(self.function, self.unexpected)
        if self.uncalled and not self.calls:
            fail(self.function, self.uncalled)


def bound_lookup(function, name, signature, table, unexpected, uncalled=None):
    """A :class:`Lookup` called like ``signature`` (keywords and defaults understood), whose
    fallback is what ``signature`` returns."""
    lookup = Lookup(function, name, table, unexpected, fallback=signature, uncalled=uncalled)
    parameters = inspect.signature(signature)

    def stand_in(*args, **kwargs):
        bound = parameters.bind(*args, **kwargs)
        bound.apply_defaults()
        return lookup(*bound.arguments.values())
    stand_in.__name__ = name
    stand_in.check = lookup.check
    stand_in.fallback = signature
    return stand_in


def _close(got, known):
    if isinstance(known, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(known) and all(
            _close(a, b) for a, b in zip(got, known))
    if isinstance(known, str) or known is None:
        return got == known
    try:
        got, known = np.asarray(got, dtype=float), np.asarray(known, dtype=float)
    except (TypeError, ValueError):
        return False
    return got.shape == known.shape and bool(np.allclose(got, known, rtol=RTOL, atol=ATOL))


# --------------------------------------------------------------------------------------------
# Stored expected values (expected_outputs.json beside problem_unittests.py)
# --------------------------------------------------------------------------------------------

EXPECTED_FILE = "expected_outputs.json"


def encode_expected(value):
    """``value`` as JSON data: arrays keep their dtype and shape, tuples stay tuples."""
    if isinstance(value, np.ndarray):
        return {"ndarray": encode_expected(value.tolist()), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return encode_expected(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, tuple):
        return {"tuple": [encode_expected(v) for v in value]}
    if isinstance(value, list):
        return [encode_expected(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"dict": {k: encode_expected(v) for k, v in value.items()}}
        return {"items": [[encode_expected(k), encode_expected(v)] for k, v in value.items()]}
    raise TypeError(f"a {type(value).__name__} cannot be stored as an expected value")


def decode_expected(data):
    """The value :func:`encode_expected` stored."""
    if isinstance(data, list):
        return [decode_expected(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "ndarray" in data:
        return np.array(decode_expected(data["ndarray"]), dtype=np.dtype(data["dtype"])).reshape(data["shape"])
    if "float" in data:
        return float(data["float"])
    if "tuple" in data:
        return tuple(decode_expected(v) for v in data["tuple"])
    if "dict" in data:
        return {k: decode_expected(v) for k, v in data["dict"].items()}
    return {decode_expected(k): decode_expected(v) for k, v in data["items"]}


class StoredValues(dict):
    """{name: expected value}; a name that is not there says which file to keep or restore."""

    def __init__(self, values, path):
        super().__init__(values)
        self.path = path

    def __missing__(self, name):
        raise AssertionError(f"{name}: the tests' stored values are missing from {self.path}: keep the "
                             f"file {EXPECTED_FILE} as it was handed out, beside problem_unittests.py.")


def load_expected(module_file):
    """The expected values stored beside ``module_file``: {name: value}."""
    path = Path(module_file).with_name(EXPECTED_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            stored = json.load(handle)
    except (OSError, ValueError):
        stored = {}
    return StoredValues({name: decode_expected(value) for name, value in stored.items()
                         if not name.startswith("__")}, path)


def dump_expected(values, generator):
    """The text of an expected_outputs.json holding ``values``: one line per name, after a line
    that says what generated it."""
    lines = [f'{json.dumps("__generated__")}: {json.dumps(f"by admin/build.py from {generator}; do not edit")}']
    lines += [f"{json.dumps(name)}: {json.dumps(encode_expected(value), allow_nan=False)}"
              for name, value in values.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"
