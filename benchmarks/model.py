#!/usr/bin/env python
"""Encoder training-step speed and memory: genome_tfm's GenomeBertForMaskedLM next to transformers' BertForMaskedLM.

    python benchmarks/model.py                 # CUDA: the 117M preset at 1k and 4k tokens, 16k tokens per batch, bf16
    python benchmarks/model.py --device cpu    # CPU: the 'tiny' preset in fp32, a few small steps (smoke run)

Both models run forward + backward + AdamW on random masked-LM batches of the same shape, interleaved round by round. The
baseline is a plain BERT of the same width, depth, heads and FFN width (absolute position embeddings, GELU MLP,
SDPA attention); it is a yardstick, not DNABERT-2 (whose remote code cannot be loaded here). On CUDA: tokens/s, peak
allocated memory, genome_tfm's memory estimate and MFU (flops_per_token against the bf16 dense peak). On the CPU
only the call path is exercised: absolute CPU figures on a shared machine say nothing about GPU speed.
Writes benchmarks/results/model-DEVICE.json (device, versions, date, rows, ratios) and prints a table.
"""
import argparse, datetime, json, os, platform, statistics, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ holds tokenizers.py: keep it off sys.path, or `import transformers` finds it instead of the tokenizers package
sys.path[:] = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='auto', help='auto, cpu or cuda')
    ap.add_argument('--preset', default=None, help="default dnabert2-117m on CUDA, tiny on CPU")
    ap.add_argument('--seq-lens', default=None, help='comma-separated; default 1024,4096 on CUDA, 128,512 on CPU')
    ap.add_argument('--tokens', type=int, default=None, help='tokens per batch; default 16384 on CUDA, 1024 on CPU')
    ap.add_argument('--reps', type=int, default=None, help='timed rounds (median); default 10 on CUDA, 3 on CPU')
    ap.add_argument('--no-baseline', action='store_true', help='skip transformers BertForMaskedLM')
    ap.add_argument('--threads', type=int, default=1, help='CPU threads (1 is steadier on a shared machine)')
    ap.add_argument('--out', default=None, help='default benchmarks/results/model-DEVICE.json')
    return ap.parse_args(argv)


def device_tag(dev) -> str:
    import torch
    if dev.type != 'cuda': return 'cpu'
    name = torch.cuda.get_device_name(dev).lower()
    return next((t for t in ('h200', 'h100', 'a100', 'l40s', 'a10') if t in name), 'cuda')


def device_name(dev) -> str:
    import torch
    if dev.type == 'cuda': return torch.cuda.get_device_name(dev)
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'): return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores visible)"
    except OSError: pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores visible)"


def baseline_model(cfg, seq_len: int):
    "transformers' BertForMaskedLM with the encoder's sizes (absolute positions, GELU MLP, SDPA)."
    from transformers import BertConfig, BertForMaskedLM
    bc = BertConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_hidden_layers,
                    num_attention_heads=cfg.num_attention_heads, intermediate_size=cfg.intermediate_size,
                    max_position_embeddings=max(512, seq_len), hidden_dropout_prob=cfg.hidden_dropout_prob,
                    attention_probs_dropout_prob=0.0, attn_implementation='sdpa')
    return BertForMaskedLM(bc)


def main(argv=None):
    a = parse(argv)
    import torch
    from genome_tfm.model import model_preset, GenomeBertForMaskedLM
    from genome_tfm.costs import training_step_fn, step_report, estimate_memory
    dev = torch.device('cuda' if (a.device == 'auto' and torch.cuda.is_available()) or a.device == 'cuda' else 'cpu')
    cuda = dev.type == 'cuda'
    if not cuda: torch.set_num_threads(a.threads)
    preset = a.preset or ('dnabert2-117m' if cuda else 'tiny')
    cfg = model_preset(preset)
    seq_lens = [int(x) for x in (a.seq_lens or ('1024,4096' if cuda else '128,512')).split(',')]
    tokens, reps = a.tokens or (16384 if cuda else 1024), a.reps or (10 if cuda else 3)
    dtype = torch.bfloat16 if cuda else torch.float32
    rows, ratios = [], {}
    clock = time.process_time if not cuda and torch.get_num_threads() == 1 else time.perf_counter   # CPU time ignores other users' load
    for L in seq_lens:
        B = max(1, tokens // L)
        names = ['genome_tfm'] + ([] if a.no_baseline else ['hf_bert'])
        models = {n: GenomeBertForMaskedLM(cfg) if n == 'genome_tfm' else baseline_model(cfg, L) for n in names}
        fns = {n: training_step_fn(cfg, B, L, device=dev, dtype=dtype, model=m) for n, m in models.items()}
        times = {n: [] for n in names}
        peaks = {}
        for n, (step, sync) in fns.items():                   # warm-up; on CUDA each model's peak memory alone
            if cuda: torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(dev)
            for _ in range(2 if cuda else 1): step()
            sync()
            if cuda: peaks[n] = torch.cuda.max_memory_allocated(dev) / 2**30
        for _ in range(reps):                                  # interleaved rounds: load changes hit both alike
            for n, (step, sync) in fns.items():
                t0 = clock(); step(); sync(); times[n].append(clock() - t0)
        for n in names:
            r = step_report(cfg, B, L, times[n], dev, dtype)
            r.update(model=n, preset=preset, params=sum(p.numel() for p in dict.fromkeys(models[n].parameters())))
            if cuda:
                r['peak_mem_gib'] = peaks[n]                    # max allocated over warm-up steps of this model alone (+ the other's weights)
            if n == 'hf_bert': r.pop('mfu', None)               # its FLOPs differ from flops_per_token(cfg)
            if n == 'genome_tfm': r['estimated_mem_gib'] = estimate_memory(cfg, B, L, dtype=dtype, device=dev).total / 2**30
            rows.append(r)
        if not a.no_baseline:
            ratios[f'tokens_per_s genome_tfm/hf_bert L={L}'] = round(rows[-2]['tokens_per_s'] / rows[-1]['tokens_per_s'], 3)
        del models, fns
        if cuda: torch.cuda.empty_cache()
    import transformers
    res = dict(benchmark='model', device=device_name(dev), device_tag=device_tag(dev), date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
               versions=dict(python=platform.python_version(), torch=torch.__version__, transformers=transformers.__version__,
                             cuda=torch.version.cuda if cuda else None),
               torch_threads=torch.get_num_threads() if not cuda else None,
               load_avg_1_5_15min=list(os.getloadavg()) if hasattr(os, 'getloadavg') else None,
               config=dict(preset=preset, seq_lens=seq_lens, tokens_per_batch=tokens, dtype=str(dtype).replace('torch.', ''), reps=reps,
                           step='forward + backward + AdamW step on random tokens, 15% labelled; bf16 autocast on fp32 weights on CUDA',
                           timing='median per step over interleaved rounds (CPU with 1 thread: process CPU time; else wall time); CUDA peak memory per model over its warm-up steps, with both models resident'),
               note=('measured on a GPU' if cuda else 'CPU smoke run on a shared machine: GPU figures are NOT measured by this file'),
               rows=rows, ratios=ratios)
    out = Path(a.out or ROOT/'benchmarks'/'results'/f"model-{device_tag(dev)}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + '\n')
    cols = ('model', 'seq_len', 'batch_size', 'tokens_per_s', 'step_s', 'peak_mem_gib', 'estimated_mem_gib', 'mfu')
    print(' | '.join(cols))
    for r in rows:
        print(' | '.join(f"{r[c]:.4g}" if isinstance(r.get(c), float) else str(r.get(c, '')) for c in cols))
    for k, v in ratios.items(): print(f"{k}: {v}")
    print(f"wrote {out}" + ('' if cuda else ' (CPU smoke run; GPU figures not measured)'))


if __name__ == '__main__': main()
