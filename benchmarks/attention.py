#!/usr/bin/env python
"""Attention speed: genome_tfm's backends side by side with the baselines, in one run.

    python benchmarks/attention.py              # CUDA: the full grid of issue 5; CPU: a reduced grid
    python benchmarks/attention.py --quick      # a smaller grid (smoke test)

CUDA (bf16, B*L = 16k tokens, L in {1k, 4k, 16k}, head dim {64, 128}, H*D = 2048): ALiBi bidirectional, ALiBi causal and
ALiBi with a window of 512 keys each side; backends: our Triton kernels, compiled FlexAttention with an ALiBi
score_mod, flash-attn 2 with `alibi_slopes` (when installed) and plain SDPA without bias (a no-ALiBi yardstick).
Forward and forward+backward TFLOP/s count only visible (query, key) pairs: 4*D per pair forward, 10*D backward.
CPU (fp32, 4k tokens, L in {256, 512, 1024}, 8 heads of 64): our SDPA-with-ALiBi path (bias cached as in a model's
layers; rebuilt every call; without flushing denormals) against plain SDPA without bias (the target: within 1.2x) and
the reference. The backends of one case run interleaved, round by round (at least --min-reps rounds), and the best
round counts (the least disturbed on a shared machine); the median is recorded too.
Writes benchmarks/results/attention-DEVICE.json (device, versions, date, per-case times, ratios) and prints a table.
"""
import argparse, datetime, json, os, platform, statistics, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch
import torch.nn.functional as F
from genome_tfm import attention as A


def visible_pairs(L: int, causal: bool, window) -> int:
    "Number of visible (query, key) pairs of one self-attention sequence of length L."
    i = torch.arange(L)
    lo = torch.zeros(L, dtype=torch.long) if window is None else (i - window).clamp(min=0)
    hi = (i if causal else torch.full((L,), L - 1)) if window is None else torch.minimum(i if causal else i + window, torch.tensor(L - 1))
    return int((hi - lo + 1).clamp(min=0).sum())


def time_cases(fns: dict, device: str, min_time: float, max_reps: int, min_reps: int = 5) -> tuple[dict, dict]:
    "(best, median) seconds per backend; on the CPU the backends run interleaved, round by round, timed in process CPU time."
    if device == 'cuda':
        from triton.testing import do_bench
        med = {name: do_bench(fn, warmup=25, rep=100, return_mode='median') / 1e3 for name, fn in fns.items()}
        return med, med
    clock = time.process_time if torch.get_num_threads() == 1 else time.perf_counter   # CPU time ignores other users' load
    for fn in fns.values(): fn()                                                       # warm-up (and bias caches)
    times = {n: [] for n in fns}
    t_end = time.perf_counter() + min_time * len(fns)
    while min(map(len, times.values())) < min_reps or (time.perf_counter() < t_end and min(map(len, times.values())) < max_reps):
        for n, fn in fns.items():
            t0 = clock(); fn(); times[n].append(clock() - t0)
    return {n: min(t) for n, t in times.items()}, {n: statistics.median(t) for n, t in times.items()}


def make_runner(backend: str, q, k, v, kw: dict, bwd: bool):
    "A closure running one forward (and backward) pass of `backend`."
    if backend == 'sdpa_plain':      # no bias at all: the speed ALiBi should cost next to nothing against
        qt, kt, vt = (t.transpose(1, 2) for t in (q, k, v))
        f = lambda: F.scaled_dot_product_attention(qt, kt, vt, is_causal=kw.get('causal', False)).transpose(1, 2)
    elif backend == 'sdpa_cold':     # our SDPA path with the bias rebuilt every call
        def f():
            A._sdpa_bias_cached.cache_clear()
            return A.attention(q, k, v, backend='sdpa', **kw)
    else: f = lambda: A.attention(q, k, v, backend='sdpa' if backend == 'sdpa_denormals' else backend, **kw)
    g = torch.randn_like(q)
    def fb():
        o = f(); o.backward(g); q.grad = k.grad = v.grad = None
    run = fb if bwd else f
    if backend != 'sdpa_denormals': return run
    class NoFlush:                     # our SDPA path with denormal flushing switched off, forward and backward
        def __enter__(self): pass
        def __exit__(self, *a): pass
    def unflushed():
        old, A._flush_denormals = A._flush_denormals, NoFlush
        try: return run()
        finally: A._flush_denormals = old
    return unflushed


def run(args) -> dict:
    dev = 'cuda' if torch.cuda.is_available() and not args.cpu else 'cpu'
    if dev == 'cuda':
        dtype, tokens, lengths, dims, hidden = torch.bfloat16, 16384, [1024, 4096, 16384], [64, 128], 2048
        modes = {'alibi': dict(alibi=True), 'causal': dict(alibi=True, causal=True), 'window512': dict(alibi=True, window=512)}
        backends = ['triton', 'flex'] + (['flash_attn'] if A._has_flash_attn() else []) + ['sdpa_plain']
        if args.quick: lengths, dims = [1024, 4096], [128]
    else:
        dtype, tokens, lengths, dims, hidden = torch.float32, 4096, [256, 512, 1024], [64], 512
        modes = {'alibi': dict(alibi=True), 'causal': dict(alibi=True, causal=True)}
        backends = ['sdpa_plain', 'sdpa', 'sdpa_cold', 'sdpa_denormals', 'reference']
        if args.quick: lengths, tokens = [256, 512], 1024
    rows, load = [], [os.getloadavg()]
    for D in dims:
        H = hidden // D
        for L in lengths:
            B = tokens // L
            for mode, kw in modes.items():
                pairs = B * visible_pairs(L, kw.get('causal', False), kw.get('window'))
                todo = [be for be in backends if not (be == 'sdpa_plain' and 'window' in kw) and not (be == 'reference' and L > 512)
                        and not (be == 'sdpa_denormals' and mode != 'alibi')]   # the reference is O(L^2) memory and slow
                for bwd in (False, True):
                    torch.manual_seed(0)
                    q, k, v = (torch.randn(B, L, H, D, device=dev, dtype=dtype, requires_grad=bwd) for _ in range(3))
                    fns, errs = {}, {}
                    for be in todo:
                        try:
                            fn = make_runner(be, q, k, v, kw, bwd); fn(); fns[be] = fn
                        except Exception as e:  # a backend that cannot run a case is recorded, not fatal
                            errs[be] = f'{type(e).__name__}: {str(e).splitlines()[0][:200]}'
                    secs, med = time_cases(fns, dev, args.min_time, args.max_reps, args.min_reps)
                    flops = (14 if bwd else 4) * D * H * pairs
                    for be in todo:
                        t = secs.get(be)
                        rows.append(dict(head_dim=D, heads=H, seq_len=L, batch=B, mode=mode, backend=be, **{'pass': 'fwd+bwd' if bwd else 'fwd'},
                                         seconds=t, seconds_median=med.get(be), tflops=(flops / t / 1e12) if t else None, visible_pairs=pairs, error=errs.get(be)))
                        print(f"D={D:3d} L={L:5d} {mode:9s} {be:14s} {'fwd+bwd' if bwd else 'fwd':7s} "
                              + (f"{t * 1e3:9.2f} ms {flops / t / 1e12:8.3f} TFLOP/s" if t else f"failed: {errs.get(be)}"), flush=True)
                    del q, k, v, fns
    load.append(os.getloadavg())
    return dict(device=torch.cuda.get_device_name() if dev == 'cuda' else f'cpu ({platform.processor() or platform.machine()})',
                device_kind=dev, dtype=str(dtype).replace('torch.', ''), tokens_per_batch=tokens, hidden=hidden,
                torch_threads=torch.get_num_threads(), torch=torch.__version__,
                timer='triton.testing.do_bench (median)' if dev == 'cuda' else (('process CPU time' if torch.get_num_threads() == 1 else 'wall time')
                      + ', backends interleaved round by round; seconds = best round, seconds_median = median round'),
                shared_machine=dev == 'cpu', load_average_1_5_15_min=load,
                note='2 CPU cores shared with other engineers while this ran: compare ratios measured side by side' if dev == 'cpu' else None,
                triton=getattr(A.triton, '__version__', None), flash_attn=_version('flash_attn'),
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                flops_note='visible pairs only: forward 4*D per pair and head, forward+backward 14*D', rows=rows,
                ratios=ratios(rows, dev), ratios_median=ratios(rows, dev, 'seconds_median'))


def _version(mod: str):
    try: return __import__(mod).__version__
    except Exception: return None


def ratios(rows: list, dev: str, key: str = 'seconds') -> dict:
    "Time ratios per case: ours against the baselines (> 1 means ours is slower)."
    t = {(r['head_dim'], r['seq_len'], r['mode'], r['backend'], r['pass']): r[key] for r in rows}
    out = {}
    pairs = [('sdpa', 'sdpa_plain'), ('sdpa_cold', 'sdpa_plain'), ('sdpa_denormals', 'sdpa_plain'), ('sdpa', 'reference')] if dev == 'cpu' else \
            [('triton', 'flash_attn'), ('triton', 'flex'), ('triton', 'sdpa_plain')]
    for (D, L, mode, be, p), secs in t.items():
        for ours, base in pairs:
            if be == ours and secs and t.get((D, L, mode, base, p)):
                out[f'{ours}/{base} D={D} L={L} {mode} {p}'] = round(secs / t[(D, L, mode, base, p)], 3)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='a smaller grid')
    ap.add_argument('--cpu', action='store_true', help='run the CPU grid even where CUDA is present')
    ap.add_argument('--min-time', type=float, default=1.0, help='seconds of repetitions per case and backend (CPU)')
    ap.add_argument('--max-reps', type=int, default=20)
    ap.add_argument('--min-reps', type=int, default=5, help='interleaved rounds at least (the best one counts)')
    ap.add_argument('--out', default=None, help='result file (default benchmarks/results/attention-DEVICE.json)')
    args = ap.parse_args(argv)
    res = run(args)
    out = Path(args.out) if args.out else ROOT/'benchmarks'/'results'/f"attention-{res['device_kind']}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')
    print('\nratios (time of ours / time of baseline):')
    for k_, v_ in res['ratios'].items(): print(f'  {k_:55s} {v_:6.3f}')
    print(f'wrote {out}')


if __name__ == '__main__': main()
