# labshare — the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
# uv from PATH, or the module pip installed (a user install may not put `uv` on PATH).
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PY = $(UV) run --frozen python
DB = $(PY) -m tools.localdb
HOST ?= 127.0.0.1
PORT ?= 8000
# The tests, lint and database commands run with DEBUG off, as production does, so they need a key;
# this one is for this machine only (production sets its own: the settings refuse to start without).
export SECRET_KEY ?= labshare-local-key-not-for-production
# ... and they serve plain HTTP on 127.0.0.1: no HTTPS redirect, HSTS or secure-only cookies
# (config/settings.py; production, behind its TLS front, leaves this unset).
export LABSHARE_PLAIN_HTTP ?= 1
CATALOGUES := $(wildcard locale/*/LC_MESSAGES/*.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run test lint install deps-run deps-test db db-stop migrate demo messages bench backup restore

## Start everything: local PostgreSQL, migrations, demo data (once), the web process and the job worker.
run: deps-run install
	@$(DB) exec -- $(PY) -m tools.run --host $(HOST) --port $(PORT)

## Run the whole test suite (starts the local PostgreSQL when DATABASE_URL is unset).
test: deps-test install
	@$(DB) exec -- $(UV) run --frozen pytest $(PYTEST_ARGS)

## What CI checks before the tests: formatting, lint, the import contracts (pyproject.toml), migrations,
## the OpenAPI schema, catalogues.
lint: deps-run install
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen ruff check .
	@set -o pipefail; $(UV) run --frozen lint-imports --no-cache --no-logo | grep -v "^$$"
	@for po in $(CATALOGUES); do msgfmt --check --output-file=/dev/null "$$po" || exit 1; done
	@$(DB) exec -- bash -c '$(PY) manage.py makemigrations --check --dry-run && \
	  $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null'
	@echo "labshare: lint passed"

deps-run:
	@tools/ensure-deps run

deps-test:
	@tools/ensure-deps test

## The Python environment (uv.lock), the page assets (package-lock.json) and the compiled catalogues,
## each only when it is out of date.
install: node_modules/.labshare-installed $(COMPILED)
	@$(UV) sync --frozen --quiet

node_modules/.labshare-installed: package-lock.json package.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# msgfmt directly: no settings (and so no database) needed.
%.mo: %.po
	@msgfmt --check -o $@ $<

messages: $(COMPILED)

db:
	@$(DB) start

db-stop:
	@$(DB) stop

migrate: install
	@$(DB) exec -- $(PY) manage.py migrate

demo: install
	@$(DB) exec -- $(PY) manage.py load_demo

bench: install
	@$(DB) exec -- bash -c 'for b in bench/bench_*.py; do $(PY) $$b || exit 1; done'

## The database (pg_dump custom format) and the media files into backups/<time>/ (or BACKUP=folder).
backup: install
	@$(DB) exec -- $(PY) -m tools.backup backup $(BACKUP)

## Replace the database and media files with a backup: make restore BACKUP=backups/<time>
restore: install
	@test -n "$(BACKUP)" || { echo "make restore BACKUP=backups/<time>"; exit 2; }
	@$(DB) exec -- $(PY) -m tools.backup restore $(BACKUP)
