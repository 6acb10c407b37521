"""Plain data across the sandbox wall: the codec both sides use, and the kernel's agent.

Tests are decided by the grader's own process (``session.py``, ``cell.py``); the student's code
runs in the sandboxed kernel. Between the two only JSON travels, and it carries calls and data:

- numbers, strings, lists, tuples, dicts; numpy arrays as their dtype, shape and bytes
  (structured ones as ``.npy``, read with ``allow_pickle=False``); Keras models as their config
  and weights, which the grader builds into a new model of its own (or as their config alone,
  where the grader's request says ``"models": "without weights"``: a test that reads layers and
  shapes, never weights, and need not wait for megabytes of them);
- *handles*: the number of an object that stays in the kernel (a student's class, an instance of
  it, a method), which the grader accepts only where a test deliberately drives a student's
  class, and only to call it;
- the memory a call held at once, where the grader's request says ``"measure": "peak memory"``:
  measured in the kernel with ``tracemalloc`` around the call alone, as a test run in the kernel
  measures it (``check_helpers.peak_memory``); the grader also watches the kernel's memory from
  outside meanwhile (``kernel_memory.py``);
- calls from the kernel to the stand-ins a test handed it (by the name it installed them under),
  with data as arguments and data as the answer. Nothing of the grader's process is reachable
  otherwise: no attribute of a stand-in, no object behind a handle;
- for a stand-in the kernel answers with a copy of its own (``"replay"`` where it is installed:
  the source of a class of the visible tests and the arguments it was made with), a ``"log"`` of
  its calls and answers, sent with the kernel's next message or alone every ``REPLAY_FLUSH``
  calls; the grader checks each answer against its own stand-in's. A logged call's arguments
  cross as two plain lists, positional and [name, value] (:meth:`Codec.encode_arguments`).

Both sides number every array, list, tuple, dict, model and handle that crosses (the two lists
that carry a logged call's arguments apart), in the order they cross, so that an object sent
back unchanged is sent as ``{"ref": n}`` and arrives as the very object the other side holds (a
test can still check that a function returned its input).
An object changed in place since it crossed (an array, a list, a dict, a Keras model's weights)
is sent again by value, as a new object: what one side does to its copy never reaches the other's.
The kernel says which of the grader's objects a call changed in place (``"changed"``), so a test
can tell the student so.

This file is also the agent: its text is executed in the kernel, where :func:`serve_socket`
connects to a Unix socket the grader listens on and :func:`serve` answers the grader's
requests, one :class:`Channel` message each. Nothing here decides anything: whatever a student
does to it in the kernel changes only the data the grader receives, which the grader checks;
the one report the grader takes as the kernel gives it is ``"changed"`` (which of its arguments a
call changed in place), so patching the agent can hide an in-place change (README, "Calls and
values").
"""
import base64
import contextlib
import io
import json
import math
import re
import socket
import tracemalloc
import traceback
import warnings

import numpy as np

AGENT_FILE = "<course-agent>"
PLAIN = (type(None), bool, int, str)
MAX_FRAME = 256 << 20  # bytes of one message, at most
MAX_DEPTH = 64         # lists, tuples and dicts inside each other, at most
MAX_TEXT = 2000        # characters of an error message kept
# Address space that rebuilding one Keras model may add to the grader's process, at most: a
# config is a few kilobytes of text, however many gigabytes of weights its layers ask for.
KERAS_BUILD_BUDGET = 2 << 30


class WireError(Exception):
    """Something that cannot cross, or a message that does not follow the protocol."""


class ChannelClosed(WireError):
    """The other side closed the connection."""


class Channel:
    """Messages over a connected socket: an 8-byte length, then that many bytes of UTF-8 text.

    ``wait`` is called each ``tick`` seconds while a message is awaited or sent (the grader
    checks there whether the kernel is still alive and its time is not up); None waits without
    end (the kernel's side).
    """

    def __init__(self, connection, wait=None, tick=0.5):
        self.connection = connection
        self.wait = wait
        self.broken = False  # a message was refused unread: the connection can carry no more
        connection.settimeout(tick if wait else None)

    def close(self):
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def send(self, text):
        data = text.encode("utf-8")
        view = memoryview(len(data).to_bytes(8, "big") + data)
        while view:
            try:
                sent = self.connection.send(view)
            except TimeoutError:  # the other side reads slowly, or not at all
                self.wait()
                continue
            view = view[sent:]

    def receive(self):
        size = int.from_bytes(self._read(8), "big")
        if size > MAX_FRAME:
            self.broken = True
            self.close()  # its sender stops at once, instead of waiting for a reader
            raise WireError(f"a message of {size} bytes is larger than the protocol allows ({MAX_FRAME})")
        return self._read(size).decode("utf-8", errors="replace")

    def _read(self, size):
        parts, left = [], size
        while left:
            try:
                part = self.connection.recv(min(left, 1 << 20))
            except TimeoutError:
                self.wait()
                continue
            if not part:
                raise ChannelClosed("the connection was closed")
            parts.append(part)
            left -= len(part)
        return b"".join(parts)


def read_message(text):
    """One message of the protocol: a JSON object (deeply nested or malformed text is refused)."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise WireError("a message that is not the grader's protocol") from None
    if not isinstance(message, dict):
        raise WireError("a message that is not the grader's protocol")
    return message


def _is_keras_model(obj):
    module = type(obj).__module__ or ""
    return module.split(".")[0] == "keras" and hasattr(obj, "to_json") and hasattr(obj, "get_weights")


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _from_npy(text):
    if not isinstance(text, str):
        raise WireError("not an array of the protocol")
    try:
        array = np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)
    except (ValueError, TypeError, OSError) as error:
        raise WireError(f"not an array of the protocol: {error}") from None
    if not isinstance(array, np.ndarray) or array.dtype.hasobject:
        raise WireError("an array of Python objects cannot cross")
    return array


# Arrays of one plain type (numbers, booleans, strings, dates) cross as [dtype, shape, order,
# bytes]: tests send thousands of small arrays, and ``.npy`` costs ten times as much for those.
# Anything else (structured dtypes) crosses as ``.npy``.
PLAIN_DTYPE = re.compile(r"[<>|=][biufcSUmM][0-9]{1,6}(\[[0-9]*[a-zA-Z]{1,2}\])?")


def _plain_array(array):
    """[dtype, shape, order, base64 bytes] of an array of a plain dtype; None for other arrays."""
    if array.dtype.fields is not None or not PLAIN_DTYPE.fullmatch(array.dtype.str):
        return None
    order = "F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C"
    return [array.dtype.str, list(array.shape), order,
            base64.b64encode(array.tobytes(order=order)).decode("ascii")]


def _from_plain_array(data):
    if not (isinstance(data, list) and len(data) == 4 and isinstance(data[0], str)
            and PLAIN_DTYPE.fullmatch(data[0]) and isinstance(data[1], list) and data[2] in ("C", "F")
            and isinstance(data[3], str)
            and all(type(n) is int and 0 <= n < 1 << 40 for n in data[1]) and len(data[1]) <= 32):
        raise WireError("not an array of the protocol")
    try:
        dtype = np.dtype(data[0])
        raw = base64.b64decode(data[3], validate=True)
        if len(raw) != math.prod(data[1]) * dtype.itemsize:
            raise WireError("an array whose bytes do not match its shape")
        if dtype.itemsize == 0:
            return np.zeros(data[1], dtype=dtype, order=data[2])
        return np.frombuffer(raw, dtype=dtype).reshape(data[1], order=data[2]).copy(order="K")
    except (TypeError, ValueError) as error:
        raise WireError(f"not an array of the protocol: {error}") from None


class Codec:
    """One side's numbering of the objects that crossed (see the module's docstring).

    ``handles``: whether objects that are not data leave this side as handles (the kernel's
    side) or cannot be sent at all (the grader's).
    """

    def __init__(self, handles):
        self.handles = handles
        self.table = []    # number -> object
        self.numbers = {}  # id(object) -> number, for the objects that may be sent by reference
        self.state = {}    # number -> copy as it last crossed, for the mutable objects
        self.received = set()  # numbers of the objects that came from the other side
        self.touched = set()   # numbers received since the last call of take_touched()
        # Keras models cross as their config alone, while this is set: on the kernel's side for
        # the answer to a request that says so, on the grader's for reading that answer.
        self.without_weights = False

    @contextlib.contextmanager
    def models_without_weights(self, on=True):
        """Keras models cross as their config alone inside this block, where ``on``."""
        self.without_weights = on
        try:
            yield
        finally:
            self.without_weights = False

    def _register(self, obj, received=False):
        number = len(self.table)
        self.table.append(obj)
        self.numbers[id(obj)] = number
        if isinstance(obj, (np.ndarray, list, dict)):
            self.state[number] = _copy(obj)
        if received:
            self.received.add(number)
            self.touched.add(number)
        return number

    def _reserve(self):
        self.table.append(None)
        return len(self.table) - 1

    def _fill(self, number, obj):
        self.table[number] = obj
        self.numbers[id(obj)] = number
        self.received.add(number)
        self.touched.add(number)

    def unchanged(self, number):
        """Whether object ``number`` is as it was when it last crossed."""
        return number not in self.state or _same(self.state[number], self.table[number])

    def forget(self, number):
        """Object ``number`` changed on the other side: send it by value from now on."""
        obj = self.table[number] if isinstance(number, int) and 0 <= number < len(self.table) else None
        if obj is not None and self.numbers.get(id(obj)) == number:
            del self.numbers[id(obj)]

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, obj, depth=0):
        if depth > MAX_DEPTH:
            raise WireError("a value nested too deeply to cross")
        if isinstance(obj, bool) or obj is None or (isinstance(obj, (int, str)) and type(obj) in PLAIN):
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        number = self.numbers.get(id(obj))
        if number is not None and self.table[number] is obj and self.unchanged(number):
            return {"ref": number}
        if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
            self._register(obj)
            plain = _plain_array(obj)
            return {"array": plain} if plain is not None else {"ndarray": _npy(obj)}
        if isinstance(obj, np.generic) and not isinstance(obj, np.object_):
            plain = _plain_array(np.asarray(obj))
            return {"scalar_array": plain} if plain is not None else {"scalar": _npy(np.asarray(obj))}
        if type(obj) in (list, tuple, dict):
            self._register(obj)
            if isinstance(obj, dict):
                return {"dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in obj.items()]}
            return {type(obj).__name__: [self.encode(item, depth + 1) for item in obj]}
        for plain in (int, float, str):  # subclasses of plain types, sent as the plain value
            if isinstance(obj, plain):
                return self.encode(plain(obj), depth)
        if _is_keras_model(obj):
            if self.without_weights:
                # The other side builds a copy with weights of its own: it is never sent by reference.
                self.forget(self._register(obj))
                return {"keras": obj.to_json(), "without_weights": True}
            weights = [np.asarray(w) for w in obj.get_weights()]
            number = self._register(obj)
            self.state[number] = _Weights(weights)
            return {"keras": obj.to_json(), "weights": [_npy(w) for w in weights]}
        if self.handles:
            return {"handle": self._register(obj), "type": type(obj).__name__, "callable": callable(obj)}
        raise WireError(f"a {type(obj).__name__} cannot be sent to the kernel")

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, data, make_handle=None, depth=0):
        """The object ``data`` stands for. ``make_handle(number, label, is_callable)`` makes the
        stand-in of an object the other side keeps; without it, a handle is refused."""
        if depth > MAX_DEPTH:
            raise WireError("a value nested too deeply to cross")
        if data is None or isinstance(data, (bool, int, str, float)):
            return data
        if not isinstance(data, dict) or len(data) == 0:
            raise WireError(f"not a value of the protocol: {str(data)[:80]}")
        if "ref" in data:
            number = data["ref"]
            if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < len(self.table):
                raise WireError(f"reference to unknown object {number!r}")
            if number in self.received:  # the other side's object, again: say if a call changes it
                self.touched.add(number)
            return self.table[number]
        if "float" in data:
            if data["float"] not in ("nan", "inf", "-inf"):
                raise WireError("not a number of the protocol")
            return float(data["float"])
        if "scalar" in data:
            return _from_npy(data["scalar"])[()]
        if "scalar_array" in data:
            return _from_plain_array(data["scalar_array"])[()]
        if "ndarray" in data or "array" in data:
            array = _from_npy(data["ndarray"]) if "ndarray" in data else _from_plain_array(data["array"])
            self._register(array, received=True)
            return array
        for kind in ("list", "tuple", "dict"):
            if kind in data and not isinstance(data[kind], list):
                raise WireError(f"not a value of the protocol: {kind}")
        if "list" in data:
            result = []
            number = self._reserve()
            result.extend(self.decode(item, make_handle, depth + 1) for item in data["list"])
            self._fill(number, result)
            self.state[number] = _copy(result)
            return result
        if "dict" in data:
            result = {}
            number = self._reserve()
            for pair in data["dict"]:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise WireError("not a dict of the protocol")
                key = self.decode(pair[0], make_handle, depth + 1)
                try:
                    result[key] = self.decode(pair[1], make_handle, depth + 1)
                except TypeError:
                    raise WireError("a dict key that cannot be a key") from None
            self._fill(number, result)
            self.state[number] = _copy(result)
            return result
        if "tuple" in data:
            number = self._reserve()
            result = tuple(self.decode(item, make_handle, depth + 1) for item in data["tuple"])
            self._fill(number, result)
            return result
        if "keras" in data:
            number = self._reserve()
            model, weights = _keras_model(data, self.without_weights)
            self._fill(number, model)
            if weights is None:  # its weights are this side's own: never sent back by reference
                self.forget(number)
            else:
                self.state[number] = _Weights(weights)
            return model
        if "handle" in data:
            if make_handle is None:
                raise WireError(f"an object of the student's own (a {str(data.get('type', 'object'))[:80]}) came "
                                f"where data was expected")
            number = self._reserve()
            if data["handle"] != number:
                raise WireError("the numbering of the two sides differs")
            handle = make_handle(number, str(data.get("type", "object"))[:80], bool(data.get("callable")))
            self._fill(number, handle)
            return handle
        raise WireError(f"not a value of the protocol: {sorted(map(str, data))[:3]}")

    # -- a logged call's arguments --------------------------------------------------------------
    def encode_arguments(self, args, kwargs):
        """The arguments of a call a stand-in's copy logged (``"args"``, ``"kwargs"``): the list of
        its positional arguments and the list of its [name, value] pairs, each value numbered as
        any that crosses, the two lists not (nothing can refer to them: a training loop's
        thousands of calls number only what they pass)."""
        return ([self.encode(arg, 1) for arg in args],
                [[name, self.encode(value, 1)] for name, value in kwargs.items()])

    def decode_arguments(self, args, kwargs, make_handle=None):
        """``(args, kwargs)`` of a logged call written by :meth:`encode_arguments`."""
        if not (isinstance(args, list) and isinstance(kwargs, list)
                and all(isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) for pair in kwargs)):
            raise WireError("a logged call that is not the grader's protocol")
        return ([self.decode(arg, make_handle, 1) for arg in args],
                {name: self.decode(value, make_handle, 1) for name, value in kwargs})

    # -- objects changed in place --------------------------------------------------------------
    def take_touched(self):
        """The numbers received since the last call, forgetting them."""
        touched, self.touched = self.touched, set()
        return touched

    def changed(self, numbers):
        """Those of ``numbers`` (and of the objects they hold) whose object was changed in place
        since it crossed; they are sent by value from now on."""
        pending, seen, found = list(numbers), set(), []
        while pending:
            number = pending.pop()
            if number in seen or not 0 <= number < len(self.table):
                continue
            seen.add(number)
            obj = self.table[number]
            if not self.unchanged(number):
                found.append(number)
                self.forget(number)
            items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
            for item in items:
                inner = self.numbers.get(id(item))
                if inner is not None and self.table[inner] is item:
                    pending.append(inner)
        return sorted(found)


SMALL_ARRAY = 1 << 16  # bytes


def _copy(obj):
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, list):
        return list(obj)
    if isinstance(obj, dict):
        return dict(obj)
    return obj


class _Weights:
    """A Keras model's weights as they were when it crossed: a model changed in place since (its
    weights set, trained) counts as changed, as an array does."""

    __slots__ = ("arrays",)

    def __init__(self, arrays):
        self.arrays = arrays

    def same_as(self, model):
        try:
            now = [np.asarray(w) for w in model.get_weights()]
        except Exception:  # noqa: BLE001 - a model that cannot say its weights has changed
            return False
        return len(now) == len(self.arrays) and all(
            a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
            for a, b in zip(self.arrays, now))


def _same(before, now):
    if isinstance(before, _Weights):
        return before.same_as(now)
    if isinstance(now, np.ndarray):
        if not (isinstance(before, np.ndarray) and before.shape == now.shape and before.dtype == now.dtype):
            return False
        if now.nbytes <= SMALL_ARRAY and now.dtype.fields is None:  # quicker than array_equal, and exact
            return before.tobytes() == now.tobytes()
        return np.array_equal(before, now, equal_nan=now.dtype.kind in "fc")
    if isinstance(now, list):
        return isinstance(before, list) and len(before) == len(now) and all(a is b for a, b in zip(before, now))
    if isinstance(now, dict):
        return isinstance(before, dict) and before.keys() == now.keys() and all(before[k] is now[k] for k in now)
    return True


def _keras_model(data, without_weights=False):
    """(A new Keras model built from a config and weights (Keras's safe mode: no code runs),
    the weights it was given, or None where it came without).

    A model that came without its weights (``"without_weights": true``, no ``"weights"``) is
    accepted only where ``without_weights`` says the request asked for that; it keeps the fresh
    weights its layers start with. One that came with weights must fit them, all of them."""
    import keras

    if not isinstance(data.get("keras"), str):
        raise WireError("not a Keras model of the protocol")
    if "weights" not in data:
        if data.get("without_weights") is not True:
            raise WireError("not a Keras model of the protocol")
        if not without_weights:
            raise WireError("a Keras model came without its weights, where the test needs them")
    elif not isinstance(data["weights"], list):
        raise WireError("not a Keras model of the protocol")
    weights = None
    try:
        with address_space_budget(KERAS_BUILD_BUDGET):
            model = keras.models.model_from_json(data["keras"])
            if "weights" in data:
                weights = [_from_npy(w) for w in data["weights"]]
                model.set_weights(weights)  # Keras refuses weights that do not fit, all of them
    except WireError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever the config holds, it is no model of ours
        if isinstance(error, MemoryError) or type(error).__name__ == "ResourceExhaustedError":
            raise WireError(f"a Keras model larger than the grader rebuilds (its layers ask for more than "
                            f"{KERAS_BUILD_BUDGET >> 30} GiB)") from None
        raise WireError(f"not a Keras model that can be rebuilt: {type(error).__name__}: {str(error)[:200]}") from None
    if not isinstance(model, keras.Model):
        raise WireError("not a Keras model")
    return model, weights


@contextlib.contextmanager
def address_space_budget(budget):
    """Inside this block, this process may map at most ``budget`` bytes beyond what it maps now
    (the soft ``RLIMIT_AS``, put back afterwards): an allocation past it fails with an error
    instead of taking the machine's memory. Where the limit cannot be read, nothing changes."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm", "rb") as statm:
            mapped = int(statm.read().split()[0]) * resource.getpagesize()
    except (ImportError, OSError, ValueError, IndexError):
        yield
        return
    cap = mapped + budget if hard == resource.RLIM_INFINITY else min(mapped + budget, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:  # already as tight
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def error_message(error):
    """``str(error)``, computed without running any code of the student's: an exception class's
    own ``__str__``, or arguments that are not plain values, could loop for ever (and the kernel
    with it) or lie; their message is not shown."""
    owner = next(klass for klass in type(error).__mro__ if "__str__" in vars(klass))
    if owner.__module__ != "builtins" or not all(type(arg) in PLAIN + (float,) for arg in error.args):
        return f"(the message of this {type(error).__name__} is not shown: it is not plain text)"
    return str(error)[:MAX_TEXT]


def error_report(error):
    """{"type", "bases", "message", "where"} of an exception raised by the student's code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != AGENT_FILE]
    where = ""
    if frames:
        frame = frames[-1]
        where = f" (line {frame.lineno}" + (f": `{frame.line.strip()}`" if frame.line else "") + ")"
    bases = [klass.__name__ for klass in type(error).__mro__
             if klass.__module__ == "builtins" and issubclass(klass, BaseException)]
    return {"type": type(error).__name__, "bases": bases, "message": error_message(error), "where": where}


# ------------------------------------------------------------------------------------------------
# The kernel's side
# ------------------------------------------------------------------------------------------------

REPLAY_FLUSH = 1000  # calls of stand-ins answered in the kernel, sent to the grader at once at most


def replay_class(source, name):
    """The class ``name`` defined by ``source``, a stand-in class of the visible tests that the
    grader lets the kernel answer with (numpy as ``np``, builtins, nothing else): made afresh
    for each test, so that nothing a test's calls did to one copy reaches the next."""
    namespace = {"np": np, "__name__": "course_stand_ins"}
    exec(compile(source, "<course-stand-in>", "exec"), namespace)  # noqa: S102 - the grader's text
    return namespace[name]


class TestEnded(BaseException):
    """The grader ended the test while the student's code still ran (it refused what the kernel
    logged): the call stops, and the agent's cell with it. Not an Exception, so that the student's
    ``except Exception`` does not go on calling."""


class Agent:
    """Answers the grader's requests in the kernel; ``ask(text)`` sends a message and returns the
    grader's next one."""

    def __init__(self, namespace, ask):
        self.namespace = namespace
        self.ask = ask
        self.codec = Codec(handles=True)
        self.saved = []  # (namespace, name, old value or missing) of installed stand-ins
        self.log = []    # calls of stand-ins answered here, not yet sent to the grader
        self.broken = False     # a message to the grader failed: stand-ins no longer answer here
        self.measuring = False  # a call measured for its peak memory runs: stand-ins answer from the grader

    def tell(self, message):
        """Send ``message`` (a dict) with the calls logged since the last one; the grader's answer."""
        if self.log:
            message = {"log": self.log, **message}
            self.log = []
        try:
            return self.ask(json.dumps(message))
        except BaseException:
            self.broken = True
            raise

    def serve(self):
        try:
            request = self.ask("course-agent:ready")
            while True:
                message = json.loads(request)
                if message.get("op") == "end":
                    return
                request = self.tell(self.answer(message))
        except TestEnded:
            return
        finally:
            # A test stopped before its end (out of time, the grader gone) leaves none of its
            # stand-ins in the notebook's names: the cells after it see the student's own.
            self.restore()

    def restore(self):
        """Put back the names that installed stand-ins replaced (or remove those that were new)."""
        while self.saved:
            namespace, name, old = self.saved.pop()
            if old is self:
                namespace.pop(name, None)
            else:
                namespace[name] = old

    def target(self, message):
        target = message.get("target") or {}
        if "name" in target:
            name = target["name"]
            if name not in self.namespace:
                raise NameError(f"name {name!r} is not defined")
            return self.namespace[name]
        return self.codec.decode(target)

    def answer(self, message):
        received = ()
        try:
            op = message.get("op")
            target = self.target(message) if op != "uninstall" else None
            if op == "call":
                args = self.codec.decode(message.get("args", {"list": []}))
                kwargs = self.codec.decode(message.get("kwargs", {"dict": []}))
            elif op == "setattr" and "callback" not in message:
                value = self.codec.decode(message.get("value"))
            received = self.codec.take_touched()
            measured = {}
            if op == "call":
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    if message.get("measure") == "peak memory":
                        self.measuring = True
                        try:
                            value, measured["peak_bytes"] = peak_memory(target, args, kwargs)
                        finally:
                            self.measuring = False
                    else:
                        value = target(*args, **kwargs)
            elif op == "getattr":
                value = getattr(target, message["name"])
            elif op == "setattr":
                if "callback" in message:
                    value = self.stand_in(message["callback"], message.get("methods"))
                setattr(target, message["name"], value)
                value = None
            elif op == "install":
                namespace = getattr(target, "__globals__", None)
                if not isinstance(namespace, dict):
                    namespace = self.namespace
                copies = {}  # the kernel's copies of stand-ins that answer here, by the grader's number
                for entry in message["names"]:
                    name = entry["name"]
                    self.saved.append((namespace, name, namespace.get(name, self)))
                    if "replay" in entry:
                        namespace[name] = self.replayed_stand_in(name, entry["replay"], copies)
                    else:
                        namespace[name] = self.stand_in(name, entry.get("methods"))
                value = None
            elif op == "uninstall":
                self.restore()
                value = None
            else:
                raise ValueError(f"unknown request {op!r}")
            with self.codec.models_without_weights(message.get("models") == "without weights"):
                encoded = self.codec.encode(value)
            return {"value": encoded, "changed": self.codec.changed(received), **measured}
        except BaseException as error:  # noqa: BLE001 - reported to the grader, which decides
            if isinstance(error, (KeyboardInterrupt, TestEnded)):
                raise
            return {"raised": error_report(error), "changed": self.codec.changed(received)}

    def call_back(self, request, args, kwargs, label):
        """Ask the grader to run its stand-in; nested requests are answered meanwhile."""
        request = {**request, "args": self.codec.encode(list(args)), "kwargs": self.codec.encode(dict(kwargs))}
        while True:
            message = json.loads(self.tell(request))
            if "op" in message:  # the grader asks something while its stand-in runs
                request = self.nested(message)
                continue
            if "raised" in message:
                raise RuntimeError(f"the test's stand-in for {label} failed: {message['raised']}")
            return self.codec.decode(message.get("value"))

    def nested(self, message):
        """The answer to a request that came while the grader's answer to a call from here was
        awaited. "end" there means the grader decided the test in the middle of that call (it
        refused what came from here): the call stops (:class:`TestEnded`), and the agent's cell."""
        if message.get("op") == "end":
            self.broken = True
            raise TestEnded()
        return self.answer(message)

    def stand_in(self, key, methods=None):
        """A function of the kernel that runs the grader's stand-in ``key``; with ``methods``, a
        class whose instances' methods run those of the grader's stand-in."""
        agent = self
        if methods is None:
            def stand_in(*args, **kwargs):
                return agent.call_back({"callback": key}, args, kwargs, key)
            stand_in.__name__ = key
            return stand_in

        def new(instance, *args, **kwargs):
            object.__setattr__(instance, "_course_instance", agent.call_back({"callback": key, "new": True},
                                                                             args, kwargs, key))

        def method(name):
            def call(instance, *args, **kwargs):
                request = {"callback": key, "instance": instance._course_instance, "method": name}
                return agent.call_back(request, args, kwargs, f"{key}.{name}")
            call.__name__ = name
            return call

        return type(key, (), {"__init__": new, **{name: method(name) for name in methods}})

    def replayed_stand_in(self, key, replay, copies):
        """A function of the kernel that answers as the grader's stand-in ``key`` would, with a copy
        of it made here (``replay``: its class's source and name, the arguments it was made with,
        the method that answers), and logs each call, its arguments and its answer: the grader
        runs its own stand-in on the logged calls, in order, and refuses an answer that differs
        (``session.Session.replay``). One message for up to ``REPLAY_FLUSH`` calls instead of
        one each way per call. While a call is measured for its peak memory, or once a message to
        the grader failed, each call goes to the grader as any stand-in's."""
        agent, codec = self, self.codec
        number = replay["instance"]
        if number not in copies:
            cls = replay_class(replay["source"], replay["class"])
            args, kwargs = codec.decode(replay["arguments"]), codec.decode(replay["keywords"])
            copies[number] = cls(*args, **kwargs)
        answer = getattr(copies[number], replay["method"]) if replay.get("method") else copies[number]

        def stand_in(*args, **kwargs):
            if agent.measuring or agent.broken:
                return agent.call_back({"callback": key}, args, kwargs, key)
            entry = {"callback": key}
            entry["args"], entry["kwargs"] = codec.encode_arguments(args, kwargs)
            try:
                value = answer(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - as the grader's stand-in would report it
                entry["raised"] = f"{type(error).__name__}: {error}"[:MAX_TEXT]
                agent.logged(entry)
                raise RuntimeError(f"the test's stand-in for {key} failed: {entry['raised']}") from None
            first = len(codec.table)
            entry["value"] = codec.encode(value)
            for new in range(first, len(codec.table)):  # as if the answer had come from the grader
                codec.received.add(new)
                codec.touched.add(new)
            agent.logged(entry)
            return value
        stand_in.__name__ = key
        return stand_in

    def logged(self, entry):
        self.log.append(entry)
        if len(self.log) >= REPLAY_FLUSH:
            reply = json.loads(self.tell({}))  # the log alone; the grader acknowledges it
            while "op" in reply:  # it refused the log: it puts its stand-ins away and ends the test
                reply = json.loads(self.tell(self.nested(reply)))


def peak_memory(function, args, kwargs):
    """``(function(*args, **kwargs), bytes)``: its result and the most memory the call held at
    once beyond what was held before it (NumPy reports its arrays to ``tracemalloc``)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        value = function(*args, **kwargs)
        return value, max(0, tracemalloc.get_traced_memory()[1] - before)
    finally:
        if started:
            tracemalloc.stop()


def serve(namespace, ask):
    """Entry point in the kernel: answer requests until the grader says "end"."""
    Agent(namespace, ask).serve()


def serve_socket(namespace, path):
    """Entry point in the kernel: connect to the grader's socket at ``path`` and serve there."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(path)
        channel = Channel(connection)

        def ask(text):
            channel.send(text)
            return channel.receive()
        serve(namespace, ask)
