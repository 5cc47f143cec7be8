#!/usr/bin/env python
"""The data of tools/gpu_suite.sh's gene-structure training step: labelled TAIR10 chr1 shards, made here (pyfaidx and
the packaged genome) so that the GPU machine, which has neither, reads plain numpy shards only.

    python tools/gpu_data.py                                   # .gpu_data/tair10: about 14 MB, travels with the tree
    python tools/gpu_data.py --out DIR --train-mb 0.2 --tune-mb 0.1   # the dry run's tiny set

The window and the split names follow the preset the suite trains (configs/presets/arabidopsis-cpu.yaml, read now): the
first --train-mb of its train split and the first --tune-mb of its eval split, so the suite runs the preset unchanged
but for `data=`. Nothing is written when the folder already holds the same selection.
"""
import argparse, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PRESET = 'arabidopsis-cpu'


def preset_splits(preset: str, train_mb: float, tune_mb: float) -> tuple[int, dict]:
    "(window, {split: [(chrom, start, end)]}): the first Mb of the preset's train split and of its eval split."
    from genome_tfm.train import config_from_args
    cfg = config_from_args(preset)
    sp, ev = cfg.task_args['splits'], cfg.task_args.get('eval_split', 'valid')
    head = lambda r, mb: (r[0][0], int(r[0][1]), min(int(r[0][2]), int(r[0][1] + mb * 1e6)))
    return cfg.window, {'train': [head(sp['train'], train_mb)], ev: [head(sp[ev], tune_mb)]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=None, help='shard folder (default .gpu_data/tair10)')
    ap.add_argument('--train-mb', type=float, default=4.0, help='Mb of the train split (from its start)')
    ap.add_argument('--tune-mb', type=float, default=0.5, help='Mb of the eval split (from its start)')
    ap.add_argument('--preset', default=PRESET)
    a = ap.parse_args(argv)
    window, splits = preset_splits(a.preset, a.train_mb, a.tune_mb)
    out = Path(a.out) if a.out else ROOT/'.gpu_data'/'tair10'
    want = {k: [list(r) for r in v] for k, v in splits.items()}
    if (out/'manifest.json').exists() and json.loads((out/'manifest.json').read_text()).get('splits') == want:
        print(f'{out}: up to date'); return out
    from genome_tfm.annotation import load_dataset
    from genome_tfm.shards import prepare_shards, PrepareConfig
    genome, ann = load_dataset('tair10_chr1')
    for f in out.glob('*.npy') if out.exists() else []: f.unlink()   # a different selection: no stale shards left behind
    man = prepare_shards(genome, ann, splits, out, PrepareConfig(window=window))
    size = sum(f.stat().st_size for f in out.iterdir())
    counts = ', '.join(f"{k} {v['windows']} windows" for k, v in man['stats'].items())
    print(f"{out}: {counts}, {size / 2**20:.1f} MiB")
    return out


if __name__ == '__main__': main()
