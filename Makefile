# Benchmarks and the lock file, by hand (./scripts/test and .ci/run do not use make).
# PYTHON defaults to the checkout's .venv (./scripts/test creates it with everything needed).
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
BENCH = PYTHONPATH=$(CURDIR) $(PYTHON)

.PHONY: adapter bench bench-quick gate lock

bench:  ## the full benchmarks (about 25 minutes; needs PostgreSQL on 127.0.0.1:5432)
	$(BENCH) benchmarks/stats_at_scale.py
	$(BENCH) benchmarks/slack_http.py
	$(BENCH) benchmarks/slack_socket_mode.py
	$(BENCH) benchmarks/discord_events.py
	$(BENCH) benchmarks/fanout.py
	$(BENCH) benchmarks/inbox_flood.py
	$(BENCH) benchmarks/outbox_pace.py
	$(BENCH) benchmarks/hostile_input.py
	$(BENCH) benchmarks/answers/search.py
	$(BENCH) benchmarks/answers/model_pass.py
	$(BENCH) benchmarks/help_arrives.py
	$(BENCH) benchmarks/insights_at_scale.py

bench-quick:  ## the same, small: a smoke run in about four minutes
	$(BENCH) benchmarks/stats_at_scale.py --scale 0.02 --runs 50
	$(BENCH) benchmarks/slack_http.py --rates 50 --duration 3
	$(BENCH) benchmarks/slack_socket_mode.py --envelopes 200
	$(BENCH) benchmarks/discord_events.py --reactions 300 --interactions 30 --startups 2 --slack-load 50 --slack-duration 3
	$(BENCH) benchmarks/fanout.py --channels 100
	$(BENCH) benchmarks/inbox_flood.py --flood 3 --after 2 --concurrency 32
	$(BENCH) benchmarks/outbox_pace.py --asks 40 --channels 4
	$(BENCH) benchmarks/hostile_input.py --repeat 1
	$(BENCH) benchmarks/answers/search.py --answers 1000
	$(BENCH) benchmarks/answers/model_pass.py --texts 100 --rounds 1
	$(BENCH) benchmarks/help_arrives.py --asks 50
	$(BENCH) benchmarks/insights_at_scale.py --scale 0.05 --runs 5

adapter:  ## train the answered-before model's adapter (PyTorch, in .venv-train; two trainings averaged, 1 to 2 hours), then run `make gate`
	test -x .venv-train/bin/python || python3 -m venv .venv-train
	.venv-train/bin/pip install --quiet -c constraints.txt -e . "torch==2.13.0"
	PYTHONPATH=$(CURDIR) .venv-train/bin/python tools/train_adapter.py --write

gate:  ## fit the answered-before gate on the training sets the adapter never saw and write it (half a minute)
	$(BENCH) benchmarks/answers/train_gate.py --write

lock:  ## refresh constraints.txt, the lock file: the newest versions pyproject.toml allows
	$(PYTHON) -m pip install --quiet pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(PYTHON) -m piptools compile --quiet --upgrade \
		--extra dev --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
		--no-emit-trusted-host --output-file constraints.txt pyproject.toml
