# npnet: every target that needs Python bootstraps .venv first (fresh machine: nothing else to do).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-installed-stamp
EXPLAIN_BENCH_STAMP := $(VENV)/.explain-bench-installed-stamp
# The data: the shared GTSRB pickles beside the checkout when they are there, else data/ (downloaded).
DATA   ?= $(if $(wildcard ../shared/gtsrb/train.p),../shared/gtsrb,data)
ARGS   ?=
# The tests that need the real data run where it is (they are skipped without NPNET_DATA).
export NPNET_DATA ?= $(if $(wildcard ../shared/gtsrb/train.p),$(abspath ../shared/gtsrb),)

.PHONY: help install train train-best test test-all tutorials bench bench-torch bench-explain bench-influence bench-attacks explain report walkthrough clean

help:
	@echo "make train      train the seed net with the seed's recipe (DATA=$(DATA))"
	@echo "make train-best the final model: the best recipe on every labelled image, runs/<time>/final.h5 (see README)"
	@echo "make test       the test suite (fast; slow checks: make test-all)"
	@echo "make tutorials  execute every notebook in docs/tutorials/ as a reader would; fails on any error"
	@echo "make bench      engine speed; make bench-torch: the same side by side with PyTorch and ONNX Runtime"
	@echo "make explain    Grad-CAM and error gallery for the latest trained model"
	@echo "make report     explain_out/report.html: the newest model's whole debugging story, one web page"
	@echo "make walkthrough one validation image forward and backward through the newest model, every number clickable"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,notebooks,browser]'
	touch $(STAMP)

install: $(STAMP)

# the optional PyTorch extra, once (for make test-all and make bench-torch), with onnx/onnxruntime and
# Keras (on that PyTorch) for the converters' round-trip tests (tests/convert)
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench,onnx,keras]'
	touch $(BENCH_STAMP)

train: $(STAMP)
	$(PY) train.py --data $(DATA) $(ARGS)

# the model to use: the best recipe's fixed schedule on train and valid together, nothing chosen by validation
# (final.h5); a development run that keeps valid.p apart: $(PY) train.py --data $(DATA) --recipe best
train-best: $(STAMP)
	$(PY) train.py --data $(DATA) --recipe best --final $(ARGS)

# the suite on every core (pytest-xdist's -n auto): most tests run on one core, so 2 workers halve the time
test: $(STAMP)
	$(PY) -m pytest -n auto $(ARGS)

# test-all adds the slow tests and the PyTorch comparison tests (installs the optional torch extra)
test-all: $(BENCH_STAMP)
	$(PY) -m pytest -n auto -m "" $(ARGS)

# every tutorial notebook executed by nbclient in this venv's python3 kernel (tests/test_tutorials.py),
# on the shared data when NPNET_DATA is set and once more without it; the committed files stay output-free
tutorials: $(STAMP)
	$(PY) -m pytest -m "" tests/test_tutorials.py $(ARGS)

bench: $(STAMP)
	$(PY) -m npnet.bench $(ARGS)

bench-torch: $(BENCH_STAMP)
	$(PY) -m npnet.bench --compare all $(ARGS)

# the explanation methods beside pytorch-grad-cam and Captum: torch first, then the extra, then grad-cam
# and TorchRay (RISE's reference) without their dependencies (their torchvision would replace or break
# torch 2.13.0; see pyproject.toml)
$(EXPLAIN_BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,explain-bench,relevance]'
	$(PY) -m pip install --quiet --no-deps grad-cam torchray
	touch $(EXPLAIN_BENCH_STAMP)

bench-explain: $(EXPLAIN_BENCH_STAMP)
	$(PY) -m npnet.bench --explain $(ARGS)

# influence timings (TracIn exact and from the index) on a run trained with --checkpoint-every:
# make bench-influence RUN=runs/X; the queries are the run's mistakes on valid.p (or DATA's test split)
RUN ?= $(lastword $(sort $(dir $(wildcard runs/*/checkpoints/epoch_*.h5))))
INFLUENCE_DATA ?= $(if $(wildcard $(DATA)/valid.p),$(DATA)/valid.p,$(DATA))
bench-influence: $(STAMP)
	$(PY) -m npnet.bench --influence $(RUN:/checkpoints/=) --data $(INFLUENCE_DATA) $(ARGS)

# make bench-attacks MODEL=runs/X/best.h5: PGD-20 on 12,630 images of valid.p (repeated) beside Captum and torchattacks
MODEL ?= $(lastword $(sort $(wildcard runs/*/best.h5)))
ATTACK_DATA ?= $(if $(wildcard $(DATA)/valid.p),$(DATA)/valid.p,$(DATA))
bench-attacks: $(STAMP)
	$(PY) -m npnet.bench --attacks $(MODEL) --data $(ATTACK_DATA) $(ARGS)

explain: $(STAMP)
	$(PY) explain.py demo --data $(DATA) $(ARGS)

# the newest run's final.h5 (else best.h5) on the validation split, every explanation method (ARGS="--images a.png ...")
report: $(STAMP)
	$(PY) explain.py report --data $(DATA) --split valid $(ARGS)

# a validation Stop sign walked forward and backward through the newest run's model: one offline web page
# (explain_out/walkthrough_*.html; WALKTHROUGH_INDEX=N for another image, ARGS="--class C" for another loss)
WALKTHROUGH_INDEX ?= 2545
walkthrough: $(STAMP)
	$(PY) explain.py walkthrough --data $(DATA) --split valid --index $(WALKTHROUGH_INDEX) $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
