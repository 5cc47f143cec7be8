"""The main job end to end: `gtfm_demo --quick` trains (genome_tfm.trainer), annotates (annotate_genome), evaluates beside
Augustus and the longest-ORF floor, and writes a GFF3 that passes `gt gff3validator` plus an HTML report."""
import json, os, shutil, subprocess
import pytest
from conftest import venv_bin

@pytest.mark.xdist_group('demo')
def test_demo_quick(tmp_path):
    r = subprocess.run([venv_bin('gtfm_demo'), '--quick', '--out', str(tmp_path/'demo')], capture_output=True, text=True,
                       timeout=900, env={**os.environ, 'GTFM_PROGRESS': '0'})
    assert r.returncode == 0, r.stderr[-3000:]
    d = tmp_path/'demo'
    res = json.loads((d/'results.json').read_text())
    assert {'genome_tfm', 'longest ORF'} <= set(res['results']) and 'exon F1' in r.stdout, (list(res['results']), r.stdout[-2000:])
    if shutil.which('augustus'): assert 'Augustus' in res['results'], list(res['results'])
    html = (d/'report.html').read_text()
    assert html.count('<img') >= 2 and 'Gene models at three loci' in html           # the F1 plot and the gene tracks
    assert json.loads((d/'run'/'checkpoints'/res['checkpoint'].split('/')[-1]/'decoder.json').read_text())['stats'] == 'gene_stats.json'
    assert shutil.which('gt'), 'genometools (gt) is required: ./gtfm.sh installs it'
    v = subprocess.run(['gt', 'gff3validator', str(d/'genome_tfm.gff3')], capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
