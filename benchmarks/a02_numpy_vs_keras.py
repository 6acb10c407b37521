"""Benchmark: one training iteration of a02's from-scratch network versus Keras on the CPU.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/a02_numpy_vs_keras.py \
        [--layers 12288,20,7,5,1] [--iterations 50] [--repeats 5] [--threads N]

An iteration is one full-batch gradient-descent step on the 209 training images of cat vs
non-cat. From scratch: ``L_model_forward``, ``compute_cost``, ``L_model_backward`` and
``update_parameters`` from the reference solutions of ``source/a02_cat_dnn``, in float64 as the
notebook uses (a last row runs them on float32 data, to show what float64 costs). Keras: the same
layers (Dense relu, sigmoid output), SGD at the same learning rate, binary cross-entropy,
``train_on_batch`` on the whole batch, on the CPU, in float32 (its default) and float64. Both use
``--threads`` threads (default: all usable cores): OpenBLAS's, and TensorFlow's intra-op (inter-op 1).

After a warm-up, ``--iterations`` steps are timed ``--repeats`` times, all in turn; the table gives
the median and best per iteration; the goal compares float64 from scratch with Keras float32.
FLOPs count the matrix products: forward 2*m*sum(n[l]*n[l-1]), backward twice that (dW, dA_prev),
less dA0 for Keras, which skips the input's gradient. A script, not a test: figures on a shared
machine are noisy; compare the ratios within one run.
"""
import argparse
import functools
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5  # from scratch <= GOAL x Keras (float32) per iteration
print = functools.partial(print, flush=True)  # noqa: A001 (figures appear as they come)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="12288,20,7,5,1", help="layer sizes, input first")
    parser.add_argument("--iterations", type=int, default=50, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=5, help="timings of each; the median is shown")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before timing")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="threads for NumPy's BLAS and for TensorFlow (default: all usable cores)")
    parser.add_argument("--root", type=Path, default=ROOT, help="course root holding source/a02_cat_dnn")
    return parser.parse_args()


def blas_summary(np):
    """NumPy's BLAS and its thread count, as the bundled OpenBLAS reports it."""
    import ctypes

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    threads = f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"
    for library in (Path(np.__file__).parent.parent / "numpy.libs").glob("*openblas*"):
        get_threads = getattr(ctypes.CDLL(str(library)), "scipy_openblas_get_num_threads64_", None)
        threads = f"{get_threads()} threads" if get_threads else threads
    return f"{blas['name']} {blas.get('version', '')}, {threads}"


def matmul_flops(layers, m, input_gradient=True):
    """Forward 2*m*n[l]*n[l-1] per layer, backward twice that; less dA0 without input_gradient."""
    forward = sum(2 * m * n * n_prev for n_prev, n in zip(layers, layers[1:]))
    return 3 * forward - (0 if input_gradient else 2 * m * layers[0] * layers[1])


def time_steps(step, iterations):
    """Milliseconds per call of ``step``, over ``iterations`` calls."""
    started = time.perf_counter()
    for _ in range(iterations):
        step()
    return (time.perf_counter() - started) * 1000 / iterations


def main():
    args = parse_args()
    threads = str(args.threads)  # set before NumPy loads its BLAS; Keras on the CPU
    os.environ.update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                      CUDA_VISIBLE_DEVICES="", KERAS_BACKEND="tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))

    import numpy as np

    from autograder.notebook_cells import notebook_path, reference_namespace
    from coursekit import datasets

    if not notebook_path("a02_cat_dnn", root=args.root).exists():
        sys.exit(f"{notebook_path('a02_cat_dnn', root=args.root)} is missing: this benchmark times "
                 "the reference functions of the a02_cat_dnn notebook, which must exist first.")
    ns = reference_namespace("a02_cat_dnn", root=args.root)
    layers = [int(n) for n in args.layers.split(",")]
    learning_rate = 0.0075
    train_x, train_y, _, _, _ = datasets.load_catvnoncat()
    X = train_x.reshape(train_x.shape[0], -1).T / 255.  # (12288, m) float64, as in the notebook
    Y = train_y.reshape(1, -1)
    m = X.shape[1]
    if layers[0] != X.shape[0]:
        sys.exit(f"--layers must start with the input size {X.shape[0]}, got {layers[0]}")

    def scratch_step(dtype):
        x, y = X.astype(dtype), Y.astype(dtype)  # float64 is the notebook's; float32 only to compare
        np.random.seed(1)  # as the notebook does before training
        parameters = {k: v.astype(dtype) for k, v in ns["initialize_parameters_deep"](layers).items()}

        def step():
            nonlocal parameters
            AL, caches = ns["L_model_forward"](x, parameters)
            ns["compute_cost"](AL, y)
            grads = ns["L_model_backward"](AL, y, caches)
            parameters = ns["update_parameters"](parameters, grads, learning_rate)
        return step

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    def keras_step(dtype):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((layers[0],), dtype=dtype)]
                                 + [keras.layers.Dense(n, activation="relu", dtype=dtype) for n in layers[1:-1]]
                                 + [keras.layers.Dense(layers[-1], activation="sigmoid", dtype=dtype)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="binary_crossentropy")
        x, y = tf.constant(X.T, dtype=dtype), tf.constant(Y.T, dtype=dtype)  # converted once, (m, n0)
        return lambda: model.train_on_batch(x, y)

    steps = {"from scratch (NumPy, float64)": scratch_step(np.float64),
             "Keras float32 (default)": keras_step("float32"),
             "Keras float64": keras_step("float64"),
             "from scratch, float32 data": scratch_step(np.float32)}
    flops = {name: matmul_flops(layers, m, input_gradient=name.startswith("from scratch")) for name in steps}
    print(f"cores usable: {len(os.sched_getaffinity(0))}, threads: {args.threads} "
          f"(NumPy: {blas_summary(np)}; TensorFlow {tf.__version__}: intra-op {args.threads}, inter-op 1)")
    print(f"layers {layers}, m = {m}, {args.iterations} iterations x {args.repeats} repeats, "
          f"learning rate {learning_rate}, NumPy {np.__version__}, Keras {keras.__version__}")
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    timings = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            timings[name].append(time_steps(step, args.iterations))

    reference = statistics.median(timings["Keras float32 (default)"])
    print(f"\n{'':31} {'ms/iter':>8} {'best':>8} {'vs Keras f32':>12} {'MFLOP/iter':>10} {'GFLOP/s':>8}")
    for name, times in timings.items():
        median = statistics.median(times)
        print(f"{name:31} {median:8.2f} {min(times):8.2f} {median / reference:11.2f}x "
              f"{flops[name] / 1e6:10.1f} {flops[name] / median / 1e6:8.1f}")
    scratch = statistics.median(timings["from scratch (NumPy, float64)"])
    ratio, like_for_like = scratch / reference, scratch / statistics.median(timings["Keras float64"])
    print(f"\ngoal: from-scratch <= {GOAL}x Keras per iteration: {'met' if ratio <= GOAL else 'not met'} "
          f"({ratio:.2f}x Keras float32; {like_for_like:.2f}x Keras float64)")


if __name__ == "__main__":
    main()
