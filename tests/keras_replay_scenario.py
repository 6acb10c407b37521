"""Keras calls as a graded notebook makes them, for tests/test_keras_replay.py.

    python tests/keras_replay_scenario.py VARIANT [VARIANT ...]

For each variant, in one process: a small network with random layers (flip, dropout) is built
from a seed, compiled, fitted with a validation split (printing its epochs), evaluated, asked to
predict, then every random generator is drawn from and the network is fitted again. Prints one
line ``RESULT {json}`` per variant: digests of the weights after each step, the history, the
results, the draws and the calls ``coursekit.replay`` replayed or ran. ``COURSE_REPLAY_DIR`` or
``COURSE_REPLAY_RECORD_DIR`` in the environment turn replaying or recording on, as in a graded kernel.
"""
import hashlib
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coursekit import replay  # noqa: E402
from coursekit.keras_start import start_keras  # noqa: E402

keras = start_keras()
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

VARIANTS = ("base", "callbacks", "other data", "own layer", "own activation", "other seed", "other names")


class Doubling(layers.Layer):
    """A layer of the student's own: the key cannot see its code."""

    def call(self, inputs):
        return 2 * inputs


def softmax_of_my_own(logits):
    """An activation of the student's own: its name is in the configuration, its code is not."""
    return keras.activations.softmax(logits)


def digest(model):
    variables = list(model.variables) + list(model.optimizer.variables)
    return hashlib.sha256(b"".join(np.asarray(v).tobytes() for v in variables)).hexdigest()[:16]


def scenario(variant):
    keras.backend.clear_session()  # layer names start again, as in a fresh kernel
    replay.calls.update(replayed=0, ran=0, recorded=0)
    rng = np.random.default_rng(0)
    x = rng.random((64, 8, 8, 1)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]
    if variant == "other data":
        x[0, 0, 0, 0] += 0.25
    if variant == "other names":  # layers made before: Keras numbers the names of the network's own
        layers.Conv2D(4, 3), layers.Dense(3), keras.Input((8, 8, 1))
    keras.utils.set_random_seed(2 if variant == "other seed" else 1)
    inputs = keras.Input((8, 8, 1))
    hidden = layers.RandomFlip("horizontal")(inputs)
    if variant == "own layer":
        hidden = Doubling()(hidden)
    hidden = layers.Conv2D(4, 3, activation="relu")(hidden)
    hidden = layers.Dropout(0.5)(layers.Flatten()(hidden))
    activation = softmax_of_my_own if variant == "own activation" else "softmax"
    model = keras.Model(inputs, layers.Dense(3, activation=activation)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    # every generator in use before the calls, so that each has a state to be left as running leaves it
    tf.random.set_global_generator(tf.random.Generator.from_seed(7))
    before = [float(keras.random.uniform(())), float(tf.random.get_global_generator().normal(()))]
    callbacks = [keras.callbacks.TerminateOnNaN()] if variant == "callbacks" else None
    history = model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=2, callbacks=callbacks)
    after_fit, model_history = digest(model), model.history is history
    evaluated = model.evaluate(x, y, verbose=0)
    predicted = model.predict(x[:5], verbose=0)
    draws = before + [random.random(), float(np.random.rand()), float(keras.random.uniform(())),
                      float(tf.random.uniform(())), float(tf.random.get_global_generator().normal(()))]
    again = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return {"variant": variant, "after_fit": after_fit, "history": history.history, "epoch": history.epoch,
            "params": history.params, "model_history": model_history, "evaluated": evaluated,
            "predicted": hashlib.sha256(predicted.tobytes()).hexdigest()[:16], "draws": draws,
            "again": again.history, "final": digest(model), "calls": dict(replay.calls)}


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print("RESULT " + json.dumps(scenario(name)), flush=True)
