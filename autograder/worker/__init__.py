"""The worker stage: one submission graded in isolation by stock ``nbgrader autograde``.

- ``job``: a :class:`~job.Job` in, an :class:`~job.Outcome` out, in a scratch course of its own;
- ``processes``: nbgrader processes forked from a server that imported nbgrader once, under limits;
- ``nbgrader_cli``, ``nbgrader_main``: nbgrader's command line, started without a slow step;
- ``warm``, ``warm_keras``: what the fork server does once for all the processes it forks.
"""
