# make demo   build the release and grade a demo class of ghost students
# make test   the course's tests, on two workers (set COURSE_DATA_DIR to a pre-filled data cache offline)
# make test-serial   the same tests in one process
# make test-full   the full-data runs of the notebooks: headline accuracies, stated figures and times
# make release / make check   rebuild release/ / check that everything committed is up to date
# make hub   a local class on JupyterHub (see README, "A class on JupyterHub")
# Each target first creates .venv/ from requirements.txt when it is missing or older than the pins.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-from-requirements
UV := uv==0.13.9
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test test-serial test-full release check clean-grading hub

demo: $(STAMP)
	$(PY) -m autograder demo

# On two pytest-xdist workers, each test file whole on one of them (tests/conftest.py).
test: $(STAMP)
	$(PY) -m autograder.sandbox
	$(PY) -m pytest -rs --durations=15 -n 2 --dist loadfile -m "not full_mode" tests

# The same tests in one process: slower (about 21 minutes here against 14), for a failure that
# only shows with another test file running beside it.
test-serial: $(STAMP)
	$(PY) -m autograder.sandbox
	$(PY) -m pytest -rs --durations=15 -m "not full_mode" tests

test-full: $(STAMP)
	$(PY) -m pytest -rs --durations=15 -s -m full_mode tests

release: $(STAMP)
	$(PY) admin/build.py

check: $(STAMP)
	$(PY) admin/build.py --check
	$(PY) admin/notebook_hygiene.py check source/*/*.ipynb release/*/*.ipynb

# uv (the installer, not a package of the course) installs the same pins as pip, and the same
# files, in a fraction of pip's time: it unpacks wheels in parallel, from its cache when it has
# them. pip installs them where uv cannot.
$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	{ $(PY) -m pip install --quiet --disable-pip-version-check $(UV) \
	  && $(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.txt; } \
	|| $(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt
	$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null  # the bytecode pip would write, on every core at once
	touch $(STAMP)

# make hub   a local class on JupyterHub, as root: accounts instructor, student1 and student2 (their
#            passwords printed), the course in ~instructor/course, nbgrader's exchange; it serves
#            http://127.0.0.1:8000 until Ctrl-C. `python admin/hub/classhub.py down` removes it all.
hub: $(STAMP)
	$(PY) admin/hub/classhub.py up

clean-grading:
	rm -rf submitted/ghost-* autograded feedback demo-output gradebook.db
