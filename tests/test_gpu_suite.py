"""`tools/gpu_suite.sh --dry-run`: every step of the GPU suite on the CPU at tiny sizes (Triton through its interpreter,
the packages the GPU machine lacks made unimportable), so that the script cannot rot before a GPU arrives."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
STEPS = ['correctness', 'model', 'gene_train', 'hierarchical', 'moe', 'attention']
pytestmark = pytest.mark.xdist_group('gpu_suite')


def dry_run(out: Path, **env) -> subprocess.CompletedProcess:
    e = {**os.environ, 'OMP_NUM_THREADS': '1', 'GTFM_PYTHON': sys.executable, **env}
    return subprocess.run(['bash', str(ROOT/'tools'/'gpu_suite.sh'), '--dry-run', str(out)], capture_output=True, text=True,
                          timeout=900, env=e)


def test_gpu_suite_dry_run(tmp_path):
    out = tmp_path/'out'
    r = dry_run(out)
    log = (out/'suite-dryrun.log').read_text() if (out/'suite-dryrun.log').exists() else r.stderr
    assert r.returncode == 0, log[-6000:]
    # what comes back from the GPU machine: at most 8 files, named by the device tag
    assert sorted(p.name for p in out.iterdir()) == sorted([f'{s}-dryrun.json' for s in STEPS + ['suite']] + ['suite-dryrun.log'])
    res = {s: json.loads((out/f'{s}-dryrun.json').read_text()) for s in STEPS + ['suite']}
    assert [(s['step'], s['status']) for s in res['suite']['steps']] == [(s, 'ok') for s in STEPS] and res['suite']['ok']
    c = res['correctness']
    assert c['failed'] == 0 and c['interpreter'], c
    modes = {r['mode'] for r in c['rows'] if r['check'] == 'attention'}
    assert {'alibi', 'causal', 'window', 'block_sparse', 'odd_heads_alibi'} <= modes, modes
    assert {r['backend'] for r in c['rows'] if r['check'] == 'moe' and r['ok']} == {'triton', 'grouped_mm'}
    g = res['gene_train']
    assert g['model'] and g['runs'][0]['bases_per_s_median'] > 0 and g['estimate']['gpu_hours_to_recipe'] > 0, g['estimate']
    assert all(row['bases_per_s'] > 0 for row in res['hierarchical']['rows'])
    assert {row['model'] for row in res['model']['rows']} == {'genome_tfm', 'hf_bert'}
    assert 'triton' in res['moe']['results'] and res['attention']['rows']


def test_gpu_suite_failing_step_does_not_stop_the_others(tmp_path):
    "A step that fails (here: shards of another window than the preset's) is reported; the next step still runs."
    from genome_tfm.shards import SHARD_FORMAT, SHARD_VERSION
    bad = tmp_path/'shards'; bad.mkdir()
    (bad/'manifest.json').write_text(json.dumps(dict(format=SHARD_FORMAT, version=SHARD_VERSION, window=1000, shards=[])))
    out = tmp_path/'out'
    r = dry_run(out, GTFM_SUITE_STEPS='gene_train,hierarchical', GTFM_SUITE_DATA=str(bad))
    assert r.returncode == 1, r.stderr[-3000:]
    steps = json.loads((out/'suite-dryrun.json').read_text())['steps']
    assert [(s['step'], s['status']) for s in steps] == [('gene_train', 'failed'), ('hierarchical', 'ok')], steps
    assert 'shards of 1000-base windows' in (out/'suite-dryrun.log').read_text()
