"""Run every notebook in nbs/ through nbdev's tester, one subprocess per notebook (kernels and env vars stay isolated).

Flags: cells marked `#| slow` or `#| gpu` are skipped unless NBDEV_FLAGS names them, e.g. NBDEV_FLAGS="slow gpu".
"""
import os, subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
TIMEOUT = int(os.environ.get('GTFM_NB_TIMEOUT', '1500'))

RUNNER = textwrap.dedent('''
    import sys
    from pathlib import Path
    from nbdev.config import get_config
    from nbdev.test import test_nb
    fn, force = Path(sys.argv[1]), sys.argv[2].split()
    ok, secs = test_nb(fn, skip_flags=get_config().tst_flags.split(), force_flags=force, showerr=True)
    print(f"{fn.name}: {'passed' if ok else 'FAILED'} in {secs:.1f} s")
    sys.exit(0 if ok else 1)
''')

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb: Path):
    flags = os.environ.get('NBDEV_FLAGS', '')
    env = {**os.environ, 'GTFM_PROGRESS': os.environ.get('GTFM_PROGRESS', '0'), 'PYTHONUNBUFFERED': '1'}
    r = subprocess.run([sys.executable, '-c', RUNNER, str(nb), flags], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    print(r.stdout[-5000:]); print(r.stderr[-20000:], file=sys.stderr)
    assert r.returncode == 0, f"{nb.name} failed:\n{r.stderr[-8000:]}"

def test_found_notebooks():
    names = [p.name for p in NBS]
    assert 'index.ipynb' in names and '00_core.ipynb' in names, names
