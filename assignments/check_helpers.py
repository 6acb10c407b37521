"""Checks shared by every assignment's tests: comparisons, messages, stand-ins, stored values.

Each assignment's ``problem_unittests.py`` builds its tests from these. A failing check raises
``AssertionError`` with a message that starts with the function's name and says what was
expected and what came back; nothing here knows the answer to any graded function.
"""
import copy
import inspect
import json
import math
import traceback
import warnings
from pathlib import Path

import numpy as np

# Tolerances of every numeric comparison below (relative, absolute), as numpy.allclose uses them.
RTOL = 1e-5
ATOL = 1e-8


def fail(function, message):
    """Stop the test with a message that starts with the function's name."""
    raise AssertionError(f"{function}: {message}")


def passed(function, check="visible tests"):
    print(f"{function}: {check} passed.")


def call_quietly(impl, *args, **kwargs):
    """Call ``impl`` with numpy's floating-point warnings silenced.

    A warning printed inside a test cell would cost the whole cell its points, even when the
    answer is right; the values themselves are checked instead. An error raised by ``impl``
    (a ``ValueError`` from mismatched shapes, say) becomes a test failure that names it and the
    line of ``impl`` where it happened.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                return impl(*args, **kwargs)
            except AssertionError:
                raise
            except NotImplementedError:
                fail(getattr(impl, "__name__", "the function"),
                     "is not written yet: replace `raise NotImplementedError()` with your code.")
            except Exception as error:  # noqa: BLE001 - any error of the code under test
                fail(getattr(impl, "__name__", "the function"), _describe_error(error))


def call_as(function, impl, *args, **kwargs):
    """:func:`call_quietly` for a class or a method, with failures named after ``function``."""
    def named(*a, **k):
        return impl(*a, **k)
    named.__name__ = function
    return call_quietly(named, *args, **kwargs)


def construct(function, cls, *args, **kwargs):
    """An instance of the student's class ``cls``, which the test then drives through its
    methods; failures are named after ``function``. (Where the class lives in another process,
    the grader's view of it makes the instance there.)"""
    make = getattr(type(cls), "course_construct", None)
    if make is not None:
        return call_as(function, lambda *a, **k: make(cls, *a, **k), *args, **kwargs)
    return call_as(function, cls, *args, **kwargs)


def method_of(function, cls, name, signature):
    """The method ``name`` of the student's class ``cls``; fails if the class lacks it."""
    method = getattr(cls, name, None)
    if not callable(method):
        fail(function, f"the class should have a method {name}{signature}.")
    return method


def _describe_error(error):
    """"raised ValueError: ... (line 4: `Z = A @ W + b`)" for an error of the code under test."""
    where = getattr(error, "course_where", None)  # set when the error was raised in another process
    frames = [] if where is not None else [f for f in traceback.extract_tb(error.__traceback__)
                                           if f.filename != __file__]
    where = where or ""
    if frames:
        frame = frames[-1]
        where = f" (line {frame.lineno}" + (f": `{frame.line.strip()}`" if frame.line else "") + ")"
    return f"raised {type(error).__name__}: {error}{where}. Check the shapes and names it uses."


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


def check_unchanged(function, names, before, after):
    """Fail if a function modified one of its inputs in place."""
    for name, old, new in zip(names, before, after):
        if not _same(old, new) or _changed(new):
            fail(function, f"the input {name} was modified in place. Build new arrays "
                           f"(w = w - ..., np.where(...)) instead of changing the caller's "
                           f"(w -= ..., Z[...] = 0).")


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


def check_close(function, what, got, expected, hints=()):
    """Values must match to the module's tolerances; ``hints`` explain known wrong answers.

    ``hints`` is a sequence of ``(transform, message)``: when ``got`` equals ``transform(expected)``
    the message is added, e.g. ``(lambda e: e * m, "Did you average over the m examples?")``.
    """
    got_arr = np.asarray(got, dtype=float)
    expected_arr = np.asarray(expected, dtype=float)
    if got_arr.shape != expected_arr.shape:
        fail(function, f"expected {what} of shape {expected_arr.shape}, got {got_arr.shape}.")
    if np.allclose(got_arr, expected_arr, rtol=RTOL, atol=ATOL):
        return
    if expected_arr.ndim == 0:
        fail(function, f"{what} differs from the expected value: got {float(got_arr):.6g} "
                       f"(abs difference {abs(float(got_arr - expected_arr)):.2e})."
                       + _hint(got_arr, expected_arr, hints))
    difference = np.max(np.abs(got_arr - expected_arr))
    wrong = int(np.sum(~np.isclose(got_arr, expected_arr, rtol=RTOL, atol=ATOL)))
    fail(function, f"{what}: {wrong} of {expected_arr.size} values differ from the expected "
                   f"ones (max abs difference {difference:.2e})."
                   + _hint(got_arr, expected_arr, hints))


def check_binary(function, what, got):
    """Every value must be 0 or 1 (predicted labels, not probabilities)."""
    values = np.unique(np.asarray(got, dtype=float))
    if not np.all(np.isin(values, [0.0, 1.0])):
        fail(function, f"{what} should contain only 0 and 1, got values such as "
                       f"{values[~np.isin(values, [0.0, 1.0])][:3].round(3).tolist()}. "
                       f"Turn probabilities into labels with the 0.5 threshold.")


def fixed_array(shape, phase=0.0, scale=1.0):
    """A fixed, irregular test array of the given shape (no random generator involved)."""
    count = int(np.prod(shape))
    return np.round(np.sin(np.arange(count, dtype=float) * 1.37 + phase) * scale, 3).reshape(shape)


# --------------------------------------------------------------------------------------------
# Stand-ins: the student's helpers replaced while a function built on them is tested
# --------------------------------------------------------------------------------------------

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
    test can still say what else it finds), and :meth:`check` then fails with ``unexpected``.
    Arguments match when their numbers agree to the module's tolerances.
    """

    def __init__(self, function, name, table, unexpected, fallback):
        self.function, self.name, self.table = function, name, table
        self.unexpected, self.fallback = unexpected, fallback
        self.missed = 0

    def __call__(self, *args):
        for known, answer in self.table:
            if _close(args, known):
                return copy.deepcopy(answer)
        self.missed += 1
        return self.fallback(*args)

    def check(self):
        if self.missed:
            fail(self.function, self.unexpected)


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
