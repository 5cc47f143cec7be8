#!/usr/bin/env python
"""MoE layer speed and memory, side by side in one run: our backends (loop, torch._grouped_mm, Triton), DeepSpeed-MoE
(its own gate, no token dropping), our router through DeepSpeed-MoE, and a dense GEGLU MLP with the same active
parameters per token (FFN = top_k * expert FFN).

    python benchmarks/moe.py                 # CUDA: 32 experts, top-2, hidden 768, FFN 3072, 65,536 tokens, bf16
    python benchmarks/moe.py --device cpu    # CPU: reduced size in fp32 (a couple of minutes on 2 cores)

Writes benchmarks/results/moe-DEVICE.json (device, versions, date, tokens/s, memory and ratios) and prints a table.
Memory: `saved_mb` is the size of the activations autograd keeps for the backward pass (any device; parameters not
counted); on CUDA `peak_mb` is the peak allocated memory of one forward+backward above the weights and the input.
On CPU, Triton runs only through its interpreter (a correctness tool), so it is timed only with --with-interpreter.
"""
import argparse, datetime, json, os, platform, statistics, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='auto', help="auto, cpu or cuda")
    ap.add_argument('--experts', type=int, default=32)
    ap.add_argument('--top-k', type=int, default=2)
    ap.add_argument('--hidden', type=int, default=None, help='default 768 on CUDA, 256 on CPU')
    ap.add_argument('--ffn', type=int, default=None, help='expert FFN; default 3072 on CUDA, 1024 on CPU')
    ap.add_argument('--tokens', type=int, default=None, help='default 65536 on CUDA, 4096 on CPU')
    ap.add_argument('--dtype', default=None, help='default bf16 on CUDA, fp32 on CPU')
    ap.add_argument('--reps', type=int, default=None, help='timed rounds (median reported); default 20 CUDA, 5 CPU')
    ap.add_argument('--backends', default='dense,loop,grouped_mm,triton,deepspeed,deepspeed_adapter')
    ap.add_argument('--threads', type=int, default=None, help='CPU threads; default 1 on CPU (steadier on a shared machine)')
    ap.add_argument('--with-interpreter', action='store_true', help='on CPU, also time Triton through its interpreter')
    ap.add_argument('--out', default=None, help='default benchmarks/results/moe-DEVICE.json')
    return ap.parse_args(argv)


def device_tag(dev) -> str:
    import torch
    if dev.type != 'cuda': return 'cpu'
    name = torch.cuda.get_device_name(dev).lower()
    for tag in ('h200', 'h100', 'a100', 'l40s', 'a10'):
        if tag in name: return tag
    return 'cuda'


def device_name(dev) -> str:
    import torch
    if dev.type == 'cuda': return torch.cuda.get_device_name(dev)
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'): return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores visible)"
    except OSError: pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores visible)"


def init_single_process_dist(dev):
    "DeepSpeed-MoE queries its process groups even with ep_size=1: start a world of one."
    import deepspeed, torch.distributed as dist
    if dist.is_initialized(): return
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', LOCAL_SIZE='1', MASTER_ADDR='127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29517')
    deepspeed.init_distributed(dist_backend='nccl' if dev.type == 'cuda' else 'gloo', auto_mpi_discovery=False)


def build(name, cfg, base, dev, dtype):
    "The module for one benchmark row, with `base`'s weights wherever the layouts allow it."
    import dataclasses, torch
    from genome_tfm.moe import MoE, GegluMLP, DeepSpeedMoE
    if name == 'dense':
        return GegluMLP(cfg.hidden, cfg.top_k * cfg.ffn).to(dev, dtype)
    if name in ('loop', 'grouped_mm', 'triton'):
        m = MoE(dataclasses.replace(cfg, backend=name)); m.load_state_dict(base.state_dict()); return m.to(dev, dtype)
    if name == 'deepspeed_adapter':
        return DeepSpeedMoE.from_moe(base).to(dev, dtype)
    if name == 'deepspeed':                              # DeepSpeed's own top-k gate, dropless, experts = our GEGLU MLP
        from deepspeed.moe.layer import MoE as DSMoE
        m = DSMoE(cfg.hidden, GegluMLP(cfg.hidden, cfg.ffn), num_experts=cfg.n_experts, ep_size=1, k=cfg.top_k,
                  drop_tokens=False, use_rts=False)
        return m.to(dev, dtype)
    raise SystemExit(f"unknown backend {name!r}")


def call(m, x):
    "Output and auxiliary loss (zero for the dense MLP) of one module."
    import torch
    y = m(x)
    if isinstance(y, tuple): return y[0], y[1]          # DeepSpeed's MoE returns (out, l_aux, counts)
    aux = getattr(m, 'aux_loss', None)
    return y, (aux if aux is not None else torch.zeros((), device=x.device))


def sync(dev):
    import torch
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


def saved_activation_mb(m, x) -> float:
    "MB of tensors autograd saves for backward during one forward (unique storages, parameters excluded)."
    import torch
    params = {p.untyped_storage().data_ptr() for p in m.parameters()}
    seen = {}
    def pack(t):
        try:
            s = t.untyped_storage()
            if s.data_ptr() not in params: seen[s.data_ptr()] = s.nbytes()
        except (RuntimeError, NotImplementedError): pass
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y, aux = call(m, x)
    del y, aux
    return sum(seen.values()) / 2**20


def make_fns(m, x, g):
    "Forward (no grad) and forward+backward closures for one module."
    import torch
    def fwd():
        with torch.no_grad(): call(m, x)
    def fwd_bwd():
        xi = x.detach().requires_grad_()
        y, aux = call(m, xi)
        ((y * g).sum() + aux).backward()
    return fwd, fwd_bwd


def bench(mods, x, g, dev, reps, warmup, stat):
    "Times of every module (`stat` over rounds), interleaved round by round so that load changes hit all alike."
    import torch
    fns = {n: make_fns(m, x, g) for n, m in mods.items()}
    for n, (f, fb) in fns.items():
        for _ in range(warmup): f(); fb()
    times = {n: dict(fwd=[], fwd_bwd=[]) for n in mods}
    for _ in range(reps):
        for n, (f, fb) in fns.items():
            for key, fn in (('fwd', f), ('fwd_bwd', fb)):
                sync(dev); t0 = time.perf_counter(); fn(); sync(dev); times[n][key].append(time.perf_counter() - t0)
    rows = {}
    for n, m in mods.items():
        t_f, t_fb = stat(times[n]['fwd']), stat(times[n]['fwd_bwd'])
        rows[n] = dict(fwd_s=t_f, fwd_bwd_s=t_fb, fwd_tok_s=x.shape[0] / t_f, fwd_bwd_tok_s=x.shape[0] / t_fb,
                       fwd_s_all=times[n]['fwd'], fwd_bwd_s_all=times[n]['fwd_bwd'],
                       saved_mb=saved_activation_mb(m, x.detach().requires_grad_()))
        if dev.type == 'cuda':
            m.zero_grad(set_to_none=False); sync(dev)
            torch.cuda.reset_peak_memory_stats(dev); base_mem = torch.cuda.memory_allocated(dev)
            fns[n][1](); sync(dev)
            rows[n]['peak_mb'] = (torch.cuda.max_memory_allocated(dev) - base_mem) / 2**20
    return rows


def versions():
    import importlib.metadata as md
    out = {'python': platform.python_version()}
    for p in ('torch', 'triton', 'deepspeed', 'genome_tfm'):
        try: out[p] = md.version(p)
        except md.PackageNotFoundError: out[p] = None
    return out


def main(argv=None):
    a = parse(argv)
    import torch
    dev = torch.device('cuda' if a.device == 'auto' and torch.cuda.is_available() else ('cpu' if a.device == 'auto' else a.device))
    if dev.type == 'cpu': os.environ.setdefault('DS_ACCELERATOR', 'cpu')
    from genome_tfm.core import gtfm_home
    os.environ.setdefault('TORCH_EXTENSIONS_DIR', str(gtfm_home()/'torch_extensions'))   # DeepSpeed's op cache
    gpu = dev.type == 'cuda'
    if not gpu or a.threads: torch.set_num_threads(a.threads or 1)
    hidden, ffn = a.hidden or (768 if gpu else 256), a.ffn or (3072 if gpu else 1024)
    tokens, reps = a.tokens or (65536 if gpu else 4096), a.reps or (20 if gpu else 5)
    dtype = dict(bf16=torch.bfloat16, fp16=torch.float16, fp32=torch.float32)[a.dtype or ('bf16' if gpu else 'fp32')]
    from genome_tfm.core import seed_everything, atomic_write
    from genome_tfm.moe import MoE, MoEConfig
    cfg = MoEConfig(hidden=hidden, ffn=ffn, n_experts=a.experts, top_k=a.top_k)
    seed_everything(0)
    base = MoE(cfg)
    x = torch.randn(tokens, hidden, device=dev, dtype=dtype)
    g = torch.randn(tokens, hidden, device=dev, dtype=dtype)
    names = [n.strip() for n in a.backends.split(',') if n.strip()]
    mods, skipped = {}, {}
    for n in names:
        if n == 'triton' and not gpu and not a.with_interpreter:
            skipped[n] = 'CPU: Triton runs only through its interpreter here (correctness, not speed); use --with-interpreter'; continue
        try:
            if n.startswith('deepspeed'): init_single_process_dist(dev)
            m = build(n, cfg, base, dev, dtype).train()
            make_fns(m, *((x, g) if gpu else (x[:256], g[:256])))[1]()   # a backend this device lacks is reported, not fatal
            m.zero_grad(set_to_none=True); mods[n] = m
        except Exception as e:
            skipped[n] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
            print(f"{n:>18}: skipped ({skipped[n]})", flush=True)
    rows = bench(mods, x, g, dev, reps, warmup=1 if not gpu else 3, stat=statistics.median if gpu else min)
    ratios = {}
    for n, r in rows.items():
        q = {}
        for ref in ('dense', 'loop'):
            if ref in rows and ref != n:
                q[f'fwd_vs_{ref}'] = r['fwd_tok_s'] / rows[ref]['fwd_tok_s']
                q[f'fwd_bwd_vs_{ref}'] = r['fwd_bwd_tok_s'] / rows[ref]['fwd_bwd_tok_s']
        if 'dense' in rows and n != 'dense':
            q['saved_mem_vs_dense'] = r['saved_mb'] / rows['dense']['saved_mb']
            if 'peak_mb' in r: q['peak_mem_vs_dense'] = r['peak_mb'] / rows['dense']['peak_mb']
        ratios[n] = q
    tag = device_tag(dev)
    report = dict(benchmark='moe', device=device_name(dev), device_tag=tag, date=datetime.datetime.now().isoformat(timespec='seconds'),
                  versions=versions(), torch_threads=torch.get_num_threads(),
                  load_avg_1_5_15min=list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
                  config=dict(n_experts=cfg.n_experts, top_k=cfg.top_k, hidden=hidden, ffn=ffn, dense_ffn=cfg.top_k * ffn,
                              tokens=tokens, dtype=str(dtype).replace('torch.', ''), reps=reps, timing=('median' if gpu else 'minimum (other jobs only add time on a shared CPU)') + ' wall time of interleaved rounds'),
                  results=rows, ratios=ratios, skipped=skipped,
                  targets=dict(note='issue 6 targets, meaningful on an H100: triton fwd_bwd_vs_dense >= 0.8, fwd_bwd_vs_loop >= 5, peak_mem_vs_dense <= 1.3'))
    print(f"\n{'backend':>18} | {'fwd tok/s':>12} | {'fwd+bwd tok/s':>13} | {'vs dense':>8} | {'vs loop':>7} | {'saved MB':>8} | {'peak MB':>8}")
    for n, r in rows.items():
        q = ratios[n]
        print(f"{n:>18} | {r['fwd_tok_s']:12,.0f} | {r['fwd_bwd_tok_s']:13,.0f} | {q.get('fwd_bwd_vs_dense', 1.0):8.2f} | "
              f"{q.get('fwd_bwd_vs_loop', 1.0):7.2f} | {r['saved_mb']:8.1f} | {r.get('peak_mb', float('nan')):8.1f}")
    out = Path(a.out) if a.out else ROOT/'benchmarks'/'results'/f'moe-{tag}.json'
    with atomic_write(out, 'w') as f: json.dump(report, f, indent=2)
    print(f"wrote {out}")
    return report


if __name__ == '__main__':
    main()
