"""Does Keras start without TensorFlow's start-up noise, while real messages still get through?"""
import os
import subprocess
import sys

from coursekit import keras_start


def test_start_keras_leaves_nothing_on_standard_error(course_root):
    result = subprocess.run([sys.executable, "-c", "from coursekit.keras_start import start_keras\n"
                             "keras = start_keras()\nprint(keras.backend.backend())"],
                            cwd=course_root, capture_output=True, text=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tensorflow"
    assert result.stderr == ""


def test_what_is_written_below_python_is_held_back_and_real_messages_pass():
    with keras_start.standard_error_held_back() as lines:
        os.write(2, b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"E0000 something really went wrong\n")
        os.write(2, b"from a library\n")
    assert lines == ["I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on.\n",
                     "E0000 something really went wrong\n", "from a library\n"]
    assert keras_start.worth_showing(lines) == ["E0000 something really went wrong\n", "from a library\n"]
