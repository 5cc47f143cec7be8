#!/usr/bin/env python
"""Learning curves of gene-structure presets on TAIR10 chr1: exon and gene F1 on the tuning slice against CPU-minutes and bases seen.

    python benchmarks/learning_curve.py --preset tiny                      # budgets 10,20,40,80,160 CPU-minutes, seed 0
    python benchmarks/learning_curve.py --preset small --seeds 1,2 --budgets 10   # the smallest budget again, other seeds
    python benchmarks/learning_curve.py --summary                          # print the table of what is measured so far

Every point is an annealed model. Each (preset, seed) has one stable run at the peak learning rate (`schedule=constant`
after a warm-up) that is checkpointed at 80% of every budget; from that checkpoint a branch decays the learning rate
linearly to 10% over the last 20% (`schedule=wsd`, genome_tfm.train), so a budget of b CPU-minutes costs its own decay
plus the shared stable run. Budgets are fixed numbers of optimizer steps, converted once from CPU-minutes by a short
calibration run of the preset (`calibration.json` in the work folder), so every run is deterministic and resumes
exactly: a killed run started again continues from its last checkpoint (stable runs and branches alike), and finished
points are kept. The CPU-minutes reported are what the run really used (`cpu_seconds` of the trainer: process CPU
time, all threads), beside wall-clock minutes and bases seen; when the code gets faster (or `--precision bf16` is
given for the runs from then on) a budget's steps stay the same and its CPU-minutes shrink, so plot against the
CPU-minutes and bases really used, not the nominal budget.

Training: chr1:0-18,500,000 (2,048-base windows, both strands labelled). Scoring: chr1:18,500,000-20,000,000, the
tuning slice (training split, never trained on; the validation region and the reserved 20-25 Mb are not touched):
it is predicted once and decoded two ways, with the decoder settings of the demo's grid chosen there (`tune_decoder`,
best gene F1 then exon F1) and with decoder statistics learned from the training part added (`tune_decoder_stats`;
fields prefixed 'stats '), and each best annotation is scored by `genome_tfm.evaluate.evaluate` (exon, intron,
transcript, gene Sn/Sp/F1, CDS base F1). `--rescore` scores the recorded points again from their checkpoints.
Results accumulate in benchmarks/results/learning_curve-cpu.json, one record per (preset, seed, budget).
"""
import argparse, dataclasses, datetime, fcntl, json, os, platform, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN, TUNE = (0, 18_500_000), (18_500_000, 20_000_000)
LR = {'tiny': 3e-3, 'small': 2e-3, 'medium': 1e-3}      # peak learning rates (not tuned: tiny's is the demo's, larger models get less)
WINDOW, BATCH, WARMUP, STABLE = 2048, 8, 20, 0.8
RESULTS = ROOT/'benchmarks'/'results'/'learning_curve-cpu.json'

def shards(genome, ref) -> Path:
    "Labelled shards of the training part (train) and the tuning slice (valid: the trainer's eval loss), made once."
    from genome_tfm.core import gtfm_home
    from genome_tfm.shards import prepare_shards, PrepareConfig
    from genome_tfm.annotation import TAIR10_CHROM
    out = gtfm_home()/'curves'/f'tair10_train{TRAIN[0]}-{TRAIN[1]}_w{WINDOW}'
    if not (out/'manifest.json').exists():
        prepare_shards(genome, ref, {'train': [(TAIR10_CHROM, *TRAIN)], 'valid': [(TAIR10_CHROM, *TUNE)]}, out, PrepareConfig(window=WINDOW))
    return out

PRECISION = 'fp32'                                       # set by --precision ('bf16' on CPUs with native bf16: about 2x the bases/s)

def train_config(preset: str, data: Path, out: Path, seed: int, **kw):
    from genome_tfm.tasks import TrainConfig
    from genome_tfm.demo import DemoConfig
    base = dict(precision=PRECISION, task='gene_structure', model=preset, model_args=dict(DemoConfig().model_args), data=str(data), window=WINDOW,
                batch_size=BATCH, lr=LR.get(preset, 1e-3), warmup_steps=WARMUP, out_dir=str(out), seed=seed, eval_batches=8,
                tensorboard=False, log_every=25, keep_last=3, resume='auto')
    return TrainConfig(**{**base, **kw})

def calibrate(preset: str, data: Path, work: Path, steps: int = 40) -> dict:
    "CPU seconds per optimizer step of `preset` from a short run (kept in calibration.json so that budgets never change)."
    from genome_tfm.trainer import Trainer
    f = work/preset/'calibration.json'
    if f.exists(): return json.loads(f.read_text())
    kept = [q['calibration'] for q in load_results(RESULTS)['points'] if q['preset'] == preset]
    if kept: return kept[0]                     # the work folder is gone: keep the budgets the recorded points used
    tr = Trainer(train_config(preset, data, work/preset/'calibration', 0, max_steps=steps, schedule='constant', resume=None, eval_batches=1))
    tr.train()
    cal = dict(steps=steps, cpu_seconds=tr.state['cpu_seconds'], wall_seconds=tr.state['elapsed'], threads=tr.state.get('threads'),
               cpu_seconds_per_step=tr.state['cpu_seconds'] / steps, date=datetime.date.today().isoformat())
    f.parent.mkdir(parents=True, exist_ok=True); f.write_text(json.dumps(cal, indent=1))
    return cal

def budget_steps(minutes: float, cal: dict) -> int:
    "Optimizer steps of a budget, a multiple of 5 so that the stable part (80%) is a whole number of steps."
    return max(25, int(round(minutes * 60 / cal['cpu_seconds_per_step'] / 5)) * 5)

def checkpoint_at(run: Path, step: int):
    p = run/'checkpoints'/f'step-{step:08d}'
    return p if (p/'trainer_state.json').exists() else None

def stable_to(preset, data, work, seed, step: int, save_every: int) -> Path:
    "Advance the seed's stable run (constant lr after warm-up) to `step`; returns that checkpoint."
    from genome_tfm.trainer import fit
    run = work/preset/f'seed{seed}'/'stable'
    if checkpoint_at(run, step) is None:
        fit(train_config(preset, data, run, seed, max_steps=step, schedule='constant', save_every=save_every, eval_every=0))
    ck = checkpoint_at(run, step)
    if ck is None: raise RuntimeError(f"{run}: no checkpoint at step {step} after training")
    return ck

def branch(preset, data, work, seed, minutes, steps: int, stable_ck: Path, save_every: int) -> Path:
    "Decay branch of a budget: from the stable checkpoint at 80% to `steps` with a linear decay (wsd); returns its final checkpoint."
    from genome_tfm.trainer import fit, list_checkpoints
    run = work/preset/f'seed{seed}'/f'budget{minutes:g}'
    own = list_checkpoints(run) if (run/'checkpoints').exists() else []
    if checkpoint_at(run, steps) is None:
        fit(train_config(preset, data, run, seed, max_steps=steps, schedule='wsd', decay_frac=1 - STABLE, save_every=save_every,
                         eval_every=0, resume='auto' if own else str(stable_ck)))
    return checkpoint_at(run, steps)

def gene_stats(genome, ref, work: Path) -> Path:
    "Decoder statistics (genome_tfm.gene_stats) learned from the training part only, made once."
    from genome_tfm.annotation import TAIR10_CHROM
    from genome_tfm.gene_stats import learn_gene_stats
    f = work/'gene_stats.json'
    return f if f.exists() else learn_gene_stats(genome, ref, [(TAIR10_CHROM, *TRAIN)]).save(f)

def _levels(r: dict, prefix: str = '') -> dict:
    lv = r['levels']
    return {**{f'{prefix}{k} {m}': lv[k][m] for k in ('exon', 'intron', 'transcript', 'gene') for m in ('sn', 'sp', 'f1') if k in lv},
            f'{prefix}cds_base_f1': r['class_f1']['CDS']}

def score(ck: Path, genome, ref, data: Path, stats: Path) -> dict:
    """The tuning slice predicted once, decoded with the network's decoder settings chosen there (`tune_decoder`, the demo's
    grid) and with the learned statistics added (`tune_decoder_stats`, prefix 'stats '), each scored against RefSeq."""
    from genome_tfm.annotation import TAIR10_CHROM
    from genome_tfm.demo import DemoConfig, demo_inference, model_class_prior, tune_decoder, tune_decoder_stats, predict_region, decode_predictions
    from genome_tfm.annotate import shard_class_prior
    from genome_tfm.evaluate import evaluate
    from genome_tfm.trainer import load_checkpoint
    model, _, tcfg = load_checkpoint(ck)
    d = DemoConfig()
    icfg = demo_inference(d, model_class_prior(shard_class_prior(data), (tcfg.model_args or {}).get('class_weights')))
    icfg = dataclasses.replace(icfg, precision='fp32')       # every point scored alike (bf16 inference came later: inference_modes-cpu.json)
    region = (TAIR10_CHROM, *TUNE)
    t0 = time.perf_counter(); preds = predict_region(model, genome, region, icfg); t_pred = time.perf_counter() - t0
    t0 = time.perf_counter()
    best, _ = tune_decoder(None, genome, ref, region, icfg, d.tune_grid, preds=preds)
    best_s, _ = tune_decoder_stats(None, genome, ref, region, best, str(stats), {}, preds=preds)   # from the network's choice on
    t_tune = time.perf_counter() - t0
    out = dict(params=sum(p.numel() for p in model.parameters()), predict_seconds=t_pred, tune_seconds=t_tune,
               predict_mb_per_min=(TUNE[1] - TUNE[0]) / 1e6 / (t_pred / 60))
    for prefix, cfg in (('', best), ('stats ', best_s)):
        ann = decode_predictions(preds, genome, region, cfg)
        out.update(_levels(evaluate(genome, ref, ann, region), prefix), **{f'{prefix}genes_predicted': len(ann),
                   f'{prefix}decoder': {k: getattr(cfg, k) for k in (*d.tune_grid, 'stats_weight', 'content_weight')}})
    return out

def load_results(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else dict(points=[])

def save_results(path: Path, res: dict):
    import torch, genome_tfm
    res.update(device='cpu', machine=f'{platform.machine()} {os.cpu_count()} cores (shared 2-core CPU machine)', torch=torch.__version__,
               genome_tfm=genome_tfm.__version__, updated=datetime.datetime.now().isoformat(timespec='seconds'),
               protocol=dict(train=list(TRAIN), tune=list(TUNE), window=WINDOW, batch_size=BATCH, warmup_steps=WARMUP, lr=LR,
                             stable_share=STABLE, min_lr_ratio=0.1, schedule='stable (constant) run branched into linear decays (wsd)'))
    res['points'].sort(key=lambda p: (p['preset'], p['seed'], p['budget_minutes']))
    tmp = path.with_suffix('.tmp'); tmp.write_text(json.dumps(res, indent=1)); tmp.replace(path)

def rescore(out: Path, genome, ref, data: Path, stats: Path):
    "Score every recorded point again from its checkpoint (training fields kept), e.g. after the scoring gained the statistics."
    for i, p in enumerate(load_results(out)['points']):
        ck = Path(p['checkpoint']); ck = ck if ck.is_absolute() else ROOT/ck
        if not ck.exists(): print(f"{p['preset']} {p['budget_minutes']:g}: {ck} is gone, kept as it was"); continue
        new = score(ck, genome, ref, data, stats)
        def change(res, p=p, new=new):
            for q in res['points']:
                if (q['preset'], q['seed'], q['budget_minutes']) == (p['preset'], p['seed'], p['budget_minutes']):
                    for k in [k for k in q if k.startswith('stats ')]: del q[k]
                    q.update(new)
        update_results(out, change)
        print(f"{p['preset']} seed {p['seed']} {p['budget_minutes']:g}: exon F1 {new['exon f1']:.3f} / with statistics {new['stats exon f1']:.3f}", flush=True)

def augustus(out: Path, genome, ref):
    "Augustus (Debian, --species=arabidopsis, the project's flags) on the tuning slice, scored as the points are: the line to beat there."
    from genome_tfm.annotation import TAIR10_CHROM
    from genome_tfm.evaluate import run_augustus, evaluate
    region = (TAIR10_CHROM, *TUNE)
    t0 = time.perf_counter(); ann = run_augustus(genome, region); secs = time.perf_counter() - t0
    r = dict(**_levels(evaluate(genome, ref, ann, region)), genes_predicted=len(ann), seconds=secs)
    update_results(out, lambda res: res.update(augustus_tuning_slice=r))
    print(f"Augustus on chr1:{TUNE[0] + 1:,}-{TUNE[1]:,}: exon F1 {r['exon f1']:.3f}, gene F1 {r['gene f1']:.3f} ({secs:.0f} s)")

def update_results(path: Path, change):
    "Apply `change` to the results file under a lock (several presets may run at once) and save it."
    with open(path.with_suffix('.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        res = load_results(path); change(res); save_results(path, res)

def summary(res: dict):
    import pandas as pd
    if not res['points']: print('no points yet'); return
    df = pd.DataFrame(res['points'])
    cols = ['preset', 'seed', 'budget_minutes', 'cpu_minutes', 'bases_seen', 'exon f1', 'gene f1', 'cds_base_f1', 'stats exon f1', 'stats gene f1']
    df['bases_seen'] = (df['bases_seen'] / 1e6).round(1)
    print(df[[c for c in cols if c in df]].round(3).to_string(index=False))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='tiny', help='hierarchical preset: tiny, small, medium')
    ap.add_argument('--budgets', default='10,20,40,80,160', help='CPU-minute budgets, comma-separated')
    ap.add_argument('--seeds', default='0', help='seeds, comma-separated (each has its own stable run)')
    ap.add_argument('--threads', type=int, default=1, help='torch threads (1: two runs can share the 2-core machine)')
    ap.add_argument('--work', default=str(ROOT/'runs'/'curves'), help='run folders (git-ignored; keep it to resume)')
    ap.add_argument('--out', default=str(RESULTS))
    ap.add_argument('--precision', default='fp32', help="'fp32' or 'bf16' (autocast; CPUs with AVX512-BF16/AMX): for the runs from now on")
    ap.add_argument('--summary', action='store_true', help='print the measured points and exit')
    ap.add_argument('--augustus', action='store_true', help='run Augustus on the tuning slice (same scorer) and keep its figures as the line to beat')
    ap.add_argument('--rescore', action='store_true', help='score the points measured so far again (their final checkpoints) with the current scoring')
    a = ap.parse_args()
    global PRECISION; PRECISION = a.precision
    out = Path(a.out)
    if a.summary: return summary(load_results(out))
    os.environ.setdefault('OMP_NUM_THREADS', str(a.threads))
    import torch
    torch.set_num_threads(a.threads)
    from genome_tfm.annotation import load_dataset
    genome, ref = load_dataset('tair10_chr1')
    work = Path(a.work); data = shards(genome, ref); stats = gene_stats(genome, ref, work)
    if a.rescore: return rescore(out, genome, ref, data, stats)
    if a.augustus: return augustus(out, genome, ref)
    cal = calibrate(a.preset, data, work)
    budgets = sorted(float(b) for b in a.budgets.split(','))
    print(f"{a.preset}: {cal['cpu_seconds_per_step']:.3f} CPU s/step -> budgets " + ', '.join(f'{b:g} min = {budget_steps(b, cal)} steps' for b in budgets), flush=True)
    for seed in (int(s) for s in a.seeds.split(',')):
        for b in budgets:
            res = load_results(out)
            if any(p['preset'] == a.preset and p['seed'] == seed and p['budget_minutes'] == b for p in res['points']): continue
            steps = budget_steps(b, cal); every = budget_steps(5, cal)     # a checkpoint about every 5 CPU-minutes
            ck = branch(a.preset, data, work, seed, b, steps, stable_to(a.preset, data, work, seed, int(steps * STABLE), every), every)
            st = json.loads((ck/'trainer_state.json').read_text())['state']
            point = dict(preset=a.preset, seed=seed, budget_minutes=b, steps=steps, cpu_minutes=st['cpu_seconds'] / 60,
                         wall_minutes=st['elapsed'] / 60, bases_seen=st['tokens'], threads=a.threads, precision=a.precision,
                         checkpoint=str(ck.relative_to(ROOT) if ck.is_relative_to(ROOT) else ck), calibration=cal, **score(ck, genome, ref, data, stats))
            update_results(out, lambda res: res['points'].append(point))
            print(f"{a.preset} seed {seed} {b:g} CPU-min ({point['cpu_minutes']:.1f} used, {point['bases_seen'] / 1e6:.1f} M bases): "
                  f"exon F1 {point['exon f1']:.3f}, gene F1 {point['gene f1']:.3f}, CDS base F1 {point['cds_base_f1']:.3f}; "
                  f"with statistics exon F1 {point['stats exon f1']:.3f}, gene F1 {point['stats gene f1']:.3f}", flush=True)

if __name__ == '__main__':
    main()
