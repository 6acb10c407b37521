"""``python -m autograder.sandbox``: a line on the sandbox student code gets on this machine, and
one on the control group each kernel gets."""
from ..settings import Sandbox, course_config
from . import cgroups
from .policy import describe

settings = Sandbox(config=course_config())
print(describe(settings.mode))
if settings.mode != "off":
    print(f"control group: {cgroups.describe(settings.cgroup)}")
