# Benchmarks only (run by hand; ./scripts/test and .ci/run do not use make).
# PYTHON defaults to the checkout's .venv (./scripts/test creates it with everything needed).
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
BENCH = PYTHONPATH=$(CURDIR) $(PYTHON)

.PHONY: bench bench-quick

bench:  ## the full benchmarks (about 10 minutes; needs PostgreSQL on 127.0.0.1:5432)
	$(BENCH) benchmarks/stats_at_scale.py
	$(BENCH) benchmarks/slack_http.py
	$(BENCH) benchmarks/fanout.py

bench-quick:  ## the same, small: a smoke run in about two minutes
	$(BENCH) benchmarks/stats_at_scale.py --scale 0.02 --runs 50
	$(BENCH) benchmarks/slack_http.py --rates 50 --duration 3
	$(BENCH) benchmarks/fanout.py --channels 100
