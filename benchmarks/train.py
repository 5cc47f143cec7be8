#!/usr/bin/env python
"""Pre-training throughput of genome_tfm.trainer on a GPU: the base-gpu preset (117M DNABERT-2-sized encoder, ~1k BPE tokens
per window, bf16, fused AdamW) for N minutes; tokens/s, MFU, peak memory and the loss curve to
benchmarks/results/train-<device>.json.

    python benchmarks/train.py --minutes 15                       # one GPU
    accelerate launch --config_file configs/accelerate/multi-gpu.yaml --num_processes 8 benchmarks/train.py --minutes 15
    python benchmarks/train.py --preset tiny-cpu --minutes 1      # the same measurement on a CPU (smoke test)

MFU = tokens/s x genome_tfm.costs.flops_per_token(config, seq_len) / (GPUs x dense bf16 peak of the GPU).
"""
import argparse, json, platform, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ holds tokenizers.py and attention.py: off the import path, or they shadow the `tokenizers` package
sys.path[:] = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='base-gpu'); ap.add_argument('--minutes', type=float, default=15.0)
    ap.add_argument('--out_dir', default=None); ap.add_argument('--results', default=None, help='JSON path (default benchmarks/results/train-<device>.json)')
    ap.add_argument('overrides', nargs='*', help='key=value TrainConfig overrides')
    a = ap.parse_args(argv)
    import torch
    from genome_tfm.train import config_from_args
    from genome_tfm.trainer import Trainer, read_metrics
    out = a.out_dir or str(ROOT/'runs'/f'bench-{a.preset}')
    cfg = config_from_args(a.preset, [f'out_dir={out}', f'max_time={a.minutes * 60}', 'resume=null', 'save_every=0', *a.overrides])
    tr = Trainer(cfg).setup()
    if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
    t0 = time.time(); ck = tr.train(); wall = time.time() - t0
    if not tr.acc.is_main_process: return 0
    recs = read_metrics(out)
    steps = [r for r in recs if 'tokens_per_s' in r]
    steady = steps[len(steps) // 5:] or steps                  # drop the first fifth (compilation, warm-up, data cache)
    tps = sorted(r['tokens_per_s'] for r in steady)
    dev = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or 'cpu'
    res = dict(benchmark='train', preset=a.preset, device=dev, world_size=tr.acc.num_processes, date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
               torch=torch.__version__, precision=str(tr.acc.mixed_precision), wall_s=round(wall, 1), steps=tr.state['step'],
               tokens=tr.state['tokens'], tokens_per_s_median=tps[len(tps) // 2] if tps else None,
               mfu_median=sorted(r['mfu'] for r in steady if 'mfu' in r)[len(steady) // 2] if any('mfu' in r for r in steady) else None,
               flops_per_token=tr.flops_per_token, peak_flops_per_gpu=tr.peak,
               peak_memory_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else None,
               loss_curve=[(r['step'], r['loss']) for r in recs if 'loss' in r][::max(1, len(recs) // 400)],
               eval=[{k: v for k, v in r.items()} for r in recs if 'eval_loss' in r], checkpoint=str(ck),
               command=' '.join([sys.executable, *sys.argv]))
    name = 'cpu' if not torch.cuda.is_available() else dev.lower().replace('nvidia ', '').split()[0]
    p = Path(a.results) if a.results else ROOT/'benchmarks'/'results'/f'train-{name}.json'
    p.write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps({k: v for k, v in res.items() if k not in ('loss_curve', 'eval')}, indent=1)); print('->', p)
    return 0

if __name__ == '__main__': sys.exit(main())
