"""Shared fixtures: the real files in ../shared and small ROOT files made at run time."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
OPENDATA = SHARED / "data" / "atlas-opendata-2020-4lep"
REFERENCE = SHARED / "reference"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test input {path} is missing: the tests read ../shared beside the checkout")
    return path


@pytest.fixture(scope="session")
def opendata_dir() -> Path:
    return _need(OPENDATA)


@pytest.fixture(scope="session")
def fourlep_reference() -> dict:
    return json.loads(_need(REFERENCE / "fourlep-reference-AB.json").read_text())


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return _need(REFERENCE)
