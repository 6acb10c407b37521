"""Test cells decided in the grading process (autograder/decisions/) against a real kernel."""
import contextlib
import signal
import sys
import time

import pytest
from jupyter_client.manager import start_new_kernel

from autograder import notebook_cells
from autograder.decisions import cell as trusted
from autograder.decisions import kernel_memory

STUDENT = '''
import numpy as np
input = "a student's variable that shadows the builtin"

def init_w(n):
    return np.zeros((n, 1))

def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
    costs = []
    for i in range(num_iterations):
        dw, db, cost = propagate(w, b, x, y)
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 50 == 0:
            costs.append(cost)
    return w, b, costs

def wrong_init_w(n):
    return np.ones((n, 1))

def cross_validation_accuracies(X, y, k_choices, num_folds=5, metric="l2"):
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(np.ravel(y), num_folds)
    accuracies = {k: [] for k in k_choices}
    for i in range(num_folds):
        classifier = KNearestNeighbor()
        classifier.train(np.concatenate(X_folds[:i] + X_folds[i + 1:]),
                         np.concatenate(y_folds[:i] + y_folds[i + 1:]))
        for k in k_choices:
            accuracies[k].append(float(np.mean(classifier.predict(X_folds[i], k=k, metric=metric) == y_folds[i])))
    return accuracies

def emptying_cross_validation(X, y, k_choices, num_folds=5, metric="l2"):
    """Empties the grader's list of k instead of computing anything."""
    k_choices.clear()
    return {}

def probing_cross_validation(X, y, k_choices, num_folds=5, metric="l2"):
    """Tries to reach the grader's process through the stand-in it is handed."""
    import sys
    agent = sys.modules["__course_agent__"]
    classifier = KNearestNeighbor()
    reached = []
    probes = [{"callback": "KNearestNeighbor", "instance": 0, "method": "__class__"},
              {"callback": "KNearestNeighbor", "instance": 0, "method": "lookup"},
              {"callback": "KNearestNeighbor", "instance": 99, "method": "predict"},
              {"callback": "KNearestNeighbor"},
              {"callback": "no_such_stand_in"},
              {"callback": "KNearestNeighbor", "instance": 0, "method": "train", "attr": "__globals__"}]
    for probe in probes:
        try:
            agent.call_back(probe, (), {}, "probe")
            reached.append(str(probe))
        except Exception:
            pass
    for name in ("lookup", "__dict__", "_StoredClassifier__x", "table"):
        if name in dir(classifier) and not name.startswith("__"):
            reached.append(name)
    print("reached:", reached)
    return {}

class PosingModel:
    """Not a Keras model, but answers as one would."""
    layers = []
    output_shape = (None, 3)
    trainable_weights = [1, 2]
    def get_config(self):
        return {"name": "functional"}
    def get_layer(self, name):
        return self

def posing_transfer_model(trained, cut, nb_classes):
    return PosingModel()

def busy_optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
    """Keeps the grader answering calls, never ending."""
    while True:
        propagate(w, b, x, y)

def stubborn_optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):
    """Keeps calling, and goes on in the kernel alone once the grader stops answering."""
    while True:
        try:
            propagate(w, b, x, y)
        except Exception:
            pass

def unreadable():
    raise RuntimeError("the weights were read")

def weightless_transfer_model(trained, cut, nb_classes):
    """Right, but has the grader's agent send the model it returns without its weights."""
    import sys
    import keras

    codec = sys.modules["__course_agent__"].Codec
    original = codec.encode
    def encode(self, obj, depth=0):
        if isinstance(obj, keras.Model):
            codec.encode = original
            self.without_weights = True
        return original(self, obj, depth)
    codec.encode = encode
    base = keras.Model(trained.input, trained.get_layer(cut).output)
    base.trainable = False
    return keras.Model(base.input, keras.layers.Dense(nb_classes, activation="softmax")(base.output))

def sends_weights_anyway():
    """Has the grader's agent send Keras models with their weights, whatever the grader asked."""
    import contextlib
    import sys

    global models_without_weights
    codec = sys.modules["__course_agent__"].Codec
    models_without_weights = codec.models_without_weights
    codec.models_without_weights = contextlib.contextmanager(lambda self, on=True: (yield))

def l1_at_once(X_test, X_train, metric="l1"):
    return np.sum(np.abs(X_test[:, None, :] - X_train[None, :, :]), axis=2)

def l1_in_blocks(X_test, X_train, metric="l1"):
    distances = np.empty((len(X_test), len(X_train)))
    for start in range(0, len(X_test), 4):
        distances[start:start + 4] = l1_at_once(X_test[start:start + 4], X_train)
    return distances

class Handle:
    pass

def returns_an_object(n):
    return Handle()
'''


@pytest.fixture(scope="module")
def kernel():
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
    kc.execute_interactive(STUDENT, timeout=60)
    kc.course_memory = kernel_memory.of_kernel_manager(km)  # its processes, as the harness watches them
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


A01, A03, A04 = "a01_santa_logreg", "a03_cnn_mnist_cifar", "a04_knn_mlp_transfer"


def decide(kc, source, assignment=A01, timeout=60, memory=None):
    outputs = trusted.run_test_cell(kc, source, timeout=timeout, assignment=assignment, memory=memory)
    errors = [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    return (f"{errors[0].ename}: {errors[0].evalue}" if errors else None), text


def test_a_right_answer_passes_and_identity_survives_the_crossing(kernel):
    error, text = decide(kernel, "tests.test_init_w(init_w)\nif init_w(4) is init_w(4):\n    tests.fail('init_w', 'same')")
    assert error is None and "init_w: visible tests passed." in text


def test_stand_ins_of_the_test_are_called_back_from_the_kernel(kernel):
    error, text = decide(kernel, "tests.test_optimization(optimization)")
    assert error is None, error
    assert "optimization: visible tests passed." in text


def test_a_wrong_answer_fails_with_the_tests_message(kernel):
    error, _ = decide(kernel, "tests.test_init_w(wrong_init_w)")
    assert error is not None and "zeros" in error


def test_patching_numpy_or_the_tests_in_the_kernel_changes_nothing(kernel):
    kernel.execute_interactive(
        "import numpy as np, problem_unittests as tests\n"
        "np.allclose = lambda *a, **k: True\n"
        "tests.check_init_w = lambda *a, **k: None\n"
        "wrong_init_w.__eq__ = lambda *a: True\n", timeout=60)
    error, _ = decide(kernel, "tests.test_init_w(wrong_init_w)")
    assert error is not None and "zeros" in error


def test_a_name_missing_in_the_notebook_fails_that_test_only(kernel):
    error, _ = decide(kernel, "tests.test_init_w(no_such_function)")
    assert "NameError" in error
    error, _ = decide(kernel, "tests.test_init_w(init_w)")
    assert error is None


def test_a_stand_in_class_makes_objects_that_stay_in_the_grader_and_the_kernel_calls_their_methods(kernel):
    # a04's cross-validation test hands the student's code a classifier that answers from stored values
    error, text = decide(kernel, "tests.test_cross_validation_accuracies(cross_validation_accuracies)", A04)
    assert error is None, error
    assert "cross_validation_accuracies: visible tests passed." in text


def test_the_kernel_reaches_nothing_of_the_grader_but_the_stand_ins_declared_methods(kernel):
    error, text = decide(kernel, "tests.test_cross_validation_accuracies(probing_cross_validation)", A04)
    assert "reached: []" in text
    assert error is not None and "one entry per k" in error


def test_changes_the_kernel_makes_to_the_graders_arguments_never_reach_the_grader(kernel):
    error, text = decide(kernel, "import numpy as np\nks = [1, 3]\n"
                                 "emptying_cross_validation(np.zeros((4, 2)), np.zeros(4, dtype=int), ks)\n"
                                 "print('the grader keeps', ks)", A04)
    assert error is None, error
    assert "the grader keeps [1, 3]" in text
    # and the test is told that the student's code changed its argument
    error, _ = decide(kernel, "tests.test_cross_validation_accuracies(emptying_cross_validation)", A04)
    assert error is not None and "changed the caller's k_choices in place" in error


def test_an_object_posing_as_a_keras_model_is_not_one(kernel):
    error, _ = decide(kernel, "tests.test_transfer_model(posing_transfer_model)", A04, timeout=120)
    assert error is not None and "GradingError" in error and "where data was expected" in error


def test_a_network_builder_is_checked_from_its_layers_without_its_weights_crossing(kernel):
    reference = notebook_cells.cells_by_role(notebook_cells.read(A03), "solution")["net_1"]
    kernel.execute_interactive("import keras\nfrom keras import layers\n" + reference + """
reference_net_1 = net_1

def net_1(sample_shape, nb_classes):
    model = reference_net_1(sample_shape, nb_classes)
    model.get_weights = unreadable  # the tests read its layers only
    return model
""", timeout=60)
    error, text = decide(kernel, "tests.test_net_1(net_1)", A03, timeout=120)
    assert error is None, error
    assert "net_1: visible tests passed." in text


def test_a_kernel_that_sends_the_weights_the_grader_did_not_ask_for_is_checked_as_before(kernel):
    reference = notebook_cells.cells_by_role(notebook_cells.read(A03), "solution")["net_1"]
    kernel.execute_interactive("import keras\nfrom keras import layers\n" + reference + """
eager_reference_net_1 = net_1

weights_read = []

def eager_net_1(sample_shape, nb_classes):
    sends_weights_anyway()
    model = eager_reference_net_1(sample_shape, nb_classes)
    read = model.get_weights
    model.get_weights = lambda: weights_read.append(1) or read()
    return model
""", timeout=60)
    try:
        error, text = decide(kernel, "tests.test_net_1(eager_net_1)", A03, timeout=120)
        assert error is None, error
        assert "net_1: visible tests passed." in text
        reply = kernel.execute_interactive("assert weights_read", timeout=60)
        assert reply["content"]["status"] == "ok"  # the weights did cross
    finally:
        kernel.execute_interactive("import sys\n"
                                   "sys.modules['__course_agent__'].Codec.models_without_weights = models_without_weights",
                                   timeout=60)


def test_a_model_sent_without_its_weights_where_the_test_needs_them_fails_the_test(kernel):
    error, _ = decide(kernel, "tests.test_transfer_model(weightless_transfer_model)", A04, timeout=120)
    assert error is not None and "GradingError" in error and "without its weights" in error, error


def test_the_memory_a_call_holds_is_measured_in_the_kernel_for_the_graders_check(kernel):
    error, _ = decide(kernel, "import hidden_checks\nhidden_checks.check_memory(l1_at_once, 'l1')", A04, timeout=120)
    assert error is not None and "held 1230 MiB of arrays at once" in error and "a block of test rows" in error, error
    error, _ = decide(kernel, "import hidden_checks\nhidden_checks.check_memory(l1_in_blocks, 'l1')", A04, timeout=120)
    assert error is None, error


def test_memory_hidden_from_tracemalloc_in_the_kernel_is_seen_from_outside(kernel):
    check = "import hidden_checks\nhidden_checks.check_memory(l1_at_once, 'l1')"
    kernel.execute_interactive("import tracemalloc\nmeasured = tracemalloc.get_traced_memory\n"
                               "tracemalloc.get_traced_memory = lambda: (0, 0)", timeout=60)
    try:
        error, _ = decide(kernel, check, A04, timeout=120)
        assert error is None  # the kernel's word alone: it held nothing
        error, _ = decide(kernel, check, A04, timeout=120, memory=kernel.course_memory)
        assert error is not None and "MiB of arrays at once" in error and "a block of test rows" in error, error
        # (the reference, in blocks, passes with the watch: test_catalogues_decided_outside)
    finally:
        kernel.execute_interactive("tracemalloc.get_traced_memory = measured", timeout=60)


def test_an_object_of_the_students_own_where_data_is_expected_fails_the_test(kernel):
    error, _ = decide(kernel, "tests.test_init_w(returns_an_object)")
    assert error is not None and "GradingError" in error and "Handle" in error


@pytest.mark.parametrize("function", ["busy_optimization", "stubborn_optimization"])
def test_a_function_that_keeps_the_grader_answering_runs_out_of_the_cells_time(function):
    """The test cell stops at its time; once stopped, nothing of it is left in the kernel: the
    notebook's next cell runs whole (a late interrupt would break it off)."""
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        kc.execute_interactive(STUDENT, timeout=60)
        started = time.monotonic()
        with pytest.raises(trusted.TestTimeout) as stopped:
            trusted.run_test_cell(kc, f"tests.test_optimization({function})", timeout=2, assignment=A01)
        assert stopped.value.msg_id is not None
        trusted.stop_test_cell(kc, stopped.value.msg_id)
        assert time.monotonic() - started < 20
        reply = kc.execute_interactive("import time\nfor _ in range(20):\n    time.sleep(0.05)\nnext_cell_ran = True",
                                       timeout=30)
        assert reply["content"]["status"] == "ok", reply["content"]
        error, text = decide(kc, "tests.test_init_w(init_w)")
        assert error is None and "init_w: visible tests passed." in text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_an_input_transformer_that_rewrites_cells_mentioning_the_tests_does_not_stop_them(kernel):
    kernel.execute_interactive(
        "rewrite = lambda lines: ['pass\\n'] if any(w in l for l in lines for w in ('tests.', 'Agent', 'numpy')) else lines\n"
        "get_ipython().input_transformers_post.append(rewrite)", timeout=60)
    try:
        error, _ = decide(kernel, "tests.test_init_w(wrong_init_w)")
        assert error is not None and "zeros" in error
        error, text = decide(kernel, "tests.test_init_w(init_w)")
        assert error is None and "init_w: visible tests passed." in text
    finally:
        kernel.execute_interactive("get_ipython().input_transformers_post.remove(rewrite)", timeout=60)


def test_a_kernel_that_dies_during_a_test_is_reported_as_dead():
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        kc.execute_interactive("def init_w(n):\n    import os\n    os._exit(1)\n", timeout=60)
        with pytest.raises(trusted.KernelGone):
            trusted.run_test_cell(kc, "tests.test_init_w(init_w)", timeout=60, assignment=A01)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_code_that_closes_the_agents_connection_fails_that_test_cell_only(kernel):
    kernel.execute_interactive(
        "import gc, socket\n"
        "def closing_init_w(n):\n"
        "    for o in gc.get_objects():\n"
        "        if isinstance(o, socket.socket):\n"
        "            o.close()\n"
        "    return np.zeros((n, 1))\n", timeout=60)
    with pytest.raises(trusted.AgentStopped):
        trusted.run_test_cell(kernel, "tests.test_init_w(closing_init_w)", timeout=60, assignment=A01)
    error, text = decide(kernel, "tests.test_init_w(init_w)")
    assert error is None and "init_w: visible tests passed." in text


@contextlib.contextmanager
def executes_sent(kc):
    """The code of each execute request sent through the client ``kc`` inside the block, in a list."""
    sent = []
    execute = kc.execute

    def recording(code, *args, **kwargs):
        sent.append(code)
        return execute(code, *args, **kwargs)

    kc.execute = recording
    try:
        yield sent
    finally:
        del kc.execute


def test_the_agent_is_installed_once_per_kernel_and_again_where_the_notebook_removed_it(kernel):
    decide(kernel, "tests.test_init_w(init_w)")  # installs it, if no test has yet
    with executes_sent(kernel) as sent:
        for _ in range(2):
            error, text = decide(kernel, "tests.test_init_w(init_w)")
            assert error is None and "init_w: visible tests passed." in text
        assert all(len(code) < 1000 for code in sent), "the agent's text was sent again"
        kernel.execute_interactive("import sys\ndel sys.modules['__course_agent__']", timeout=60)
        sent.clear()
        error, text = decide(kernel, "tests.test_init_w(init_w)")
        assert error is None and "init_w: visible tests passed." in text
        assert [len(code) < 1000 for code in sent] == [True, False], "the missing agent was not installed again"


def test_an_agent_replaced_by_the_notebook_fails_that_test_cell_and_decides_nothing(kernel):
    decide(kernel, "tests.test_init_w(init_w)")
    kernel.execute_interactive(
        "import sys\nsaved = sys.modules['__course_agent__'].serve_socket\n"
        "sys.modules['__course_agent__'].serve_socket = lambda namespace, path: print('all tests passed')",
        timeout=60)
    try:
        with pytest.raises(trusted.AgentStopped):
            trusted.run_test_cell(kernel, "tests.test_init_w(wrong_init_w)", timeout=60, assignment=A01)
    finally:
        kernel.execute_interactive("sys.modules['__course_agent__'].serve_socket = saved", timeout=60)
    error, _ = decide(kernel, "tests.test_init_w(wrong_init_w)")
    assert error is not None and "zeros" in error


@pytest.mark.parametrize("function", ["busy_optimization", "stubborn_optimization"])
def test_a_cell_sent_before_a_stopped_test_cell_ends_runs_and_sees_none_of_the_tests_stand_ins(function):
    """The notebook's next cell, already waiting in the kernel when the stopped test cell ends in
    an error, is run, not aborted; and the stand-in the test put in place of the student's
    ``propagate`` is gone from the notebook's names (the student's notebook defines none here)."""
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        kc.execute_interactive(STUDENT, timeout=60)
        with pytest.raises(trusted.TestTimeout) as stopped:
            trusted.run_test_cell(kc, f"tests.test_optimization({function})", timeout=2, assignment=A01)
        waiting = kc.execute("next_cell_ran = True\nleft_behind = 'propagate' in globals()")
        trusted.stop_test_cell(kc, stopped.value.msg_id)
        reply = trusted._reply_to(kc.get_shell_msg, waiting, 30)
        assert reply is not None and reply["content"]["status"] == "ok", reply and reply["content"]
        printed = []
        kc.execute_interactive("print(next_cell_ran, left_behind)", timeout=30,
                               output_hook=lambda m: printed.append(m["content"].get("text", "")))
        assert "".join(printed).strip() == "True False"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("hook_fails", [False, True], ids=["hook", "failing hook"])
def test_the_time_limit_rings_again_when_python_drops_its_alarm(hook_fails, monkeypatch):
    """An alarm that rings in a finaliser raises there, and Python drops that exception: the
    time limit must not be lost with it, nor reported as an error. Other exceptions dropped
    meanwhile still reach the unraisable hook before ours, and where that hook fails, Python
    reports its failure (on a standard error that takes its time here, as a captured one may)."""
    dropped = []

    class FailingFinaliser:
        def __del__(self):
            raise ValueError("a finaliser of the student's objects failed")

    class SlowFinaliser:
        def __del__(self):
            signal.setitimer(signal.ITIMER_REAL, 0.01)  # the limit's alarm rings in here, however late
            end = time.monotonic() + 30                 # this finaliser runs on a busy machine
            while time.monotonic() < end:
                time.sleep(0.01)

    def slow_hook(unraisable):  # as pytest's, which formats the traceback
        dropped.append(unraisable)
        time.sleep(0.1)  # an alarm ringing in here would be dropped too
        if hook_fails:
            raise RuntimeError("the hook failed")

    class SlowStderr:
        written = []

        def write(self, text):
            time.sleep(0.01)  # an alarm ringing in here would be dropped too
            self.written.append(text)

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stderr", SlowStderr())
    previous_hook, sys.unraisablehook = sys.unraisablehook, slow_hook
    started = time.monotonic()
    try:
        with pytest.raises(trusted.TestTimeout):
            with trusted.time_limit(started + 60):
                FailingFinaliser()  # made and finalised at once
                SlowFinaliser()
                while time.monotonic() < started + 20:  # without a second alarm, to the end
                    pass
    finally:
        sys.unraisablehook = previous_hook
    assert [type(u.exc_value) for u in dropped] == [ValueError]  # not the alarm Python dropped
    assert time.monotonic() - started < 10, "the alarm did not ring again"
    # the failing hook's error is reported as Python reports it
    assert ("RuntimeError: the hook failed" in "".join(SlowStderr.written)) == hook_fails
    time.sleep(0.2)  # and no alarm rings after the block (SIGALRM's default would end this process)


def test_no_stand_in_handed_to_the_kernel_runs_the_hidden_checks_code():
    """A stand-in answers whatever the kernel asks it: one of the hidden checks' reference
    functions would answer, for inputs of the student's choosing, what other hidden tests grade
    (``asks_a_stand_in_the_tests_questions`` in the boundary catalogue). The grader refuses such
    a stand-in; those the tests hand over are the visible tests' and the check helpers'."""
    import numpy as np

    from autograder import course_checks
    from autograder.decisions.session import Session, runs_hidden_code

    a02, a04 = course_checks.load("a02_cat_dnn"), course_checks.load("a04_knn_mlp_transfer")
    hidden, visible, helpers = (a04[name] for name in (course_checks.HIDDEN, course_checks.VISIBLE,
                                                       course_checks.SHARED))
    for stand_in in (hidden.softmax_cross_entropy, hidden.ReferenceKNN, hidden.ReferenceKNN(), hidden.ReferenceKNN().predict,
                     a02[course_checks.HIDDEN].layer_forward,
                     helpers.Lookup("f", "g", [], "unexpected", fallback=hidden.distances),
                     helpers.bound_lookup("f", "g", hidden.distances, [], "unexpected")):
        assert runs_hidden_code(stand_in), stand_in
    scores, y = np.zeros((2, 3)), np.array([0, 1])
    for stand_in in (visible.softmax_stand_in([((scores, y), (0.0, scores))]), visible.distances_stand_in([]),
                     visible.LookupClassifier([]), a02[course_checks.VISIBLE].forward_stand_in([]),
                     a02[course_checks.VISIBLE].backward_stand_in([]),
                     a02[course_checks.VISIBLE].sigmoid_stand_in(scores, (scores, scores))):
        assert not runs_hidden_code(stand_in), stand_in
    session = Session(exchange=lambda text: pytest.fail("nothing may be sent"))
    with pytest.raises(RuntimeError, match="runs code of hidden_checks"):
        session.install({"name": "MLP"}, {"softmax_cross_entropy": hidden.softmax_cross_entropy})
