"""The plain-data wire between the grader and the sandboxed kernel (autograder/decisions/wire.py)."""
import base64
import io
import json
import os
import pickle
import time

import numpy as np
import pytest

from autograder.decisions.kernel_memory import CROSSING_PER_CHARACTER, CROSSING_SLACK, KernelMemory
from autograder.decisions.session import AnswerRefused, Session, same_data
from autograder.decisions.wire import MAX_DEPTH, Agent, Codec, WireError, read_message


def cross(data):
    return json.loads(json.dumps(data))



@pytest.mark.parametrize("a, b", [(1, 1.0), (1, True), (0, False), ([1, 2], [1, 2.0]), ({"ref": 3}, {"ref": 3.0}),
                                  ({"a": 1, "b": 2}, {"b": 2, "a": 1}), ("1", 1), (None, False), ([1], (1,)),
                                  ({"array": ["<f8", [1, 2], "C", "AA=="]}, {"array": ["<f8", [1, 2.0], "C", "AA=="]})])
def test_two_written_values_are_the_same_only_type_for_type(a, b):
    """How the grader compares the kernel's replayed answers with its own, as written for the
    wire: what == takes for equal (1, 1.0, True; dicts in another order) differs here."""
    assert not same_data(a, b) and not same_data(b, a)
    assert same_data(a, json.loads(json.dumps(a)))

def test_values_cross_as_equal_plain_data():
    sender, receiver = Codec(handles=True), Codec(handles=False)
    value = {"a": np.arange(6.0).reshape(2, 3), "b": (1, 2.5, "x", None, True), "c": [np.float32(1.5)],
             3: float("nan")}
    got = receiver.decode(cross(sender.encode(value)))
    assert got.keys() == value.keys()
    assert np.array_equal(got["a"], value["a"]) and got["b"] == value["b"]
    assert type(got["c"][0]) is np.float32 and np.isnan(got[3])


@pytest.mark.parametrize("array", [
    np.arange(12.0).reshape(3, 4), np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.arange(5)[::2],
    np.array(7, dtype=np.int16), np.zeros((0, 3), dtype=np.float32), np.array([True, False]),
    np.array(["cat", "non-cat"]), np.array([1 + 2j]), np.array(["2026-12-01"], dtype="datetime64[D]"),
    np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]), np.array([-0.0, np.nan, np.inf]).astype(">f8"),
], ids=["float", "fortran", "strided", "0-d", "empty", "bool", "str", "complex", "date", "structured",
        "big-endian"])
def test_arrays_cross_with_their_dtype_shape_layout_and_values(array):
    got = Codec(handles=False).decode(cross(Codec(handles=True).encode(array)))
    assert got.dtype == array.dtype and got.shape == array.shape
    assert got.tobytes() == array.tobytes()  # -0.0 stays -0.0, nan stays nan
    assert np.isfortran(got) == np.isfortran(array) and got.flags.writeable
    scalar = Codec(handles=False).decode(cross(Codec(handles=True).encode(array.reshape(-1)[0]))) if array.size else None
    if scalar is not None:
        assert type(scalar) is type(array.reshape(-1)[0]) and scalar.tobytes() == array.reshape(-1)[0].tobytes()


@pytest.mark.parametrize("bad", [
    ["|O8", [1], "C", ""], ["<f8", [2], "C", base64.b64encode(b"12345678").decode()],
    ["<f8", [-1], "C", ""], ["<f8", [1], "X", base64.b64encode(b"12345678").decode()],
    ["[('a', '<i4')]", [1], "C", "AAAAAA=="], ["<f8", [1], "C", "not base64!"], "<f8", ["<f8", [True], "C", ""],
])
def test_arrays_that_do_not_follow_the_protocol_are_refused(bad):
    with pytest.raises(WireError):
        Codec(handles=False).decode({"array": bad})


def test_an_object_sent_back_unchanged_arrives_as_the_very_object_the_other_side_holds():
    grader, kernel = Codec(handles=False), Codec(handles=True)
    w = np.zeros((3, 1))
    received = kernel.decode(cross(grader.encode([w])))[0]
    returned = grader.decode(cross(kernel.encode((received, received.copy()))))
    assert returned[0] is w and returned[1] is not w


def test_an_argument_changed_in_place_is_reported_and_its_changes_never_reach_the_grader():
    grader, kernel = Codec(handles=False), Codec(handles=True)
    w, b = np.zeros(3), np.zeros(2)
    args = kernel.decode(cross(grader.encode([w, b])))
    received = kernel.take_touched()
    args[0] -= 1  # the student's `w -= ...`
    assert kernel.changed(received) == [1]  # w (the list is 0, b is 2)
    returned = grader.decode(cross(kernel.encode(args[0])))
    assert np.array_equal(w, [0, 0, 0])  # the grader's own w is as it was
    assert returned is not w and np.array_equal(returned, [-1, -1, -1])  # what came back is the new value


def test_a_small_array_changed_only_to_minus_zero_counts_as_changed():
    grader, kernel = Codec(handles=False), Codec(handles=True)
    received = kernel.decode(cross(grader.encode([np.zeros(2)])))[0]
    numbers = kernel.take_touched()
    received *= -1  # 0.0 -> -0.0: equal values, different numbers
    assert kernel.changed(numbers) == [1]


def test_a_grader_object_changed_by_the_test_is_sent_again_by_value():
    grader, kernel = Codec(handles=False), Codec(handles=True)
    parameters = {"W1": np.ones(2)}
    first = kernel.decode(cross(grader.encode(parameters)))
    parameters["b1"] = np.zeros(1)
    second = kernel.decode(cross(grader.encode(parameters)))
    assert second is not first and sorted(second) == ["W1", "b1"] and second["W1"] is first["W1"]


def test_objects_that_are_not_data_stay_behind_as_handles_and_are_refused_where_data_is_expected():
    kernel, grader = Codec(handles=True), Codec(handles=False)
    sent = cross(kernel.encode(object()))
    assert set(sent) == {"handle", "type", "callable"}
    with pytest.raises(WireError, match="where data was expected"):
        Codec(handles=False).decode(sent)
    made = grader.decode(sent, make_handle=lambda n, label, is_callable: ("handle", n, label))
    assert made == ("handle", 0, "object")
    with pytest.raises(WireError):
        Codec(handles=False).encode(object())


def test_the_grader_never_sends_an_object_of_its_own():
    class Test:
        def __call__(self):
            return 1

    with pytest.raises(WireError):
        Codec(handles=False).encode([Test()])


def test_a_keras_model_crosses_as_a_new_model_built_from_its_config_and_weights():
    import keras

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(inputs))
    got = Codec(handles=False).decode(cross(Codec(handles=True).encode(model)))
    assert isinstance(got, keras.Model) and got is not model and got.get_layer("head").units == 2
    assert all(np.array_equal(a, b) for a, b in zip(got.get_weights(), model.get_weights()))
    with pytest.raises(WireError, match="not a Keras model that can be rebuilt"):
        Codec(handles=False).decode({"keras": '{"class_name": "os.system", "config": {}}', "weights": []})


def small_keras_model():
    import keras

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(inputs))
    model.set_weights([np.full((3, 2), 0.5, np.float32), np.ones(2, np.float32)])
    return model


def test_a_keras_model_asked_for_without_weights_crosses_as_its_config_alone():
    model = small_keras_model()
    kernel, grader = Codec(handles=True), Codec(handles=False)
    kernel.without_weights = grader.without_weights = True
    data = cross(kernel.encode(model))
    assert set(data) == {"keras", "without_weights"}
    got = grader.decode(data)
    assert got.get_layer("head").units == 2 and got.output_shape == (None, 2)
    assert not np.array_equal(got.get_weights()[0], model.get_weights()[0])  # fresh weights of its own
    # The two copies differ: neither side sends its copy by reference afterwards.
    kernel.without_weights = grader.without_weights = False
    again = cross(kernel.encode(model))
    assert "weights" in again
    assert all(np.array_equal(a, b) for a, b in zip(grader.decode(again).get_weights(), model.get_weights()))
    assert "weights" in grader.encode(got)


def test_a_keras_model_without_its_weights_is_refused_where_the_test_needs_them():
    kernel = Codec(handles=True)
    with kernel.models_without_weights():
        data = cross(kernel.encode(small_keras_model()))
    with pytest.raises(WireError, match="came without its weights, where the test needs them"):
        Codec(handles=False).decode(data)
    whole = cross(Codec(handles=True).encode(small_keras_model()))
    with pytest.raises(WireError, match="not a Keras model that can be rebuilt: ValueError.*length 1"):
        Codec(handles=False).decode({**whole, "weights": whole["weights"][:1]})
    with pytest.raises(WireError, match="not a Keras model of the protocol"):
        Codec(handles=False).decode({"keras": whole["keras"]})


def test_a_keras_model_changed_in_place_since_it_crossed_is_reported_and_sent_again_by_value():
    grader, kernel = Codec(handles=False), Codec(handles=True)
    model = small_keras_model()
    theirs = kernel.decode(cross(grader.encode(model)))
    number = len(kernel.table) - 1
    assert kernel.changed([number]) == [] and cross(grader.encode(model)) == {"ref": number}
    theirs.get_layer("head").set_weights([np.zeros((3, 2), np.float32), np.zeros(2, np.float32)])
    assert kernel.changed([number]) == [number]  # the kernel tells the grader
    again = cross(kernel.encode(theirs))  # and sends its copy by value from now on
    assert "weights" in again and not np.any(grader.decode(again).get_weights()[0])
    model.get_layer("head").set_weights([np.ones((3, 2), np.float32), np.ones(2, np.float32)])
    assert "weights" in cross(grader.encode(model))  # the same on the grader's side


def test_the_agent_measures_the_memory_a_call_held_at_once_where_the_grader_asks():
    def builds_8_mb():
        return float(np.ones(10 ** 6).sum())

    agent = Agent({"f": builds_8_mb}, ask=None)
    answer = agent.answer({"op": "call", "target": {"name": "f"}, "measure": "peak memory"})
    assert answer["value"] == 1e6 and 8 * 10 ** 6 <= answer["peak_bytes"] < 9 * 10 ** 6
    assert "peak_bytes" not in agent.answer({"op": "call", "target": {"name": "f"}})


@pytest.mark.parametrize("peak", [None, -1, "0", 2.5, True])
def test_a_measured_call_whose_peak_memory_does_not_come_back_is_refused(peak):
    reply = {"value": 1, "changed": [], **({} if peak is None else {"peak_bytes": peak})}
    session = Session(lambda text: json.dumps(reply))
    with pytest.raises(AnswerRefused, match="peak memory did not come back"):
        session.call({"name": "f"}, (), {}, measure=True)


def test_a_measured_call_returns_its_result_and_peak_memory():
    session = Session(lambda text: json.dumps({"value": 1, "changed": [], "peak_bytes": 5}))
    assert session.call({"name": "f"}, (), {}, measure=True) == (1, 5)
    assert session.call({"name": "f"}, (), {}) == 1


def test_a_measured_call_holds_the_larger_of_the_kernels_word_and_what_was_seen_from_outside():
    # the "kernel" is this process: while it answers, it holds 300 MiB and says it held 5 bytes;
    # its answer is 4 MB long, which the measurement from outside allows for
    padding = 4 * 10 ** 6

    def holds_300_mib(text):
        block = np.ones(300 * 2 ** 20 // 8)
        time.sleep(0.05)
        del block
        return json.dumps({"value": 1, "changed": [], "peak_bytes": 5, "padding": "x" * padding})

    seen = Session(holds_300_mib, memory=KernelMemory(os.getpid())).call({"name": "f"}, (), {}, measure=True)[1]
    expected = 300 * 2 ** 20 - CROSSING_SLACK - CROSSING_PER_CHARACTER * padding
    assert expected - 2 ** 12 <= seen < expected + 12 * 2 ** 20
    assert Session(holds_300_mib).call({"name": "f"}, (), {}, measure=True) == (1, 5)  # nothing watched
    quiet = Session(lambda text: json.dumps({"value": 1, "changed": [], "peak_bytes": 5}),
                    memory=KernelMemory(os.getpid()))
    assert quiet.call({"name": "f"}, (), {}, measure=True) == (1, 5)  # the kernel's word, where it is larger


def test_inside_an_address_space_budget_a_larger_allocation_fails_and_the_limit_is_put_back():
    import resource

    from autograder.decisions.wire import address_space_budget

    before = resource.getrlimit(resource.RLIMIT_AS)
    with address_space_budget(64 << 20):
        small = np.ones((8 << 20) // 8)
        with pytest.raises(MemoryError):
            np.ones((512 << 20) // 8)
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    assert np.ones((512 << 20) // 8).sum() == 64 << 20  # as before the block
    assert small.sum() == 1 << 20


def test_pickles_object_arrays_and_unknown_references_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(WireError):
        Codec(handles=False).decode({"ndarray": base64.b64encode(buffer.getvalue()).decode()})
    with pytest.raises(WireError):
        Codec(handles=False).decode({"pickle": base64.b64encode(pickle.dumps(1)).decode()})
    with pytest.raises(WireError):
        Codec(handles=False).decode({"ref": 5})
    with pytest.raises(WireError):
        Codec(handles=False).decode({"ref": True})


def test_values_nested_too_deeply_are_refused_on_both_sides():
    deep = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(WireError, match="nested too deeply"):
        Codec(handles=True).encode(deep)
    data = {"list": []}
    for _ in range(MAX_DEPTH + 5):
        data = {"list": [data]}
    with pytest.raises(WireError, match="nested too deeply"):
        Codec(handles=False).decode(data)
    with pytest.raises(WireError):
        read_message("[" * 100000 + "]" * 100000)


def test_odd_numbers_and_keys_are_refused():
    with pytest.raises(WireError):
        Codec(handles=False).decode({"float": "1e309"})
    with pytest.raises(WireError):
        Codec(handles=False).decode({"dict": [[{"list": []}, 1]]})  # a list cannot be a key


def test_a_message_larger_than_the_protocol_allows_is_refused_unread_and_ends_the_connection():
    import socket

    from autograder.decisions.wire import MAX_FRAME, Channel

    grader_end, kernel_end = socket.socketpair()
    with grader_end, kernel_end:
        kernel_end.sendall((MAX_FRAME + 1).to_bytes(8, "big") + b"x" * 1000)
        channel = Channel(grader_end, wait=lambda: None)
        with pytest.raises(WireError, match="larger than the protocol allows"):
            channel.receive()
        assert channel.broken
        with pytest.raises(OSError):
            for _ in range(100):  # the kernel's side finds the connection closed
                kernel_end.sendall(b"y" * 65536)


def test_an_exceptions_message_is_read_without_running_the_students_code():
    from autograder.decisions.wire import error_report

    class Endless(Exception):
        def __str__(self):
            raise AssertionError("the student's __str__ ran")

    class Evil:
        def __str__(self):
            raise AssertionError("the student's argument's __str__ ran")

    assert "is not shown" in error_report(Endless("x"))["message"]
    assert "is not shown" in error_report(ValueError(Evil()))["message"]
    assert error_report(ValueError("shapes (3,) and (4,) not aligned", 2))["message"] == \
        "('shapes (3,) and (4,) not aligned', 2)"
    assert error_report(KeyError("W1"))["message"] == "'W1'"
