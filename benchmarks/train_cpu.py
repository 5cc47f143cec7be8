#!/usr/bin/env python
"""Training speed of the gene-structure presets on the CPU: bases/s of the project's trainer, today's path beside the faster ones.

    python benchmarks/train_cpu.py                                  # tiny, small, medium; 1 thread; 3 rounds
    python benchmarks/train_cpu.py --presets small --threads 2 --steps 40

Variants: `reference` is the plain path (convolutions through conv_bases_reference: transposed copies around conv1d;
fp32), `fp32` the model as it runs now (conv_bases: a channels-last conv2d view, no copies), `bf16` the same under
bf16 autocast (TrainConfig.precision='bf16', on CPUs with native bf16 dot products). Each round trains every
(preset, variant) pair for `--steps` optimizer steps with genome_tfm.trainer.Trainer on the learning curves' shards
(TAIR10 chr1 0-18.5 Mb, 2,048-base windows, batch 8: the recipe's shape), each in its own process, one after the
other, so that a change in the machine's load hits all variants alike; bases/s is the median of the logged rates after
the first logged interval, and the ratios to `reference` are taken within each round. The loss after the same steps
is reported too (same seed, same data): the variants must not change what is learned, only how fast. Writes
benchmarks/results/train_cpu-cpu.json with the machine, its load average, versions and date.
"""
import argparse, datetime, json, os, platform, statistics, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def run(preset: str, variant: str, steps: int, data: Path, out: Path, threads: int) -> dict:
    "One (preset, variant) measurement in its own process (accelerate fixes the precision once per process)."
    import subprocess, sys
    r = subprocess.run([sys.executable, __file__, '--one', preset, variant, str(steps), str(data), str(out), '--threads', str(threads)],
                       capture_output=True, text=True)
    if r.returncode: raise RuntimeError(f"{preset} {variant} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def run_here(preset: str, variant: str, steps: int, data: Path, out: Path) -> dict:
    from genome_tfm.tasks import TrainConfig
    from genome_tfm.trainer import Trainer, read_metrics
    from genome_tfm.hierarchical import ConvBlock
    ConvBlock.fast = variant != 'reference'
    precision = 'bf16' if variant == 'bf16' else 'fp32'
    from genome_tfm.demo import DemoConfig
    cfg = TrainConfig(task='gene_structure', model=preset, model_args=dict(DemoConfig().model_args), data=str(data), window=2048, batch_size=8,
                      lr=2e-3, warmup_steps=5, max_steps=steps, schedule='constant', precision=precision, out_dir=str(out), resume=None,
                      save_every=0, eval_batches=1, tensorboard=False, log_every=5, seed=0, memory_check=False)
    tr = Trainer(cfg); tr.train()
    recs = [r for r in read_metrics(out) if 'tokens_per_s' in r][1:]
    return dict(bases_per_s=statistics.median(r['tokens_per_s'] for r in recs), loss=[r['loss'] for r in read_metrics(out) if 'loss' in r][-1],
                cpu_seconds_per_step=tr.state['cpu_seconds'] / steps)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--presets', default='tiny,small,medium'); ap.add_argument('--variants', default='reference,fp32,bf16')
    ap.add_argument('--steps', type=int, default=30); ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'train_cpu-cpu.json'))
    ap.add_argument('--one', nargs=5, default=None, help=argparse.SUPPRESS)     # PRESET PRECISION STEPS DATA OUT: one measurement, JSON on stdout
    a = ap.parse_args()
    os.environ.setdefault('OMP_NUM_THREADS', str(a.threads)); os.environ.setdefault('GTFM_PROGRESS', '0')
    import torch, genome_tfm
    torch.set_num_threads(a.threads)
    if a.one:
        p, prec, n, d, o = a.one
        return print(json.dumps(run_here(p, prec, int(n), Path(d), Path(o))))
    from genome_tfm.annotation import load_dataset
    from genome_tfm.trainer import cpu_bf16
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location('learning_curve', ROOT/'benchmarks'/'learning_curve.py'); lc = importlib.util.module_from_spec(spec); spec.loader.exec_module(lc)
    data = lc.shards(*load_dataset('tair10_chr1'))
    variants = [p for p in a.variants.split(',') if p != 'bf16' or cpu_bf16()]
    rows, load0 = [], os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            for preset in a.presets.split(','):
                for prec in variants:
                    r = run(preset, prec, a.steps, data, Path(tmp)/f'{preset}-{prec}-{rnd}', a.threads)
                    rows.append(dict(round=rnd, preset=preset, variant=prec, **r))
                    print(f"round {rnd} {preset:7s} {prec:9s}: {r['bases_per_s']:9,.0f} bases/s, loss after {a.steps} steps {r['loss']:.4f}", flush=True)
    summary = {}
    for preset in a.presets.split(','):
        s = {p: [r['bases_per_s'] for r in rows if r['preset'] == preset and r['variant'] == p] for p in variants}
        d = {p: statistics.median(v) for p, v in s.items()}
        for p in variants:
            if p != 'reference' and 'reference' in s: d[f'{p}_over_reference'] = statistics.median(b / f for b, f in zip(s[p], s['reference']))
        summary[preset] = d
        print(preset, {k: round(v, 3) for k, v in d.items()})
    res = dict(benchmark='train_cpu', device='cpu', machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared CPU machine)",
               cpu_bf16=cpu_bf16(), threads=a.threads, steps=a.steps, rounds=a.rounds, load_average_before=load0, load_average_after=os.getloadavg(),
               torch=torch.__version__, genome_tfm=genome_tfm.__version__, date=datetime.datetime.now().isoformat(timespec='seconds'),
               summary=summary, rows=rows)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print('->', a.out)

if __name__ == '__main__':
    main()
