# The README's two commands: `make run` (the demo) and `make test`. Both do all set-up.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := mosquitto espeak-ng ffmpeg sox libsox-fmt-all libportaudio2 postgresql chromium fonts-dejavu-core python3-venv systemd poppler-utils nginx icecast2 libfaketime
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck system venv bench clean

run: system $(STAMP)
	$(VENV)/bin/loa demo

test: system $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/pytest -q -n 3 --dist loadfile --no-loadscope-reorder

system:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

bench: system $(STAMP)
	$(PY) -m bench.audio_speed
	$(PY) -m bench.denoise_quality
	$(PY) -m bench.emergency_latency --nodes 50 --rounds 5
	$(PY) -m bench.scale --points 50,100,400,1000
	$(PY) -m bench.cap_feed --alerts 10 50 200 --requests 200
	$(PY) -m bench.command_path
	$(PY) -m bench.live
	$(PY) -m bench.live_denoise
	$(PY) -m bench.on_air_capture
	$(PY) -m bench.tts_normalize

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache *.egg-info
