#!/usr/bin/env python
"""Tokenizer speed and memory on TAIR10 chr1: encoding throughput (Mb/s) of every tokenizer with 1 and 2 threads, and
BPE training time and peak memory on the whole chromosome. Writes benchmarks/results/tokenizers-cpu.json.

    python benchmarks/tokenizers.py                 # 10 Mb encoded, BPE trained on all 30.4 Mb
    python benchmarks/tokenizers.py --mb 2 --train-mb 5   # a quick run

Side by side in one run: our tokenizers (Hugging Face `tokenizers`, `encode_batch` on 10 kb chunks) against the way
DNABERT-1 tokenizes (Python `seq2kmer` + a dict lookup per k-mer), and against the same tokenizer called through
`transformers.AutoTokenizer`. Targets (issue 4): BPE >= 5 Mb/s on 2 threads, k-mer and single-nucleotide at least as
fast as BPE, BPE training on all 30 Mb under 2 GB peak. Each thread count runs in its own child process, since the
Rayon pool of `tokenizers` reads RAYON_NUM_THREADS once.
"""
import argparse, datetime, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# this file is named like the `tokenizers` package: drop its folder from the path so `import tokenizers` finds the package
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]
CHUNK = 10_000

CHILD = r'''
import json, sys, time
from genome_tfm.tokenizers import load_tokenizer, kmerize
from genome_tfm.data import Genome, prepare_dataset, TAIR10_CHROM
a = json.loads(sys.argv[1])
seq = Genome(prepare_dataset('tair10_chr1')[0]).fetch_raw(TAIR10_CHROM, 0, int(a['mb'] * 1e6))
pieces = [seq[i:i + a['chunk']] for i in range(0, len(seq), a['chunk'])]
def best(f, n=2):
    b = float('inf')
    for _ in range(n): t0 = time.perf_counter(); f(); b = min(b, time.perf_counter() - t0)
    return len(seq) / 1e6 / b
out = {}
for name, d in a['toks'].items():
    t = load_tokenizer(d)
    out[name] = best(lambda: t.encode_batch(pieces))
    if name == 'bpe' and a['extra']:
        from transformers import AutoTokenizer
        hf = AutoTokenizer.from_pretrained(d)
        out['bpe_via_AutoTokenizer'] = best(lambda: hf(pieces, add_special_tokens=False)['input_ids'], 1)
if a['extra']:   # DNABERT-1's way: seq2kmer in Python, then one dict lookup per k-mer
    vocab = load_tokenizer(a['toks']['kmer6_overlap']).tokenizer.get_vocab()
    def naive():
        for p in pieces:
            s = p.upper(); kmers = [s[i:i + 6] for i in range(len(s) + 1 - 6)]
            ids = [vocab.get(k, 0) for k in kmers]
    out['kmer6_overlap_python_dnabert1'] = best(naive, 1)
print(json.dumps(out))
'''

def device() -> dict:
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor()) if Path('/proc/cpuinfo').exists() else platform.processor()
    return dict(kind='cpu', cpu=cpu, cores=os.cpu_count(), platform=platform.platform(), note='shared machine: absolute figures are noisy, compare ratios')

def versions() -> dict:
    import tokenizers, transformers, torch
    return dict(python=platform.python_version(), tokenizers=tokenizers.__version__, transformers=transformers.__version__, torch=torch.__version__)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--mb', type=float, default=10.0, help='Mb of TAIR10 chr1 to encode')
    ap.add_argument('--train-mb', type=float, default=None, help='Mb fed to BPE training (default: the whole chromosome)')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'tokenizers-cpu.json'))
    a = ap.parse_args(argv)
    from genome_tfm.tokenizers import make_tokenizer, measure_training, save_tokenizer
    from genome_tfm.data import TAIR10_CHROM
    tmp = Path(tempfile.mkdtemp())
    # BPE on the whole chromosome (the training benchmark) is also the BPE whose encoding is measured
    train = measure_training('tair10_chr1', tmp/'bpe', kind='bpe', regions=[(TAIR10_CHROM, 0, 30_427_671)],
                             max_bases=int(a.train_mb * 1e6) if a.train_mb else None)
    print(f"BPE training: {train['bases_fed'] / 1e6:.1f} Mb in {train['seconds']:.1f} s, peak RSS {train['peak_rss_mb']:.0f} MB "
          f"(process before training {train['base_rss_mb']:.0f} MB)", flush=True)
    uni = measure_training('tair10_chr1', tmp/'unigram', kind='unigram', regions=[(TAIR10_CHROM, 0, 20_000_000)], max_bases=500_000)
    for kind, k in (('char', 0), ('kmer', 6), ('kmer_overlap', 6)): save_tokenizer(make_tokenizer(kind, k), tmp/f"{kind.replace('kmer', 'kmer6')}")
    toks = {n: str(tmp/n) for n in ('char', 'kmer6', 'kmer6_overlap', 'bpe', 'unigram')}
    enc = {}
    for threads in (1, 2):
        env = {**os.environ, 'RAYON_NUM_THREADS': str(threads), 'TOKENIZERS_PARALLELISM': 'true', 'OMP_NUM_THREADS': '1'}
        args = json.dumps(dict(mb=a.mb, chunk=CHUNK, toks=toks, extra=threads == 1))
        r = subprocess.run([sys.executable, '-c', CHILD, args], capture_output=True, text=True, env=env)
        if r.returncode: sys.exit(f"encoding child failed: {r.stderr[-3000:]}")
        enc[threads] = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"{threads} thread(s):", {k: round(v, 2) for k, v in enc[threads].items()}, flush=True)
    e1, e2 = enc[1], enc[2]
    ratios = dict(bpe_2_vs_1_threads=e2['bpe'] / e1['bpe'],
                  **{f'{n}_vs_bpe_2_threads': e2[n] / e2['bpe'] for n in ('char', 'kmer6', 'kmer6_overlap', 'unigram')},
                  kmer6_overlap_vs_python_dnabert1_1_thread=e1['kmer6_overlap'] / e1['kmer6_overlap_python_dnabert1'],
                  bpe_vs_AutoTokenizer_1_thread=e1['bpe'] / e1['bpe_via_AutoTokenizer'])
    targets = dict(bpe_encode_2_threads_ge_5_mb_s=e2['bpe'] >= 5.0,
                   kmer_and_char_at_least_bpe_2_threads={n: e2[n] >= e2['bpe'] for n in ('char', 'kmer6', 'kmer6_overlap')},
                   bpe_train_whole_chromosome_peak_lt_2_gb=train['peak_rss_mb'] < 2048)
    res = dict(benchmark='tokenizers', device=device(), versions=versions(), date=datetime.datetime.now().isoformat(timespec='seconds'),
               command='python benchmarks/tokenizers.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
               encode_mb=a.mb, chunk=CHUNK, encode_mb_per_s={str(k): v for k, v in enc.items()},
               bpe_training=train, unigram_training_500kb=uni, ratios=ratios, targets=targets)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(dict(ratios=ratios, targets=targets), indent=1)); print('wrote', a.out)

if __name__ == '__main__': main()
