import os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='session')
def root() -> Path: return ROOT

def venv_bin(name: str) -> str:
    "Path of a console script installed beside the running interpreter."
    p = Path(sys.executable).parent/name
    return str(p) if p.exists() else name
