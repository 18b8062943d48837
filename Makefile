# The two commands of the README, and what they need. Each one installs what it needs first
# (CUDA=1: the GPU build).
#   make pipeline   - set up, then run the whole DVC pipeline (dvc repro)
#   make pull       - dvc pull, once the cache files the locks name are checked
#   make test       - set up, then run the test suite
#   make verify     - what CI runs after the tests: the lock is current, the cheap stages
#                     rebuild to its hashes, the first VERIFY_ITERATIONS of training replay
#                     bit for bit (RECORD=1 records this platform class's reference;
#                     RECORD_MISSING=1, CI's, records it only for a class that has none)
#   make reproduce  - the full reproduction, in a temporary clone (an hour or more)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# CUDA=1, or a GPU that nvidia-smi lists: TensorFlow with its CUDA libraries, from
# requirements-cuda.lock (requirements.lock's versions, and NVIDIA's wheels).
CUDA ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
LOCK := $(if $(filter 1,$(CUDA)),requirements-cuda.lock,requirements.lock)
STAMP := $(VENV)/.installed-$(basename $(LOCK))

.PHONY: setup pipeline pull test verify reproduce commit-unchanged bench postgresql chromium \
	team-stack team-member team-revoke team-migrate nginx

setup: $(STAMP)

# Everything comes pinned from the lock (regenerate it from its .in file with the command at
# its top). An install that fails removes the half-built .venv, so the next one starts clean.
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r $(LOCK) && \
		$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . || \
		{ rm -rf $(VENV); echo "setup: installing $(LOCK) failed; removed the half-built" \
		"$(VENV), so that the next make starts clean" >&2; exit 1; }
	@[ "$(CUDA)" != 1 ] || nvidia-smi -L >/dev/null 2>&1 || echo "setup: CUDA=1, but" \
		"nvidia-smi lists no GPU: TensorFlow's CUDA build is installed, and runs on the CPU"
	touch $@

# What the default remote (or the team's) already holds is pulled, not trained again; what
# this run made is pushed, with its run cache, for the next clone.
# Both re-hash the cache files the locks name first: DVC trusts its read-only cache files
# (gan_pipeline/verification/cache_check.py).
pipeline: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m gan_pipeline.verification.cache_check
	PATH="$(CURDIR)/$(BIN):$$PATH" dvc repro --pull
	PATH="$(CURDIR)/$(BIN):$$PATH" dvc push --run-cache

pull: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m gan_pipeline.verification.cache_check
	PATH="$(CURDIR)/$(BIN):$$PATH" dvc pull $(TARGETS)

# Two pytest-xdist workers: most of the suite is single-threaded (process starts, imports,
# DVC, MLflow), so a second worker nearly halves it. tests/conftest.py orders the modules.
TEST_WORKERS ?= 2
test: $(STAMP) postgresql chromium nginx
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m pytest -n $(TEST_WORKERS) --dist loadfile \
		--no-loadscope-reorder $(PYTEST_ARGS)

VERIFY_ITERATIONS ?= 1000
verify: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m gan_pipeline.verification.verify \
		--iterations $(VERIFY_ITERATIONS) $(if $(filter 1,$(RECORD)),--record) \
		$(if $(filter 1,$(RECORD_MISSING)),--record-missing) \
		$(if $(filter 1,$(STALE_OK)),--stale-ok)

reproduce: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m gan_pipeline.verification.reproduce $(REPRODUCE_ARGS)

# After `make verify` proved a stage's outputs unchanged: record its new code deps and params
# in dvc.lock, keeping the recorded hashes of outputs this workspace does not hold.
commit-unchanged: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m gan_pipeline.verification.commit_unchanged $(STAGES)

APT_INSTALL = SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq

# The PostgreSQL backend-store test starts a throw-away cluster from Debian's package.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(APT_INSTALL) postgresql >/dev/null; }

# The MLflow UI test renders the UI in headless Chromium, from Debian's package.
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(APT_INSTALL) --no-install-recommends chromium >/dev/null; }

# PostgreSQL, SeaweedFS (S3) behind nginx, and an MLflow server, each behind a password
# (docs/mlflow.md: A team's stack). It runs in the foreground until Ctrl-C. On the running
# stack, team-member adds a user (NAME=alice [PROMOTER=1]) and team-revoke removes one;
# team-migrate (stack stopped) gives the members of an older stack their own S3 keys.
STACK_DIR ?= .team-stack
MLFLOW_PORT ?= 5000
STACK_URI = http://$(or $(TEAM_STACK_HOST),127.0.0.1):$(MLFLOW_PORT)
team-stack: $(STAMP) postgresql nginx
	PATH="$(CURDIR)/$(BIN):$$PATH" STACK_DIR=$(STACK_DIR) MLFLOW_PORT=$(MLFLOW_PORT) \
		scripts/team_stack.sh

# In front of the S3 gateway: a member's write never overwrites an object.
nginx:
	@command -v nginx >/dev/null 2>&1 || { $(APT_INSTALL) nginx-light >/dev/null; }

team-member: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m gan_pipeline.team.access add-member $(NAME) \
		$(if $(filter 1,$(PROMOTER)),--promoter) --stack-dir $(STACK_DIR) --uri $(STACK_URI)

team-revoke: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m gan_pipeline.team.access revoke-member $(NAME) \
		--stack-dir $(STACK_DIR) --uri $(STACK_URI)

team-migrate: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m gan_pipeline.team.access migrate \
		--stack-dir $(STACK_DIR)

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" python benchmarks/train_throughput.py
