"""The main job end to end. `gtfm_demo --quick` annotates a validation slice with the shipped model (no training) beside
Augustus and the longest-ORF floor; `gtfm_demo --quick --train` trains (genome_tfm.train), tunes the decoder, annotates
(annotate_genome) and evaluates the same way. Both write a GFF3 that passes `gt gff3validator` plus an HTML report."""
import json, os, shutil, subprocess
import pytest
from conftest import venv_bin

def run_demo(tmp_path, *args):
    r = subprocess.run([venv_bin('gtfm_demo'), '--quick', '--out', str(tmp_path/'demo'), *args], capture_output=True, text=True,
                       timeout=900, env={**os.environ, 'GTFM_PROGRESS': '0'})
    assert r.returncode == 0, r.stderr[-3000:]
    d = tmp_path/'demo'
    res = json.loads((d/'results.json').read_text())
    assert {'genome_tfm', 'longest ORF'} <= set(res['results']) and 'exon F1' in r.stdout, (list(res['results']), r.stdout[-2000:])
    if shutil.which('augustus'): assert 'Augustus' in res['results'], list(res['results'])
    html = (d/'report.html').read_text()
    assert html.count('<img') >= 2 and 'Gene models at three loci' in html           # the F1 plot and the gene tracks
    assert shutil.which('gt'), 'genometools (gt) is required: ./gtfm.sh installs it'
    v = subprocess.run(['gt', 'gff3validator', str(d/'genome_tfm.gff3')], capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    return d, res, r.stdout

@pytest.mark.xdist_group('demo')
def test_demo_shipped(tmp_path):
    d, res, out = run_demo(tmp_path)
    assert res['config']['shipped'] == 'arabidopsis' and res['model_card']['sha256'] and not (d/'run').exists(), res['config']
    assert res['inference']['stats'] and res['train_seconds'] == 0, res['inference']         # its own decoder settings and statistics
    # a model of 10 CPU-minutes scores an exon F1 near 0.3 (benchmarks/results/learning_curve-cpu.json); the shipped one must do better
    assert res['results']['genome_tfm']['levels']['exon']['f1'] > 0.5, res['table']
    assert "model 'arabidopsis'" in out

@pytest.mark.xdist_group('demo')
def test_demo_train(tmp_path):
    d, res, out = run_demo(tmp_path, '--train')
    assert res['config']['shipped'] is None and res['tuning'], res['config']
    assert json.loads((d/'run'/'checkpoints'/res['checkpoint'].split('/')[-1]/'decoder.json').read_text())['stats'] == 'gene_stats.json'

def test_demo_bad_model(tmp_path):
    r = subprocess.run([venv_bin('gtfm_demo'), '--quick', '--model', 'human', '--out', str(tmp_path/'demo')], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and r.stderr.strip().splitlines()[-1] == \
        "gtfm_demo: error: --model 'human': not a shipped model nor a checkpoint directory; shipped models: arabidopsis", r.stderr[-2000:]
