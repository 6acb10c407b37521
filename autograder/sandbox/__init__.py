"""The sandbox stage: where the student's kernel runs.

- ``policy``: the bubblewrap command, the limits and the environment a kernel gets;
- ``kernel_manager``: the kernel manager nbclient uses while grading, which starts kernels there;
- ``zygote`` (and ``zygote_server``, which runs in the zygote): kernels forked, inside their own
  sandbox, from a process that has imported what kernels import;
- ``kernel_output``: a kernel's standard output and error, of which the grader keeps the start
  and the end.

``python -m autograder.sandbox`` says what this machine gives.
"""
