"""The plain-data wire between the grader and the sandboxed kernel (autograder/wire.py)."""
import base64
import io
import json
import pickle

import numpy as np
import pytest

from autograder.wire import Codec, WireError


def cross(data):
    return json.loads(json.dumps(data))


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


def test_a_small_array_changed_in_place_only_to_minus_zero_still_reaches_the_other_side():
    grader, kernel = Codec(handles=False), Codec(handles=True)
    w = np.zeros(2)
    received = kernel.decode(cross(grader.encode([w])))[0]
    received *= -1  # 0.0 -> -0.0: equal values, different numbers
    grader.apply(cross(kernel.changes()))
    assert np.signbit(w).all()


def test_an_object_sent_back_arrives_as_the_very_object_the_other_side_holds():
    grader, kernel = Codec(handles=False), Codec(handles=True)
    w = np.zeros((3, 1))
    received = kernel.decode(cross(grader.encode([w])))[0]
    returned = grader.decode(cross(kernel.encode((received, received.copy()))))
    assert returned[0] is w and returned[1] is not w


def test_changes_in_place_reach_the_other_side():
    grader, kernel = Codec(handles=False), Codec(handles=True)
    w = np.zeros(3)
    received = kernel.decode(cross(grader.encode([w])))[0]
    received -= 1  # the student's `w -= ...`
    grader.apply(cross(kernel.changes()))
    assert np.array_equal(w, [-1, -1, -1])


def test_objects_that_are_not_data_stay_behind_as_handles_on_one_side_and_are_refused_on_the_other():
    kernel, grader = Codec(handles=True), Codec(handles=False)
    sent = cross(kernel.encode(object()))
    assert set(sent) == {"handle", "type", "callable"}
    assert grader.decode(sent, make_handle=lambda n, label, is_callable: ("handle", n, label)) == ("handle", 0, "object")
    with pytest.raises(WireError):
        Codec(handles=False).encode(object())


def test_pickles_and_object_arrays_are_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises((WireError, ValueError)):
        Codec(handles=False).decode({"ndarray": base64.b64encode(buffer.getvalue()).decode()})
    with pytest.raises(WireError):
        Codec(handles=False).decode({"pickle": base64.b64encode(pickle.dumps(1)).decode()})
    with pytest.raises(WireError):
        Codec(handles=False).decode({"ref": 5})


def test_a_side_with_a_predicate_keeps_only_the_objects_it_allows_behind_handles():
    class Allowed:
        pass

    grader, kernel = Codec(handles=lambda obj: isinstance(obj, Allowed)), Codec(handles=True)
    allowed = Allowed()
    sent = cross(grader.encode([allowed, np.zeros(2)]))
    received = kernel.decode(sent, make_handle=lambda n, label, is_callable: ("proxy", n, label))
    assert received[0] == ("proxy", 1, "Allowed")
    assert grader.own_object({"ref": 1}) is allowed
    with pytest.raises(WireError):
        grader.own_object({"ref": 2})  # the array crossed by value: it is no handle to ask
    with pytest.raises(WireError):
        grader.encode(object())
