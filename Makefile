# The README's two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite test-postgres lint bench browser-deps clean translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed --if-empty
	$(BIN)/flask demo logins
	@echo "Serving http://$(HOST):$(PORT) with a message worker and the scheduler beside it (Ctrl-C stops all three)."
	@$(BIN)/python scripts/serve.py "$(BIN)/flask worker" "$(BIN)/flask scheduler" \
		"$(BIN)/flask run --host $(HOST) --port $(PORT)"

test: $(STAMP) browser-deps
	bash scripts/test.sh

test-sqlite: $(STAMP)
	$(BIN)/pytest

test-postgres: $(STAMP)
	bash scripts/test.sh --postgres-only

browser-deps:
	@bash scripts/ensure-chromium.sh

lint: $(STAMP)
	$(BIN)/ruff check app tests bench migrations wsgi.py

# Benchmarks on scratch PostgreSQL databases (each script drops and recreates its own).
# bench.run: the load and fault harness, one table and bench/results/latest.json. The full
# scale restarts the local PostgreSQL server once (the fault run): run it on a machine of your
# own. BENCH_SCALE=small lowers the counts (minutes), without the restart.
BENCH_SCALE ?= full
bench: $(STAMP)
	$(BIN)/python -m bench.slots
	$(BIN)/python -m bench.run --scale $(BENCH_SCALE)
	$(BIN)/python -m bench.inbox
	$(BIN)/python -m bench.journeys_plan

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache .cache

# Re-extract UI strings, merge them into each language's catalog, compile the .mo files
# (committed, so a fresh checkout needs no compile step). Translate the new entries in
# app/translations/<lang>/LC_MESSAGES/messages.po, then run this again.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_pgettext:1c,2 --no-location --sort-output --omit-header \
		-o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(BIN)/pybabel compile -d app/translations --statistics
