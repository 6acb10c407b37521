"""Stand-ins the kernel answers with a copy of its own, the grader replaying the calls it logged
(``check_helpers.replayed_in_kernel``, ``wire.Agent.replayed_stand_in``, ``session.Session.replay``).

The kernel's side runs in a thread of this process here, with the agent's own code; the tests
through a real, sandboxed kernel are in ``test_trusted.py`` and the catalogues'
``test_catalogues_decided_outside.py``.
"""
import gc
import json
import queue
import threading
import time
import types

import numpy as np
import pytest

from autograder import notebook_cells
from autograder.decisions import cell as trusted
from autograder.decisions import session, wire
from catalogue_runs import all_mistakes, graded_cells, with_source

A01, A02 = "a01_santa_logreg", "a02_cat_dnn"


def _agent_module():
    """The agent's code as a kernel runs it: compiled from its text under the name that error
    reports leave out (``cell.INSTALL``)."""
    module = types.ModuleType("__course_agent__")
    exec(compile(trusted.AGENT_SOURCE, wire.AGENT_FILE, "exec"), module.__dict__)
    return module


class ThreadKernel:
    """The agent serving ``namespace`` in a thread; ``exchange`` is the grader's side, counting
    the messages it sends."""

    def __init__(self, namespace):
        self.to_kernel, self.to_grader = queue.Queue(), queue.Queue()
        self.messages = 0
        self.thread = threading.Thread(target=_agent_module().serve, args=(namespace, self.ask), daemon=True)
        self.thread.start()
        assert self.to_grader.get(timeout=30) == "course-agent:ready"

    def ask(self, text):
        self.to_grader.put(text)
        return self.to_kernel.get()

    def exchange(self, text):
        self.messages += 1
        self.to_kernel.put(text)
        return self.to_grader.get(timeout=60)

    def end(self):
        self.to_kernel.put(json.dumps({"op": "end"}))
        self.thread.join(30)


def decided(assignment, function, source=None, online=False, monkeypatch=None):
    """(printed, failure, messages the grader sent) of test_<function>'s cell, against the
    reference solutions with ``source`` (a student's version) run over them; ``online``: every
    stand-in asked from the grader at each call, as before stand-ins could be replayed."""
    namespace = notebook_cells.reference_namespace(assignment)
    if source:
        with_source(namespace, source)
    if online:
        monkeypatch.setattr(session.Session, "_replay_spec", lambda self, value, copies: None)
    kernel = ThreadKernel(namespace)
    try:
        printed, failure = session.decide(graded_cells(assignment)[f"test_{function}"], kernel.exchange, assignment)
    finally:
        kernel.end()
        if online:
            monkeypatch.undo()
    assert not kernel.thread.is_alive(), "the agent went on after the test was decided"
    return printed, failure, kernel.messages


def test_a_training_loop_crosses_in_a_few_messages_and_passes():
    # a02's L_layer_model test: 410 iterations of 4 stand-ins (visible and hidden tests)
    printed, failure, messages = decided(A02, "L_layer_model")
    assert failure is None, failure
    assert "L_layer_model: hidden tests passed." in printed
    assert 3 <= messages <= 40, messages  # 1,640 calls, over 1,000 in one log at most


def _mistakes_of(assignment, function):
    return [(m.name, m.source) for m in all_mistakes(assignment) if m.function == function]


@pytest.mark.parametrize("assignment,function,mistake,source", [
    (assignment, function, name, source)
    for assignment, function in ((A01, "optimization"), (A02, "L_layer_model"))
    for name, source in [("reference", None), *_mistakes_of(assignment, function)]])
def test_each_answer_is_the_same_as_when_the_grader_answers_every_call(assignment, function, mistake, source,
                                                                       monkeypatch):
    replayed = decided(assignment, function, source)
    online = decided(assignment, function, source, online=True, monkeypatch=monkeypatch)
    assert replayed[:2] == online[:2]
    assert replayed[2] < online[2] / 20, (replayed[2], online[2])


TAMPERING = '''
def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
    """Finds the kernel's copy of the test's stand-in and has it answer zeros: w and b never move."""
    copy = propagate.__closure__
    bowl = [cell.cell_contents for cell in copy if type(cell.cell_contents).__name__ == "QuadraticBowl"][0]
    type(bowl).__call__ = lambda self, w, b, x, y: (w * 0, 0.0, 0.5)
    costs = []
    for i in range(num_iterations):
        dw, db, cost = propagate(w, b, x, y)
        w, b = w - learning_rate * dw, b - learning_rate * db
        if i % 50 == 0:
            costs.append(cost)
    return w, b, costs
'''

TAMPERING_TRAINING = '''
def L_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """Has the kernel's copy of the test's stand-ins say the cost is 0, then trains for ever."""
    copies = [cell.cell_contents for cell in compute_cost.__closure__
              if type(getattr(cell.cell_contents, "__self__", None)).__name__ == "TrainingStandIns"]
    type(copies[0].__self__).cost_at = staticmethod(lambda step: 0.0)
    parameters = initialize_parameters_deep(layers_dims)
    while True:
        try:
            AL, caches = L_model_forward(X, parameters)
            compute_cost(AL, Y)
            parameters = update_parameters(parameters, L_model_backward(AL, Y, caches), learning_rate)
        except Exception:
            pass
'''

FAILING_CALL = '''
def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
    """Calls propagate without y: the stand-in fails, as it does when the grader answers."""
    costs = []
    for i in range(num_iterations):
        dw, db, cost = propagate(w, b, x)
        w, b = w - learning_rate * dw, b - learning_rate * db
        costs.append(cost)
    return w, b, costs
'''


def test_an_answer_the_kernels_copy_was_made_to_change_is_refused():
    _, failure, _ = decided(A01, "optimization", TAMPERING)
    assert failure is not None and failure[0] == "GradingError", failure
    assert "answered differently from the test's" in failure[1] and "propagate" in failure[1]


def test_a_refused_log_ends_the_call_that_goes_on_logging():
    # the grader refuses the first thousand calls; the kernel's loop, which catches every
    # Exception, stops there instead of running until the cell's time is up
    started = time.monotonic()
    _, failure, messages = decided(A02, "L_layer_model", TAMPERING_TRAINING)
    assert failure is not None and failure[0] == "GradingError" and "answered differently" in failure[1], failure
    assert messages == 3 and time.monotonic() - started < 30  # install, call (answered by its first log), uninstall


def test_a_stand_in_that_fails_in_the_kernel_fails_as_the_graders_does(monkeypatch):
    replayed = decided(A01, "optimization", FAILING_CALL)
    assert replayed[:2] == decided(A01, "optimization", FAILING_CALL, online=True, monkeypatch=monkeypatch)[:2]
    assert "missing 1 required positional argument" in replayed[1][1], replayed[1]


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return x + self.calls


def _grader_session():
    """A Session whose stand-in ``count`` is a Counter the kernel answers itself; no kernel."""
    grader = session.Session(exchange=None)
    counter = Counter()
    grader.callbacks["count"] = (counter, None)
    grader.replayed.add("count")
    return grader, counter


def _logged(kernel, value, *args):
    """A log entry as the kernel's agent writes it (its codec ``kernel``)."""
    logged_args, logged_kwargs = kernel.encode_arguments(args, {})
    return {"callback": "count", "args": logged_args, "kwargs": logged_kwargs, "value": kernel.encode(value)}


def test_a_logged_answer_becomes_the_graders_own_object():
    grader, counter = _grader_session()
    kernel = wire.Codec(handles=True)
    x = np.arange(3.0)
    grader.replay([json.loads(json.dumps(_logged(kernel, x + 1, x)))])
    assert counter.calls == 1
    answer = grader.codec.table[-1]
    assert np.array_equal(answer, x + 1) and not grader.codec.received & {len(grader.codec.table) - 1}
    # the kernel passing it back by reference gives the grader's own object
    assert grader.codec.decode(json.loads(json.dumps(kernel.encode(kernel.table[-1])))) is answer


def test_a_logged_calls_arguments_cross_as_two_plain_lists_numbering_only_their_values():
    # positional and keyword arguments reach the stand-in; both sides number the array, not the lists
    grader, counter = _grader_session()
    kernel = wire.Codec(handles=True)
    x = np.arange(3.0)
    args, kwargs = kernel.encode_arguments((), {"x": x})
    assert args == [] and kwargs[0][0] == "x" and len(kernel.table) == 1
    grader.replay([json.loads(json.dumps({"callback": "count", "args": args, "kwargs": kwargs,
                                          "value": kernel.encode(x + 1)}))])
    assert counter.calls == 1 and len(grader.codec.table) == len(kernel.table) == 2
    assert np.array_equal(grader.codec.table[0], x) and grader.codec.table[0] is not x


@pytest.mark.parametrize("entry", [
    {"callback": "unknown", "args": [], "kwargs": [], "value": 1},
    {"callback": "count", "args": [1], "kwargs": []},  # no answer
    {"callback": "count", "args": [1], "kwargs": [], "value": 3},  # 1 + 1 is 2
    {"callback": "count", "args": [1], "kwargs": [], "value": 2.0},  # not an int
    {"callback": "count", "args": [1], "kwargs": [], "raised": "TypeError: no"},
    {"callback": "count", "args": [], "kwargs": [], "value": 1},  # it did fail: no x
    {"callback": "count", "args": {"list": [1]}, "kwargs": [], "value": 2},  # arguments as a value, not the list
    {"callback": "count", "args": [], "kwargs": [["x", 1, 2]], "value": 2},  # not a [name, value] pair
    {"callback": "count", "args": [], "kwargs": [[1, 1]], "value": 2},  # a name that is no text
    "count",
], ids=["unknown-stand-in", "no-answer", "other-answer", "other-type", "failed-here-only", "failed-there-only",
        "arguments-not-a-list", "keyword-not-a-pair", "keyword-name-not-text", "not-an-entry"])
def test_a_logged_call_that_is_not_what_the_stand_in_does_is_refused(entry):
    grader, _ = _grader_session()
    with pytest.raises(wire.WireError):
        grader.replay([entry])


def test_an_answer_whose_objects_are_shared_otherwise_is_refused():
    # the kernel's copy answered one array twice; the stand-in here answers two equal ones
    grader = session.Session(exchange=None)
    grader.callbacks["pair"] = (lambda: (np.zeros(2), np.zeros(2)), None)
    grader.replayed.add("pair")
    kernel = wire.Codec(handles=True)
    same = np.zeros(2)
    entry = {"callback": "pair", "args": [], "kwargs": [], "value": kernel.encode((same, same))}
    with pytest.raises(wire.WireError):
        grader.replay([json.loads(json.dumps(entry))])


def test_a_stand_in_copied_into_the_kernel_once_is_asked_from_the_grader_when_handed_over_again():
    grader = session.Session(exchange=None)
    namespace = notebook_cells.reference_namespace(A01)
    grader.modules = {namespace["tests"].__name__: namespace["tests"]}  # problem_unittests, as loaded for a cell
    bowl = namespace["tests"].QuadraticBowl()
    first = grader._register_stand_in("propagate", bowl, {})
    assert first["replay"]["class"] == "QuadraticBowl" and "class QuadraticBowl" in first["replay"]["source"]
    assert "@" not in first["replay"]["source"].splitlines()[0]
    assert "replay" not in grader._register_stand_in("propagate", bowl, {})
    assert "replay" in grader._register_stand_in("propagate", namespace["tests"].QuadraticBowl(), {})


MEASURED_OR_NOT = '''
from check_helpers import peak_memory, stand_ins
w, b = np.zeros((3, 1)), 0.0
x, y = np.arange(12.0).reshape(3, 4), np.array([[0, 1, 1, 0]])
bowl = tests.QuadraticBowl()
with stand_ins(optimization, propagate=bowl):
    result = peak_memory(optimization, w, b, x, y, 30, 0.1)[0] if MEASURED else optimization(w, b, x, y, 30, 0.1)
print(bowl.calls, np.round(result[0].ravel(), 6).tolist(), round(float(result[1]), 6), len(result[2]))
'''


def test_a_call_measured_for_its_peak_memory_asks_a_replayed_stand_in_from_the_grader_at_each_call():
    """Its memory is the student's code's alone (the stand-in's copy is not counted in it): the
    kernel's copy stays unused, the grader answers each call, and the result is the same."""
    runs = {}
    for measured in (False, True):
        kernel = ThreadKernel(notebook_cells.reference_namespace(A01))
        try:
            runs[measured] = session.decide(MEASURED_OR_NOT.replace("MEASURED", str(measured)), kernel.exchange, A01)
        finally:
            kernel.end()
        runs[measured] += (kernel.messages,)
    (printed, failure, replayed), (printed_measured, failure_measured, asked) = runs[False], runs[True]
    assert failure is None and failure_measured is None, (failure, failure_measured)
    assert printed == printed_measured and printed.startswith("30 [")  # the grader's stand-in saw all 30 calls
    assert replayed < 10 <= 30 <= asked, (replayed, asked)


def test_the_collector_is_paused_while_a_request_crosses_and_as_it_was_after():
    seen = []
    grader = session.Session(exchange=lambda text: seen.append(gc.isenabled()) or json.dumps({"value": 1}))
    assert gc.isenabled()
    assert grader.request({"op": "get", "name": "x"}) == 1
    assert seen == [False] and gc.isenabled()
    grader.exchange = lambda text: seen.append(gc.isenabled()) or "not JSON"
    with pytest.raises(session.AnswerRefused):
        grader.request({"op": "get", "name": "x"})
    assert seen == [False, False] and gc.isenabled()  # enabled again after a refused answer
    gc.disable()
    try:
        grader.exchange = lambda text: json.dumps({"value": 2})
        assert grader.request({"op": "get", "name": "x"}) == 2
        assert not gc.isenabled()  # left as it was: paused by someone else
    finally:
        gc.enable()


def test_a_pause_the_tests_alarm_cut_short_ends_with_the_test_cell(monkeypatch):
    """The alarm of a test cell's time limit may ring inside the pause's own lines, before the
    collector is enabled again: the test cell's end enables it (session.collector_restored), so
    the rest of the notebook's grading is collected."""
    assert gc.isenabled()

    def cut_short(*args):
        gc.disable()  # a request's pause ...
        raise session.TestTimeout()  # ... that the alarm ended before it could enable the collector

    monkeypatch.setattr(trusted.AgentCell, "run", cut_short)
    kernel = type("KernelClient", (), {})()  # run_test_cell only looks it up in a set of weak references here
    with pytest.raises(session.TestTimeout):
        trusted.run_test_cell(kernel, "tests.test_init_w(init_w)", 60, A01)
    assert gc.isenabled()
    gc.disable()  # paused by someone else: left so
    try:
        with session.collector_restored():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
