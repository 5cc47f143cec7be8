#!/usr/bin/env python
"""Data preparation and streaming speed: genome -> labelled 4 kb window shards -> ShardedDataset.

    python benchmarks/data_prep.py            # writes benchmarks/results/data_prep-DEVICE.json

Preparation runs in a fresh child process per genome (so its peak RSS is its own): TAIR10 chr1 (30 Mb), yeast
(12 Mb) and A. arenosa chr1+chr2 (40 Mb), each with its declared splits (or every chromosome in 'train'), after one
untimed load that fills the dataset cache. Peak memory that does not grow with the genome shows the preparation
streams. Streaming reads TAIR10's train shards back: in-process (numpy and torch windows) and through a DataLoader
with 1 and 2 workers, per-window (collated by the loader) and batched (gathered by the dataset; half the
windows reverse-complemented); windows/s per worker is the figure to compare with what a GPU consumes.
Targets (issue 3): TAIR10 chr1 prepared in < 60 s, >= 20,000 windows/s per worker, peak preparation memory < 1.5 GB.
"""
import argparse, datetime, json, os, platform, resource, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = '''
import json, resource, sys, time
from genome_tfm.annotation import load_dataset, dataset_splits
from genome_tfm.shards import prepare_shards, PrepareConfig
name, out, window = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter(); g, ann = load_dataset(name); t1 = time.perf_counter()
man = prepare_shards(g, ann, dataset_splits(name, g), out, PrepareConfig(window=window))
t2 = time.perf_counter()
bp = sum(e - s for regs in man['splits'].values() for _, s, e in regs)
print(json.dumps(dict(dataset=name, bases=bp, windows=sum(v['windows'] for v in man['stats'].values()), load_s=t1 - t0,
                      prepare_s=t2 - t1, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
'''

def prepare(name: str, out: Path, window: int) -> dict:
    subprocess.run([sys.executable, '-c', 'from genome_tfm.annotation import load_dataset; import sys; load_dataset(sys.argv[1])', name], check=True)
    r = subprocess.run([sys.executable, '-c', CHILD, name, str(out), str(window)], check=True, capture_output=True, text=True,
                       env={**os.environ, 'GTFM_PROGRESS': '0', 'OMP_NUM_THREADS': '1'})
    d = json.loads(r.stdout.strip().splitlines()[-1])
    d['mb_per_s'] = d['bases'] / 1e6 / d['prepare_s']
    return d

def stream(root: Path, repeats: int = 3) -> dict:
    import torch
    from torch.utils.data import DataLoader
    from genome_tfm.shards import ShardedDataset, unpack_batch
    out = {}
    for label, kw in (('in_process_numpy', dict(as_numpy=True)), ('in_process_torch', {})):
        best = 0.0
        for _ in range(repeats):
            ds = ShardedDataset(root, 'train', seed=0, **kw)
            t = time.perf_counter(); n = sum(1 for _ in ds); best = max(best, n / (time.perf_counter() - t))
        out[label] = dict(windows=n, windows_per_s=best, workers=1, windows_per_s_per_worker=best)
    # per-window mode (the DataLoader collates 64 windows into a batch) against batched mode (the dataset gathers them)
    # and packed mode (bytes cross the loader; unpack_batch runs in the consumer, here on the CPU, counted in the time)
    for mode, kw in (('per_window', {}), ('batched', dict(batched=True)), ('packed', dict(packed=True))):
        for workers in (1, 2):
            best = 0.0
            for _ in range(repeats):
                ds = ShardedDataset(root, 'train', seed=0, batch_size=64, rc_prob=0.5, **kw)
                dl = DataLoader(ds, batch_size=None if kw else 64, num_workers=workers)
                it = iter(dl); next(it)            # worker start-up is not streaming
                t = time.perf_counter()
                n = sum((unpack_batch(b) if mode == 'packed' else b)['seq'].shape[0] for b in it)
                best = max(best, n / (time.perf_counter() - t))
            out[f'dataloader_{mode}_{workers}_workers'] = dict(windows=n, windows_per_s=best, workers=workers, windows_per_s_per_worker=best / workers)
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--window', type=int, default=4096)
    ap.add_argument('--datasets', nargs='*', default=['yeast_s288c', 'tair10_chr1', 'arenosa_chr1_chr2'])
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'))
    a = ap.parse_args()
    import numpy, torch
    device = 'cpu'
    load_before = os.getloadavg()   # the machine is shared: a busy one lowers every figure
    with tempfile.TemporaryDirectory() as d:
        prep = {n: prepare(n, Path(d)/n, a.window) for n in a.datasets}
        st = stream(Path(d)/'tair10_chr1') if 'tair10_chr1' in prep else {}
    print(f"{'dataset':<20}{'Mb':>8}{'windows':>9}{'prepare s':>11}{'Mb/s':>8}{'peak MB':>9}")
    for n, r in prep.items():
        print(f"{n:<20}{r['bases'] / 1e6:>8.1f}{r['windows']:>9,}{r['prepare_s']:>11.2f}{r['mb_per_s']:>8.1f}{r['peak_rss_mb']:>9.0f}")
    print(f"\n{'streaming TAIR10 train (4 kb windows)':<40}{'windows/s':>12}{'per worker':>12}")
    for k, r in st.items(): print(f"{k:<40}{r['windows_per_s']:>12,.0f}{r['windows_per_s_per_worker']:>12,.0f}")
    t10 = prep.get('tair10_chr1', {})
    res = dict(benchmark='data_prep', device=device, cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
               versions=dict(python=platform.python_version(), numpy=numpy.__version__, torch=torch.__version__),
               load_average_before_after=[load_before, os.getloadavg()], window=a.window, prepare=prep, streaming=st,
               targets=dict(tair10_prepare_s_max=60, windows_per_s_per_worker_min=20000, peak_rss_mb_max=1536),
               met=dict(tair10_prepare=t10.get('prepare_s', 1e9) < 60,
                        streaming=st.get('dataloader_packed_1_workers', {}).get('windows_per_s_per_worker', 0) >= 20000,
                        peak_memory=max(r['peak_rss_mb'] for r in prep.values()) < 1536),
               ratios=dict(peak_rss_largest_over_smallest_genome=max(r['peak_rss_mb'] for r in prep.values()) / min(r['peak_rss_mb'] for r in prep.values()),
                           packed_over_per_window_1_worker=st['dataloader_packed_1_workers']['windows_per_s'] / st['dataloader_per_window_1_workers']['windows_per_s'] if st else None,
                           bases_largest_over_smallest_genome=max(r['bases'] for r in prep.values()) / min(r['bases'] for r in prep.values())))
    p = Path(a.out)/f'data_prep-{device}.json'; p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(res, indent=1) + '\n'); print(f'\nmet: {res["met"]}\nwrote {p}')

if __name__ == '__main__': main()
