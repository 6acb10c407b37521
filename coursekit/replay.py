"""Keras training recorded once by the grader, replayed in the kernels it grades.

A graded run of a Keras notebook trains the same networks, from the same starting weights, on the
same pictures, in submission after submission: most of its time is spent there, and nothing
graded reads the result. The grader runs the reference notebook once with ``COURSE_REPLAY_RECORD_DIR``
naming a folder of its own: each ``fit``, ``evaluate`` and ``predict`` of a ``keras.Model`` is then
kept there, under a key, with what it changed. In the kernels it grades, ``COURSE_REPLAY_DIR``
names that folder (read-only); a call whose key is there is not run again: the model's variables,
its optimizer's, the random states and the return value become what the recorded call left, and
what it printed is printed again. Any other call runs as usual.

The key is the sha256 of everything the call's result depends on: the model's configuration (its
layers' names aside) and the values of all its variables (the random layers' seed states among them), the compile
configuration, the optimizer's configuration and variables, every argument (arrays by their
bytes), the states of Python's, NumPy's, TensorFlow's and Keras's random generators, the thread
counts and the versions of Keras, TensorFlow and NumPy. Two calls with the same key compute the
same bits (TensorFlow on the CPU is deterministic for a given number of threads), so a replayed
call leaves what running it would have left. A call the key cannot describe (callbacks, data
sets or generators as arguments, a layer that is not one of Keras's own, a model Keras cannot
describe) always runs. An entry is named, and encrypted, by its key: a kernel can read only the
entries of calls it makes itself, identical to the reference's, and learns from the folder
nothing it could not compute. An entry whose arrays do not match their record (corrupt, cut
short) is not used. Without either variable, as on a student's machine, nothing here is used.
"""
import contextlib
import hashlib
import inspect
import io
import json
import os
import random
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np

from .whole_files import write_whole

FOLDER_VARIABLE = "COURSE_REPLAY_DIR"
RECORD_VARIABLE = "COURSE_REPLAY_RECORD_DIR"
FORMAT = 1
METHODS = ("fit", "evaluate", "predict")
SIMPLE = (type(None), bool, int, float, str)
calls = {"replayed": 0, "ran": 0, "recorded": 0}  # this process's outermost calls, for tests
_inside = threading.local()  # fit calls evaluate for its validation data: only the outermost call counts


class Undescribed(Exception):
    """A call the key cannot describe: it runs as usual."""


def install(keras):
    """Wrap ``keras.Model``'s fit, evaluate and predict where either variable names a folder."""
    replay_from, record_to = os.environ.get(FOLDER_VARIABLE), os.environ.get(RECORD_VARIABLE)
    if not (replay_from or record_to):
        return False
    for method in METHODS:
        original = getattr(keras.Model, method)
        original = getattr(original, "__wrapped__", original)
        setattr(keras.Model, method, _wrapper(method, original, replay_from, record_to))
    return True


def _wrapper(method, original, replay_from, record_to):
    signature = inspect.signature(original)

    def wrapper(self, *args, **kwargs):
        if getattr(_inside, "call", False):
            return original(self, *args, **kwargs)
        _inside.call = True
        try:
            return outermost(self, *args, **kwargs)
        finally:
            _inside.call = False

    def outermost(self, *args, **kwargs):
        try:  # whatever goes wrong here, the call runs as it would have
            material = key(method, self, signature.bind(self, *args, **kwargs).arguments)
            entry = _read(Path(replay_from), material) if replay_from else None
            entry = entry if entry is not None and _matches(self, entry) else None
        except Exception:  # noqa: BLE001 - Undescribed, or anything Keras raises describing the call
            material = entry = None
        if entry is not None:
            calls["replayed"] += 1
            return _replay(method, self, entry)
        calls["ran"] += 1
        if not (material and record_to):
            return original(self, *args, **kwargs)
        before = _variables_digest(self)
        printed = io.StringIO()
        with contextlib.redirect_stdout(_Tee(sys.stdout, printed)):
            result = original(self, *args, **kwargs)
        try:
            if _store(Path(record_to), material, method, self, result, printed.getvalue(), before):
                calls["recorded"] += 1
        except Exception:  # noqa: BLE001 - a call not kept is run by every kernel: slower, never wrong
            pass
        return result

    wrapper.__wrapped__ = original
    wrapper.__doc__ = original.__doc__
    wrapper.__signature__ = signature
    return wrapper


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()


# --------------------------------------------------------------------------------------------
# The key
# --------------------------------------------------------------------------------------------

def key(method, model, arguments):
    """The sha256 (bytes) of everything ``model.<method>(**arguments)`` depends on (``arguments`` as
    bound by its signature, ``self`` among them); raises :class:`Undescribed` for a call it cannot
    describe. The entry's name and the secret its files are encrypted with are made from it."""
    import keras
    import tensorflow as tf

    digest = hashlib.sha256()
    for layer in model._flatten_layers(include_self=False):
        kind = type(layer)
        if not kind.__module__.startswith("keras.") or not kind.call.__module__.startswith("keras."):
            raise Undescribed(f"layer {layer.name} is not one of Keras's own")
    if type(model).__module__.split(".")[0] != "keras":
        raise Undescribed("the model is not one of Keras's own classes")
    if any(isinstance(layer, keras.layers.Lambda) for layer in model._flatten_layers()):
        raise Undescribed("a Lambda layer: its configuration holds its code, not the values it reads")
    description = {
        "format": FORMAT, "method": method,
        "versions": [keras.__version__, tf.__version__, np.__version__],
        "threads": [tf.config.threading.get_intra_op_parallelism_threads(),
                    tf.config.threading.get_inter_op_parallelism_threads(),
                    os.environ.get("OMP_NUM_THREADS")],
        "model": [type(model).__qualname__, _configuration(model)],
        "compiled": model.compiled and model.get_compile_config(),
        "optimizer": model.optimizer.get_config() if getattr(model, "optimizer", None) else None,
        "arguments": {name: _describe(value, digest) for name, value in arguments.items() if name != "self"},
        "random": _random_states(),
    }
    _only_keras_objects(description)
    digest.update(json.dumps(description, sort_keys=True, default=_refuse).encode("utf-8"))
    digest.update(_variables_digest(model))
    return digest.digest()


def _configuration(model):
    """The model's configuration with its layers' names made their places: Keras numbers the
    names it gives (``dense_3``) across the whole kernel, so the same network built after other
    cells has other names, and names change nothing computed. Every string that names a layer,
    wherever it is (the layer's name, a reference to it), becomes one no configuration holds."""
    places = {layer.name: f"\x00{i}" for i, layer in enumerate(model._flatten_layers(include_self=True))}

    def renamed(value):
        if isinstance(value, str):
            return places.get(value, value)
        if isinstance(value, list):
            return [renamed(part) for part in value]
        if isinstance(value, dict):
            return {name: renamed(part) for name, part in value.items()}
        return value

    return renamed(json.loads(model.to_json()))


def _variables_digest(model):
    """The values of the model's and its optimizer's variables, in order (their names left out)."""
    digest = hashlib.sha256()
    for variable in _variables(model):
        _hash_array(digest, np.asarray(variable))
    return digest.digest()


def _layout(variables):
    return [[list(v.shape), np.dtype(v.dtype).str] for v in variables]


def _only_keras_objects(value):
    """Raise :class:`Undescribed` where a configuration names an object that is not Keras's own (a
    function or class of the student's: its name is in the configuration, its code is not)."""
    if isinstance(value, dict):
        module = value.get("module")
        if (module is not None and str(module).split(".")[0] != "keras") or value.get("class_name") == "__lambda__":
            raise Undescribed(f"an object of {module!r} in the configuration")
        for part in value.values():
            _only_keras_objects(part)
    elif isinstance(value, list):
        for part in value:
            _only_keras_objects(part)


def _refuse(value):
    raise Undescribed(f"a {type(value).__name__} in the call's description")


def _describe(value, digest):
    if isinstance(value, SIMPLE):
        return value
    if isinstance(value, np.ndarray):
        _hash_array(digest, value)
        return ["array", value.dtype.str, list(value.shape)]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_describe(part, digest) for part in value]]
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return ["dict", sorted([type(k).__name__, str(k), _describe(v, digest)] for k, v in value.items())]
    raise Undescribed(f"an argument of type {type(value).__name__}")


def _hash_array(digest, array):
    if array.dtype.hasobject:
        raise Undescribed("an array of Python objects")
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode("ascii"))
    digest.update(array.view(np.uint8).reshape(-1) if array.size else b"")


def _variables(model):
    """The model's variables (weights and random seed states), then its optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    return list(model.variables) + (list(optimizer.variables) if optimizer is not None else [])


def _random_states():
    """Every random generator a Keras call may draw from, as JSON."""
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    from tensorflow.python.eager import context

    numpy_state = np.random.get_state(legacy=False)
    if numpy_state.get("bit_generator") != "MT19937":
        raise Undescribed("NumPy's global generator was replaced")
    keras_generator = global_state.get_global_attribute(GLOBAL_SEED_GENERATOR)
    tf_context = context.context()
    tf_random = getattr(tf_context, "_rng", None)
    return {
        "python": _plain(random.getstate()),
        "numpy": _plain(numpy_state),
        "keras": None if keras_generator is None else np.asarray(keras_generator.state).tolist(),
        "tensorflow": [getattr(tf_context, "_seed", None), None if tf_random is None else _plain(tf_random.getstate())],
        "tensorflow_generator": _tf_generator_state(),
    }


def _tf_generator_state():
    from tensorflow.python.ops import stateful_random_ops

    generator = getattr(stateful_random_ops, "global_generator", None)
    return None if generator is None else np.asarray(generator.state).tolist()


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _set_random_states(states):
    from keras.src.random.seed_generator import global_seed_generator
    from tensorflow.python.eager import context

    random.setstate(_python_state(states["python"]))
    numpy_state = states["numpy"]
    numpy_state["state"]["key"] = np.array(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    if states["keras"] is not None:  # made by the call where there was none before
        state = global_seed_generator().state
        state.assign(np.array(states["keras"], dtype=np.dtype(state.dtype)))
    seed, tf_random = states["tensorflow"]
    if tf_random is not None:
        context.context()._rng.setstate(_python_state(tf_random))
    if states["tensorflow_generator"] is not None:
        from tensorflow.python.ops import stateful_random_ops

        generator = stateful_random_ops.global_generator
        generator.state.assign(np.array(states["tensorflow_generator"], dtype=generator.state.dtype.as_numpy_dtype))


def _python_state(state):
    version, internal, gauss = state
    return version, tuple(internal), gauss


# --------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------

def entry_name(material):
    return hashlib.sha256(material + b"/name").hexdigest()[:40]


def _crypt(data, material, part):
    """``data`` encrypted, or decrypted, with the keystream of ``material`` for ``part``: an entry
    tells nothing (not even the reference's layers) to a kernel that does not already hold
    everything its call depends on."""
    stream = hashlib.shake_256(hashlib.sha256(material + b"/secret").digest() + part).digest(len(data))
    return (np.frombuffer(data, np.uint8) ^ np.frombuffer(stream, np.uint8)).tobytes()


def _store(folder, material, method, model, result, printed, before):
    """Keep what the call left: the arrays first, then the record that holds their sha256, each
    encrypted, written whole under a temporary name and renamed. Returns whether it was kept."""
    variables = _variables(model)
    changed = _variables_digest(model) != before
    arrays = {f"v{i}": np.asarray(v) for i, v in enumerate(variables)} if changed else {}
    if method == "fit":
        value = {"history": _plain(result.history), "epoch": _plain(result.epoch), "params": _plain(result.params)}
    elif method == "predict":
        if not isinstance(result, np.ndarray):
            return False  # a model with several outputs: not kept
        arrays["result"] = result
        value = None
    else:
        value = _plain(result)
    packed = io.BytesIO()
    np.savez(packed, **arrays)
    packed = packed.getvalue()
    record = {"format": FORMAT, "method": method, "layout": _layout(variables), "changed": changed,
              "value": value, "printed": printed, "random": _random_states(),
              "sha256": hashlib.sha256(packed).hexdigest()}
    folder.mkdir(parents=True, exist_ok=True)
    name = entry_name(material)
    for suffix, data in ((".arrays", _crypt(packed, material, b"arrays")),
                         (".record", _crypt(json.dumps(record).encode("utf-8"), material, b"record"))):
        write_whole(folder / f"{name}{suffix}", lambda out: out.write(data))
    return True


def _read(folder, material):
    """The entry of ``material`` in ``folder``: (record, arrays), or None where there is no sound one."""
    name = entry_name(material)
    try:
        record = json.loads(_crypt((folder / f"{name}.record").read_bytes(), material, b"record"))
        packed = _crypt((folder / f"{name}.arrays").read_bytes(), material, b"arrays")
        if record.get("format") != FORMAT or hashlib.sha256(packed).hexdigest() != record["sha256"]:
            return None
        with np.load(io.BytesIO(packed), allow_pickle=False) as stored:
            arrays = {part: stored[part] for part in stored.files}
        return record, arrays
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, zipfile.BadZipFile):
        return None


def _matches(model, entry):
    """Whether the entry's variables fit the model's, one for one (checked before any is set)."""
    record, arrays = entry
    if not record["changed"]:
        return record["layout"] == _layout(_variables(model))
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built and len(record["layout"]) > len(_variables(model)):
        optimizer.build(model.trainable_variables)  # the recorded call built it; so would this one
    variables = _variables(model)
    return (record["layout"] == _layout(variables)
            and all(arrays[f"v{i}"].shape == tuple(v.shape) and arrays[f"v{i}"].dtype == np.dtype(v.dtype)
                    for i, v in enumerate(variables)))


def _replay(method, model, entry):
    import keras

    record, arrays = entry
    if record["changed"]:
        for i, variable in enumerate(_variables(model)):
            variable.assign(arrays[f"v{i}"])
    _set_random_states(record["random"])
    if record["printed"]:
        sys.stdout.write(record["printed"])
    value = record["value"]
    if method == "predict":
        return arrays["result"].copy()
    if method == "evaluate":
        return value
    history = keras.callbacks.History()
    history.set_model(model)
    history.history, history.epoch, history.params = value["history"], value["epoch"], value["params"]
    model.history = history
    return history
