# One entry point for every job.  `make grade` and `make test` set up .venv themselves.
PY      := .venv/bin/python
STAMP   := .venv/.installed
# The environment's tools (jupyter, nbgrader, alembic) without activating it.
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: setup grade test test-fast regenerate check bundle exchange bench browser clean

$(STAMP): requirements.txt requirements-oracle.txt student/requirements.txt pyproject.toml student/pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	# pip compiles the 12,000 modules one by one (a minute here); compileall uses every
	# core. They must be compiled: where PYTHONDONTWRITEBYTECODE is set, Python would
	# compile again in every process (pip, like compileall, ignores a file that fails)
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	# the tests' independent oracle (tests/test_oracle.py), beside the environment, without its pins
	$(PY) -m pip install --quiet --no-compile --no-deps --upgrade --target .venv/oracle -r requirements-oracle.txt
	$(PY) -m compileall -q -j 0 .venv/lib > /dev/null || true
	# the grading sandbox: Debian's bubblewrap where it is missing (with root or sudo)
	bash scripts/install_system.sh --sandbox
	touch $(STAMP)

setup: $(STAMP)

## the main job: regenerate the course, autograde the example class, print the scores
grade: $(STAMP)
	$(PY) -m course regenerate
	$(PY) -m course grade

## the tests (CI runs exactly this); the browser test needs Debian's Chromium and the
## engine's tests PostgreSQL's server, installed while pip installs the packages
test:
	@bash scripts/install_system.sh & browser=$$!; \
	$(MAKE) --no-print-directory setup; status=$$?; \
	wait $$browser || status=1; exit $$status
	$(PY) -m pytest -n 2 --dist loadfile

## the unit tier alone (tests/unit, marked fast): each function of the grading library and
## the students' library on notebooks made in memory, in seconds; `make test` runs it too
test-fast: $(STAMP)
	$(PY) -m pytest -m fast -q

browser:
	bash scripts/install_system.sh

regenerate: $(STAMP)
	$(PY) -m course regenerate

check: $(STAMP)
	$(PY) -m course regenerate --check

## what students receive: release notebooks, figures, their library (no answers)
bundle: $(STAMP)
	$(PY) -m course bundle --out dist/student-bundle --zip

## the course as a website, the students' version (no answers): dist/site/index.html
.PHONY: site
site: $(STAMP)
	$(PY) -m course site --out dist/site

## nbgrader's exchange, where release_assignment, submit and collect meet: nbgrader's
## default folder (Exchange.root), which formgrader and the students' Assignment List use too
exchange:
	mkdir -p /usr/local/share/nbgrader/exchange && chmod ugo+rwx /usr/local/share/nbgrader/exchange

bench: $(STAMP)
	$(PY) benchmarks/bench.py

clean:
	rm -rf autograded feedback gradebook.db grades.csv canvas.csv artifacts dist
