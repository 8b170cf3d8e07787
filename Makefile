# LeadRelay: `make demo` runs the app with demo data; `make test` runs the whole suite;
# `make serve` runs it in production mode; `make bench` measures it (bench/README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.12 || command -v python3 || command -v python)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DATA_DIR ?= data/demo
DEMO_LEADS ?= 300
export LEADRELAY_DATA_DIR := $(abspath $(DATA_DIR))

.PHONY: install demo serve test test-fast bench migrate messages clean

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
	$(PY) -m pytest -n 2 --dist loadfile -q --tb=short $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -n 2 --dist loadfile -q --tb=short -m "not browser" $(PYTEST_ARGS)

# Production mode on this machine: gunicorn (leadrelay/config/gunicorn.conf.py) and the worker, production
# settings. Needs DJANGO_SECRET_KEY; set DATABASE_URL / REDIS_URL / LEADRELAY_TASKS_BACKEND for PostgreSQL and RQ
# (README "Deployment"). Binds 127.0.0.1:$(PORT) unless GUNICORN_BIND says otherwise.
serve: export DJANGO_SETTINGS_MODULE := leadrelay.config.settings.production
serve: export LEADRELAY_DATA_DIR := $(abspath $(or $(SERVE_DATA_DIR),data/serve))
serve: install
	@test -n "$$DJANGO_SECRET_KEY" || { echo "Set DJANGO_SECRET_KEY (50+ random characters), e.g. export DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')"; exit 1; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	GUNICORN_BIND=$${GUNICORN_BIND:-127.0.0.1:$(PORT)} bash -c 'trap "kill \$$(jobs -p) 2>/dev/null; wait" EXIT; \
	  $(PY) manage.py worker & \
	  $(PY) -m gunicorn -c leadrelay/config/gunicorn.conf.py leadrelay.config.wsgi:application & \
	  wait -n'

# BENCH_SCALE=small|full; BENCH_ARGS="--only 'ceiling.*' --size leads=50000 --repeat 5" (python -m bench --help)
bench: install
	$(PY) -m bench $(BENCH_ARGS)

# Needs GNU gettext; the compiled .mo files are committed so a fresh machine does not.
# An app needs its own locale/ folder first: without one, makemessages writes into the project catalogue.
messages: install
	$(PY) manage.py messages_shared >/dev/null
	for app in leadrelay/*/; do if [ -d "$$app/locale" ]; then (cd $$app && ../../$(PY) ../../manage.py makemessages -l ja --no-obsolete >/dev/null && ../../$(PY) ../../manage.py compilemessages >/dev/null); fi; done

clean:
	rm -rf $(VENV) data staticfiles
