"""Imported by the workers' fork server when an assignment's tests receive Keras models.

A test that gets a student's model rebuilds it in the grading process, so each nbgrader process
would import Keras and TensorFlow itself: about 4 s of a core per submission. Imported once in
the fork server instead, every nbgrader process forked from it has Keras ready. Importing starts
no TensorFlow computation (no thread pools), so forking afterwards is safe; its start-up
messages on stderr are dropped. A failure only means each process imports Keras itself.
"""
import os


def import_keras_quietly():
    saved = os.dup(2)
    try:
        with open(os.devnull, "w", encoding="utf-8") as null:
            os.dup2(null.fileno(), 2)
        try:
            import keras  # noqa: F401
        except Exception:  # noqa: BLE001 - never stop the fork server
            pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)


import_keras_quietly()
