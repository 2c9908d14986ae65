# Two commands set up and run everything on a fresh Linux machine:
#   make demo   creates .venv, installs Relance, runs a second-reminder run on a copy of the sample
#   make test   runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE_DATE := 2026-12-01
SCRATCH := scratch/demo

.PHONY: demo test install bytecode templates workbook addin preview bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Relance's modules compiled ahead, as pip compiles an installed package: an editable
# install is not, and where PYTHONDONTWRITEBYTECODE is set every command would compile them
# again (a twentieth of a second at each start). Stale files are simply recompiled.
bytecode: install
	$(BIN)/python -m compileall -q addin/relance

demo: install bytecode
	rm -rf $(SCRATCH) && mkdir -p $(SCRATCH)
	cp workbook/relances.xlsx $(SCRATCH)/
	$(BIN)/relance generate $(SCRATCH)/relances.xlsx --as-of $(SAMPLE_DATE)
	@echo
	@echo "Lettres écrites dans $(SCRATCH)/Relances/$(SAMPLE_DATE)/ ; classeur mis à jour : $(SCRATCH)/relances.xlsx"

test: install bytecode
	$(BIN)/python -m pytest -q -n 2

# Rebuild the committed templates and sample workbook from their scripts.
templates: install
	$(BIN)/python scripts/build_templates.py --check

workbook: install
	$(BIN)/python workbook/build_sample.py

# The benchmark of issue 6 (a few minutes): letters, reading, stages, memory, Excel.
bench: install bytecode
	$(BIN)/python scripts/bench.py

# Render the sample run's first letter to docs/preview.png (needs LibreOffice and pdftoppm).
preview: install
	$(BIN)/python scripts/preview.py

# Rebuild the committed Excel add-in (addin/relance.xlam) from xlwings' custom add-in template.
addin: install
	$(BIN)/python addin/build_addin.py

clean:
	rm -rf $(VENV) scratch .pytest_cache
