#!/usr/bin/env python
"""The Python steps of tools/gpu_suite.sh that no benchmark script covers: the Triton kernels against their references
in bf16/fp16, the hierarchical gene model's bases/s, the short gene-structure training run with its time estimate, and
the suite's summary. Each writes one JSON file; --dry-run runs the same code on the CPU at tiny sizes.

    python tools/gpu_checks.py tag                                   # h100, h200, ... (cpu without a GPU)
    python tools/gpu_checks.py correctness OUT.json [--dry-run]      # Triton attention fwd/bwd and MoE vs references
    python tools/gpu_checks.py hierarchical OUT.json [--dry-run]     # bases/s, MFU, peak memory of training steps
    python tools/gpu_checks.py gene-train OUT.json --data DIR --work DIR [--seconds 30] [--dry-run]
    python tools/gpu_checks.py summary OUT.json --steps STEPS.tsv --tag TAG [--dry-run]
"""
import argparse, datetime, functools, importlib.metadata, importlib.util, json, os, platform, subprocess, sys, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PRESET = 'arabidopsis-cpu'       # the accuracy issue's recipe: its `model:` is the gene model measured here


@functools.lru_cache(maxsize=None)
def _bench(name: str):
    "A script of benchmarks/ as a module (for its device helpers)."
    spec = importlib.util.spec_from_file_location(f'bench_{name}', ROOT/'benchmarks'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def device_tag() -> str:
    import torch
    return _bench('model').device_tag(torch.device('cuda' if torch.cuda.is_available() else 'cpu'))


def write(path, res: dict, quiet: bool = False):
    "Write `res` as JSON (through a temporary file: a step killed meanwhile leaves the previous version whole)."
    p = Path(path); p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f'.{p.name}.tmp'); tmp.write_text(json.dumps(res, indent=1, default=str) + '\n'); tmp.replace(p)
    if not quiet: print(f'wrote {path}', flush=True)


def header(dry: bool) -> dict:
    import torch
    dev = torch.device('cuda' if torch.cuda.is_available() and not dry else 'cpu')
    return dict(device=_bench('model').device_name(dev), device_tag='dryrun' if dry else device_tag(), dry_run=dry, torch=torch.__version__,
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))


# --- correctness ------------------------------------------------------------------------------------------------------
def attention_cases(dry: bool) -> list:
    "(name, dtype, head_dim, heads, lengths, attention kwargs): ALiBi, causal, window, block-sparse, varlen, odd head counts."
    import torch
    from genome_tfm.attention import BlockSparse
    lens, heads, odd = ([70, 1, 33], 4, 3) if dry else ([1500, 1, 777, 64, 1023], 12, 7)
    modes = dict(alibi=dict(alibi=True), causal=dict(alibi=True, causal=True), window=dict(alibi=True, window=16 if dry else 256),
                 no_alibi=dict(), block_sparse=dict(alibi=True, block_sparse=BlockSparse(32 if dry else 64, 1, 1, 1 if dry else 2)))
    if dry: plan = [(torch.float16, 32, list(modes))]              # the interpreter's bf16 arithmetic is broken
    else: plan = [(torch.bfloat16, 64, list(modes)), (torch.bfloat16, 128, list(modes)), (torch.float16, 64, ['alibi', 'causal', 'window'])]
    cases = [(m, dt, D, heads, lens, modes[m]) for dt, D, ms in plan for m in ms]
    dt, D, _ = plan[0]
    return cases + [(f'odd_heads_{m}', dt, D, odd, lens, modes[m]) for m in ('alibi', 'causal')]


def attention_check(dtype, D: int, H: int, lens: list, kw: dict, device: str) -> dict:
    "Max abs error of the Triton output and q/k/v gradients against the float64 reference (every output element written)."
    import torch
    from genome_tfm.attention import attention, cu_seqlens, poison_outputs
    torch.manual_seed(0)
    cq = cu_seqlens(lens, device)
    q, k, v = (torch.randn(sum(lens), H, D, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
    with poison_outputs(): o = attention(q, k, v, cu_seqlens_q=cq, backend='triton', **kw)
    g = torch.randn_like(o)
    grads = torch.autograd.grad(o, (q, k, v), g)
    xd = [t.detach().double().requires_grad_() for t in (q, k, v)]
    od = attention(*xd, cu_seqlens_q=cq, backend='reference', **kw)
    gd = torch.autograd.grad(od, xd, g.double())
    return dict(out_err=(o.double() - od).abs().max().item(), grad_err=max((a.double() - b).abs().max().item() for a, b in zip(grads, gd)))


def moe_checks(dry: bool, device: str, rows: list, save):
    "Relative max error of output and every gradient, Triton and torch._grouped_mm backends against the per-expert loop."
    import torch
    from genome_tfm.moe import MoEConfig, compare_backends, grouped_mm_available
    tol = {torch.float32: 2e-2, torch.bfloat16: 5e-2, torch.float16: 5e-2}
    for dt in ((torch.float32, torch.float16) if dry else (torch.bfloat16, torch.float16)):
        c = MoEConfig(hidden=32, ffn=64, n_experts=4, top_k=2) if dry else MoEConfig(hidden=768, ffn=3072, n_experts=32, top_k=2)
        x = torch.randn(64 if dry else 4096, c.hidden, device=device, dtype=dt)
        for be in ('triton', 'grouped_mm'):
            r = dict(check='moe', backend=be, dtype=str(dt).replace('torch.', ''), tol=tol[dt], tokens=x.shape[0], n_experts=c.n_experts)
            t0 = time.perf_counter()
            try:
                if be == 'grouped_mm' and not grouped_mm_available(device, dt): r.update(ok=None, skipped=f'torch._grouped_mm does not run on {device} in {dt}')
                else:
                    errs = compare_backends(c, x, relative=True, backends=(be,))[be]
                    r.update(max_err=max(errs.values()), worst=max(errs, key=errs.get), ok=max(errs.values()) < tol[dt])
            except Exception as e: r.update(ok=False, error=f'{type(e).__name__}: {e}', traceback=traceback.format_exc()[-3000:])
            r['seconds'] = round(time.perf_counter() - t0, 2); rows.append(r)
            print(f"moe {be:10s} {r['dtype']:9s} " + (f"max rel err {r['max_err']:.1e} ({r['worst']})" if 'max_err' in r else r.get('skipped', r.get('error', ''))[:200])
                  + f"  {'ok' if r['ok'] else 'FAIL' if r['ok'] is False else 'skipped'}", flush=True)
            save()


def correctness(out, dry: bool):
    import torch
    device = 'cpu' if dry else 'cuda'
    if not dry and not torch.cuda.is_available(): raise SystemExit('correctness: no CUDA device here (use --dry-run on a CPU)')
    tols = {torch.float16: (1e-2, 3e-2), torch.bfloat16: (3e-2, 1e-1)}      # as the attention notebook's GPU cell
    rows = []
    def save():                  # after every case: a step stopped at its time limit keeps what it measured
        res = dict(benchmark='gpu_correctness', **header(dry), triton=_version('triton'), interpreter=os.environ.get('TRITON_INTERPRET') == '1',
                   passed=sum(r['ok'] is True for r in rows), failed=sum(r['ok'] is False for r in rows), skipped=sum(r['ok'] is None for r in rows), rows=rows)
        write(out, res, quiet=True)
        return res
    for name, dt, D, H, lens, kw in attention_cases(dry):
        r = dict(check='attention', mode=name, dtype=str(dt).replace('torch.', ''), head_dim=D, heads=H, lengths=lens,
                 kwargs={k: str(v) for k, v in kw.items()}, tol_out=tols[dt][0], tol_grad=tols[dt][1])
        t0 = time.perf_counter()
        try:
            r.update(attention_check(dt, D, H, lens, kw, device))
            r['ok'] = r['out_err'] < r['tol_out'] and r['grad_err'] < r['tol_grad']
        except Exception as e: r.update(ok=False, error=f'{type(e).__name__}: {e}', traceback=traceback.format_exc()[-3000:])
        r['seconds'] = round(time.perf_counter() - t0, 2); rows.append(r)
        print(f"attention {name:18s} {r['dtype']:9s} D={D:3d} H={H:2d} " + (f"out {r['out_err']:.1e} grads {r['grad_err']:.1e}" if 'out_err' in r else r['error'][:200])
              + f"  {'ok' if r['ok'] else 'FAIL'} ({r['seconds']} s)", flush=True)
        save()
    moe_checks(dry, device, rows, save)
    res = save(); print(f"wrote {out}: {res['passed']} passed, {res['failed']} failed, {res['skipped']} skipped")
    return 0 if res['failed'] == 0 else 1


def _version(mod: str):
    try: return importlib.metadata.version(mod)
    except Exception: return None


# --- hierarchical gene model ------------------------------------------------------------------------------------------
def preset_model() -> tuple[str, dict, 'TrainConfig']:
    "The gene model of the preset the suite trains: (hierarchical preset name, model_args, the TrainConfig)."
    from genome_tfm.train import config_from_args
    cfg = config_from_args(PRESET)
    return cfg.model, dict(cfg.model_args or {}), cfg


def hier_step_rate(name: str, model_args: dict, L: int, batch: int, device: str, steps: int, warmup: int) -> dict:
    "Bases/s, MFU and peak memory of training steps (forward, backward, AdamW; bf16 autocast on CUDA) on random bases and labels."
    import torch
    from genome_tfm.hierarchical import HierarchicalGeneModel, hier_preset, flops_per_base
    from genome_tfm.trainer import peak_flops
    dev, cuda = torch.device(device), device == 'cuda'
    cfg = hier_preset(name, **model_args)
    torch.manual_seed(0)
    m = HierarchicalGeneModel(cfg).to(dev).train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, fused=cuda)
    x = torch.randint(0, 4, (batch, L), device=dev)                              # (B, L) base codes
    y = torch.randint(0, 4, (batch, 2, L), device=dev)                           # (B, 2, L) classes on both strands
    ph = torch.where(y == 2, torch.randint(0, 3, y.shape, device=dev), -1)       # CDS phase, -1 elsewhere
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cuda):
            loss = m(x, labels=y, phase=ph).loss
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    for _ in range(warmup): step()
    sync()
    if cuda: torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter(); step(); sync(); times.append(time.perf_counter() - t0)
    s = sorted(times)[len(times) // 2]
    r = dict(preset=name, model_args=model_args, seq_len=L, batch=batch, params=sum(p.numel() for p in m.parameters()),
             step_s=s, bases_per_s=batch * L / s, flops_per_base=flops_per_base(cfg, L), step_s_all=times,
             dtype='bfloat16 autocast' if cuda else 'float32')
    peak = peak_flops(dev)
    if peak: r['mfu'] = r['bases_per_s'] * r['flops_per_base'] / peak
    if cuda: r['peak_mem_gib'] = torch.cuda.max_memory_allocated() / 2**30
    return r


def hierarchical(out, dry: bool):
    import torch
    name, margs, cfg = preset_model()
    if dry: plan, device, steps, warmup = [(name, margs, 512, 2), ('tiny', {}, 512, 2)], 'cpu', 1, 1
    else:   # the recipe's windows at its batch and a GPU-sized batch; 'base' as in the hierarchical notebook's GPU table
        plan = [(name, margs, cfg.window, cfg.batch_size), (name, margs, cfg.window, 8 * cfg.batch_size), ('base', {}, 12_288, 8), ('base', {}, 45_000, 2)]
        device, steps, warmup = 'cuda', 5, 2
    rows = []
    for p, ma, L, B in plan:
        t0 = time.perf_counter()
        try: r = hier_step_rate(p, ma, L, B, device, steps, warmup)
        except Exception as e: r = dict(preset=p, seq_len=L, batch=B, error=f'{type(e).__name__}: {e}', traceback=traceback.format_exc()[-3000:])
        r['seconds'] = round(time.perf_counter() - t0, 1); rows.append(r)
        print(f"{p:6s} L={L:6d} B={B:3d} " + (f"{r['bases_per_s']:12,.0f} bases/s" + (f"  MFU {r['mfu']:.3f}" if 'mfu' in r else '')
              + (f"  peak {r['peak_mem_gib']:.2f} GiB" if 'peak_mem_gib' in r else '') if 'bases_per_s' in r else r['error'][:300]), flush=True)
        if device == 'cuda': torch.cuda.empty_cache()
        write(out, dict(benchmark='hierarchical', **header(dry), preset_file=f'configs/presets/{PRESET}.yaml', chosen_model=name,
                        step='forward + backward + AdamW on random bases and labels' + (', bf16 autocast' if not dry else ''), rows=rows), quiet=True)
    print(f'wrote {out}')
    return 0 if all('error' not in r for r in rows) else 1


# --- gene-structure training ------------------------------------------------------------------------------------------
def cpu_target(model: str, cfg) -> dict:
    "Bases seen by the CPU model: the most of `model` in benchmarks/results/learning_curve-cpu.json, and the whole recipe."
    f = ROOT/'benchmarks'/'results'/'learning_curve-cpu.json'
    pts = [p for p in json.loads(f.read_text()).get('points', []) if p.get('preset') == model] if f.exists() else []
    best = max(pts, key=lambda p: p.get('bases_seen', 0), default=None)
    out = dict(recipe_bases=cfg.max_steps * cfg.batch_size * cfg.window, learning_curve_file=str(f.relative_to(ROOT)), learning_curve_points=len(pts))
    if best:
        out.update(cpu_bases_seen=best['bases_seen'], cpu_minutes=best.get('cpu_minutes'), cpu_wall_minutes=best.get('wall_minutes'),
                   cpu_point={k: best.get(k) for k in ('seed', 'budget_minutes', 'steps', 'exon f1', 'gene f1')})
    return out


def estimate(model: str, cfg, rate, batch: int) -> dict:
    "GPU time to the CPU model's bases seen and to the whole recipe, at `rate` bases/s of the recipe's own batch size."
    tgt = cpu_target(model, cfg)
    est = dict(tgt, gpu_bases_per_s=rate, at_batch_size=batch)
    if rate:
        est['gpu_hours_to_recipe'] = tgt['recipe_bases'] / rate / 3600
        if tgt.get('cpu_bases_seen'):
            est['gpu_minutes_to_cpu_bases_seen'] = tgt['cpu_bases_seen'] / rate / 60
            if tgt.get('cpu_wall_minutes'): est['speedup_vs_cpu_wall'] = tgt['cpu_wall_minutes'] / est['gpu_minutes_to_cpu_bases_seen']
    return est


def gene_train(out, data: str, work: str, seconds: float, dry: bool):
    "benchmarks/train.py on the preset (data= the carried shards), at the recipe's batch size (first) and a GPU-sized one."
    from genome_tfm.shards import read_manifest
    name, _, cfg = preset_model()
    man = read_manifest(data)
    if man['window'] != cfg.window: raise SystemExit(f"{data}: shards of {man['window']}-base windows, the preset wants {cfg.window}: run tools/gpu_data.py")
    batches = [cfg.batch_size] if dry else [cfg.batch_size, 8 * cfg.batch_size]
    common = [f'data={Path(data).resolve()}', 'tensorboard=false'] + \
             (['max_steps=4', 'warmup_steps=1', 'log_every=1', 'eval_batches=1', 'precision=auto'] if dry else ['log_every=10', 'eval_batches=4', 'precision=bf16'])
    runs = []
    for b in batches:
        res = Path(work)/f'train-b{b}.json'
        cmd = [sys.executable, str(ROOT/'benchmarks'/'train.py'), '--preset', PRESET, '--minutes', str(seconds / 60),
               '--out_dir', str(Path(work)/f'run-b{b}'), '--results', str(res), *common, f'batch_size={b}']
        print('$', ' '.join(cmd), flush=True)
        t0 = time.perf_counter()
        try: rc = subprocess.run(cmd, cwd=ROOT, timeout=seconds + 120).returncode
        except subprocess.TimeoutExpired: rc = 'timeout'
        r = json.loads(res.read_text()) if rc == 0 and res.exists() else dict(error=f'benchmarks/train.py: exit {rc}')
        r.update(batch_size=b, bases_per_window=cfg.window, returncode=rc, process_seconds=round(time.perf_counter() - t0, 1))
        if r.get('tokens_per_s_median'): r['bases_per_s_median'] = r['tokens_per_s_median']      # gene_structure counts bases
        runs.append(r)
        est = estimate(name, cfg, runs[0].get('bases_per_s_median'), batches[0])   # the recipe's batch: the CPU run's optimisation
        est['by_batch_size'] = {x['batch_size']: {k: v for k, v in estimate(name, cfg, x.get('bases_per_s_median'), x['batch_size']).items()
                                                  if k.startswith('gpu_')} for x in runs}      # a larger batch: another optimisation
        write(out, dict(benchmark='gene_train', **header(dry), preset=PRESET, model=name, data=str(Path(data).name), shard_stats=man.get('stats'),
                        seconds_per_run=seconds, runs=runs, estimate=est), quiet=True)
    print('estimate:', json.dumps(est), f'\nwrote {out}', flush=True)
    return 0 if all(r.get('returncode') == 0 and r.get('bases_per_s_median') for r in runs) else 1


# --- summary ----------------------------------------------------------------------------------------------------------
def _headline(name: str, res: dict) -> dict:
    "The few figures of a result file that the README and the notebooks' GPU tables quote."
    if name == 'correctness': return {k: res[k] for k in ('passed', 'failed', 'skipped')}
    if name == 'model': return {f"{r['model']} L={r['seq_len']}": dict(tokens_per_s=r.get('tokens_per_s'), mfu=r.get('mfu'), peak_mem_gib=r.get('peak_mem_gib')) for r in res['rows']}
    if name == 'hierarchical': return {f"{r['preset']} L={r['seq_len']} B={r['batch']}": dict(bases_per_s=r.get('bases_per_s'), mfu=r.get('mfu'), error=r.get('error')) for r in res['rows']}
    if name == 'gene_train': return dict(bases_per_s={r['batch_size']: r.get('bases_per_s_median') for r in res['runs']}, estimate=res['estimate'])
    if name == 'moe': return {k: {q: round(v, 3) for q, v in d.items() if q.startswith('fwd_bwd')} for k, d in res['ratios'].items()} | dict(skipped=res.get('skipped'))
    if name == 'attention': return res.get('ratios', {})
    return {}


def summary(out, steps: str, tag: str, dry: bool):
    import torch
    rows = []
    for line in Path(steps).read_text().splitlines():
        name, rc, secs, budget, result = line.split('\t')
        r = dict(step=name, returncode=int(rc), seconds=int(secs), budget_s=int(budget), result=result or None,
                 status='skipped' if int(rc) == -1 else 'ok' if int(rc) == 0 else 'timed out' if int(rc) in (124, 137) else 'failed')
        f = Path(out).parent/result if result else None
        if f and f.exists():
            try: r['headline'] = _headline(name, json.loads(f.read_text()))
            except Exception as e: r['headline_error'] = f'{type(e).__name__}: {e}'
        rows.append(r)
    smi = subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version,memory.total,clocks.max.sm', '--format=csv,noheader'],
                         capture_output=True, text=True) if not dry and _which('nvidia-smi') else None
    try: import fastcore; fc = str(Path(fastcore.__file__).parent)
    except ImportError as e: fc = f'not importable: {e}'
    env = dict(python=platform.python_version(), executable=sys.executable, torch=torch.__version__, cuda=torch.version.cuda,
               gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None, nvidia_smi=smi.stdout.strip() if smi else None,
               fastcore_from=fc, **{m: _version(m) for m in ('triton', 'transformers', 'accelerate', 'numpy', 'fastcore', 'flash_attn', 'deepspeed')})
    res = dict(benchmark='gpu_suite', device_tag=tag, dry_run=dry, date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
               wall_s=sum(r['seconds'] for r in rows), env=env, steps=rows,
               ok=all(r['status'] == 'ok' for r in rows))
    write(out, res)
    print(f"{'step':14s} {'status':10s} {'s':>5s} / budget")
    for r in rows: print(f"{r['step']:14s} {r['status']:10s} {r['seconds']:5d} / {r['budget_s']}")
    return 0


def _which(cmd: str) -> bool:
    import shutil
    return shutil.which(cmd) is not None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('what', choices=['tag', 'correctness', 'hierarchical', 'gene-train', 'summary'])
    ap.add_argument('out', nargs='?', help='result JSON file')
    ap.add_argument('--dry-run', action='store_true', help='on the CPU at tiny sizes (Triton through its interpreter)')
    ap.add_argument('--data', help='gene-train: shard folder made by tools/gpu_data.py')
    ap.add_argument('--work', help='gene-train: scratch folder for the runs')
    ap.add_argument('--seconds', type=float, default=30.0, help='gene-train: seconds of training per run')
    ap.add_argument('--steps', help='summary: the tab-separated step records of gpu_suite.sh')
    ap.add_argument('--tag', help='summary: the device tag of the result names')
    a = ap.parse_args(argv)
    if a.what == 'tag': print('dryrun' if a.dry_run else device_tag()); return 0
    if not a.out: ap.error(f'{a.what} needs an output file')
    if a.what == 'correctness': return correctness(a.out, a.dry_run)
    if a.what == 'hierarchical': return hierarchical(a.out, a.dry_run)
    if a.what == 'gene-train': return gene_train(a.out, a.data, a.work, a.seconds, a.dry_run)
    return summary(a.out, a.steps, a.tag, a.dry_run)


if __name__ == '__main__': sys.exit(main())
