"""The decisions stage: test cells decided in the grading process, never in the student's kernel.

- ``execute``: nbgrader's Execute preprocessor for grading (``SurvivingExecute``): the kernel in
  the sandbox, test cells decided here, a dying kernel costing only the tests after it;
- ``session``: a test cell run here with the assignment's own tests, the student's objects
  reached as :class:`~session.Remote` calls, what comes back trusted as data only;
- ``cell``: the conversation with the kernel's agent for one test cell, under its time limit;
- ``wire``: the plain-data protocol both sides speak, and the agent that runs in the kernel.
"""
