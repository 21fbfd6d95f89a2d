# labshare — the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
UV ?= uv
PY := $(UV) run --frozen python
DB := $(PY) -m config.localdb
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install db db-stop migrate demo messages bench worker check-uv

check-uv:
	@command -v $(UV) >/dev/null || { echo "uv is required: pip install uv (or see https://docs.astral.sh/uv/)"; exit 1; }

install: check-uv
	@$(UV) sync --frozen --quiet
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; else echo "npm not found: skipping browser assets (htmx, calendar); pages still work without them"; fi
	@# Compile translations with msgfmt directly: no settings (and so no database) needed.
	@if command -v msgfmt >/dev/null; then \
	  for po in locale/*/LC_MESSAGES/*.po; do msgfmt --check -o "$${po%.po}.mo" "$$po" || exit 1; done; \
	else echo "msgfmt not found (apt-get install gettext): pages will be in English only"; fi

## Start everything: local PostgreSQL, migrations, demo data (once), the web process and the job worker.
run: install
	@$(DB) exec -- $(PY) -m config.run --host $(HOST) --port $(PORT)

## Run the whole test suite (starts the local PostgreSQL when DATABASE_URL is unset).
test: install
	@$(DB) exec -- $(UV) run --frozen pytest $(PYTEST_ARGS)

db: check-uv
	@$(DB) start

db-stop:
	@$(DB) stop

migrate: install
	@$(DB) exec -- $(PY) manage.py migrate

demo: install
	@$(DB) exec -- $(PY) manage.py load_demo

bench: install
	@$(DB) exec -- bash -c 'for b in bench/bench_*.py; do $(PY) $$b || exit 1; done'
