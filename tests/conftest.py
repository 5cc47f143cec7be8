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

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    "pytest >= 9.2 keeps node ids in Node._id, so xdist 3.8's loadgroup suffix (written to _nodeid) is lost: re-apply it."
    if not getattr(config.option, 'loadgroup', False): return
    try: from _pytest.nodes import coerce_node_id
    except ImportError: return   # older pytest: xdist's own suffix works
    for item in items:
        g = sorted({str(m.args[0] if m.args else m.kwargs.get('name', 'default')) for m in item.iter_markers('xdist_group')})
        if g and not item.nodeid.endswith('@' + '_'.join(g)): item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(g)}")
