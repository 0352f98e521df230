# Firebreak. `make run` sets everything up and starts the desk; `make test` runs the suite.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test screenshots lint fmt check demo worker beat web messages vendor bench bench-alerts bench-notifications clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

setup: $(STAMP)
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py collectstatic --noinput --verbosity 0
	$(PYTHON) manage.py demo_data

# Web server, Celery worker and beat together; Ctrl-C stops all three.
run: setup
	@echo ""
	@echo "  Firebreak runs at http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2 & \
	$(BIN)/celery -A config beat --loglevel=INFO & \
	$(PYTHON) manage.py runserver --noreload $(HOST):$(PORT)

web: setup
	$(PYTHON) manage.py runserver $(HOST):$(PORT)

worker: $(STAMP)
	$(BIN)/celery -A config worker --loglevel=INFO

beat: $(STAMP)
	$(BIN)/celery -A config beat --loglevel=INFO

demo: $(STAMP)
	$(PYTHON) manage.py demo_data

test: $(STAMP)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# Refresh the README screenshots (docs/screenshots/) from the browser stories.
screenshots: $(STAMP)
	FIREBREAK_SCREENSHOTS=1 $(BIN)/pytest -p no:xdist -m browser tests/browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint
	$(PYTHON) manage.py check
	$(PYTHON) manage.py makemigrations --check --dry-run

messages: $(STAMP)
	$(PYTHON) manage.py makemessages --locale fr --ignore '.venv/*' --ignore 'var/*'
	$(PYTHON) manage.py compilemessages --locale fr --ignore '.venv/*'

# Benchmark on PostgreSQL (bench/README.md): `make bench BENCH_TICKETS=10000` for one size.
BENCH_TICKETS ?= 10000,1000000
bench: $(STAMP)
	$(PYTHON) bench/run.py --tickets $(BENCH_TICKETS) $(BENCH_ARGS)
	$(PYTHON) bench/alerts.py $(BENCH_ALERTS_ARGS)
	$(PYTHON) bench/notifications.py $(BENCH_NOTIFICATIONS_ARGS)

# Monitoring alerts alone: what one web worker accepts, and how soon the ticket exists.
bench-alerts: $(STAMP)
	$(PYTHON) bench/alerts.py $(BENCH_ALERTS_ARGS)

# Notifications alone: e-mails delivered per second, and commit-to-SMTP delay at 50 events/s.
bench-notifications: $(STAMP)
	$(PYTHON) bench/notifications.py $(BENCH_NOTIFICATIONS_ARGS)

vendor:
	$(PY) bin/vendor_assets.py

clean:
	rm -rf var/broker var/static
