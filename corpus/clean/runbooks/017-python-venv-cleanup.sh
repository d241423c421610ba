#!/bin/sh
# clean.sh — reset the local dev environment when dependencies get into a weird state.
# Removes: virtualenv, caches, build artifacts. Your source files are not touched.
set -e
cd "$(dirname "$0")/.."

rm -rf .venv .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
find . -type d -name __pycache__ -prune -exec rm -rf {} +

python3 -m venv .venv
. .venv/bin/activate
pip install -U pip wheel
pip install -e ".[dev]"
echo "Fresh environment ready. Run: . .venv/bin/activate"
