"""Grading on a Dask cluster of separate processes or machines (``--scheduler tls://HOST:PORT``,
README "Grading on a cluster").

- ``preload``: the preload an operator gives ``dask scheduler`` and ``dask worker``, which fails
  at once where the harness cannot be imported, and logs the course a worker grades with;
- ``course_version``: a fingerprint of what grading an assignment reads, so that a worker whose
  copy of the course differs from the coordinator's refuses rather than grades differently;
- ``remote_job``: one submission graded on a worker, from what the coordinator sends it.
"""
