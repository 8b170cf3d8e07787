# LeadRelay: `make demo` runs the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.12 || command -v python3 || command -v python)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DATA_DIR ?= data/demo
DEMO_LEADS ?= 300
export LEADRELAY_DATA_DIR := $(abspath $(DATA_DIR))

.PHONY: install demo test test-fast bench migrate messages browser-deps clean

$(VENV)/.installed: requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "LeadRelay needs Python >= 3.12")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

demo: install
	mkdir -p $(LEADRELAY_DATA_DIR)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed --leads $(DEMO_LEADS) --if-empty
	$(PY) manage.py demo_serve --port $(PORT)

test: install
	$(PY) -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -q -m "not browser" $(PYTEST_ARGS)

bench: install
	$(PY) -m bench $(BENCH_ARGS)

# Needs GNU gettext; the compiled .mo files are committed so a fresh machine does not.
messages: install
	for app in leadrelay/*/; do if [ -d "$$app/locale" ]; then (cd $$app && ../../$(PY) ../../manage.py makemessages -l ja --no-obsolete >/dev/null && ../../$(PY) ../../manage.py compilemessages >/dev/null); fi; done

clean:
	rm -rf $(VENV) data staticfiles
