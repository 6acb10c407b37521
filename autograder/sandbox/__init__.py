"""The sandbox stage: where the student's kernel runs.

- ``policy``: the bubblewrap command, the limits and the environment a kernel gets;
- ``kernel_manager``: the kernel manager nbclient uses while grading, which starts kernels there;
- ``zygote`` (and ``zygote_server``, which runs in the zygote): kernels forked, inside their own
  sandbox, from a process that has imported what kernels import.

``python -m autograder.sandbox`` says what this machine gives.
"""
