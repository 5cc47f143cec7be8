#!/usr/bin/env python
"""Inference modes of a shipped gene model on the CPU: speed against accuracy on the tuning slice, Augustus beside it.

    python benchmarks/inference_modes.py                        # the shipped arabidopsis model, chr1:18.5-20 Mb
    python benchmarks/inference_modes.py --model runs/curves/small/seed0/budget320/...   # a checkpoint with a decoder.json

Annotation time is almost all network time (the numba decoder takes about 1 s per Mb), and the network runs each
window twice by default: as given and reverse-complemented, the two strands' predictions averaged (`rc_average`).
This measures passes (2: averaged, 1: the window alone), autocast precision (fp32, bf16) and windows per forward
pass (16, the old default, and 4: small batches stay in the CPU's caches), and the window (4096 bases with margins
of 512, the old default, or the training window of 2048 with margins of 256) with one thread on the tuning slice
chr1:18,500,001-20,000,000 (training split, never trained on; the validation region is not read), each decoded with
the model's own decoder settings (chosen for 2 passes in fp32 on 4096-base windows) and scored by
`genome_tfm.evaluate.evaluate` (exon and gene F1), beside Augustus (Debian, one thread) on the same slice.
Throughput is Mb of sequence per minute of wall time for the whole `annotate_genome` call (prediction, stitching,
decoding). Modes run in turn after a warm-up, twice each (the faster run counts: the machine is shared).
Writes benchmarks/results/inference_modes-cpu.json.
"""
import argparse, dataclasses, datetime, json, os, platform, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = [dict(window=4096, margin=512, passes=2, precision='fp32', batch_size=16), dict(window=4096, margin=512, passes=2, precision='fp32', batch_size=4),
         dict(window=4096, margin=512, passes=1, precision='fp32', batch_size=4), dict(window=4096, margin=512, passes=2, precision='bf16', batch_size=4),
         dict(window=4096, margin=512, passes=1, precision='bf16', batch_size=4), dict(window=2048, margin=256, passes=2, precision='bf16', batch_size=4),
         dict(window=2048, margin=256, passes=1, precision='bf16', batch_size=4)]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='arabidopsis', help="a shipped model's name or a checkpoint with a decoder.json")
    ap.add_argument('--region', default='18500000-20000000', help='0-based half-open slice of chr1 (the tuning slice by default)')
    ap.add_argument('--repeats', type=int, default=2)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'inference_modes-cpu.json'))
    ap.add_argument('--note', default='2-core CPU machine; two 1-thread training runs at nice 10 went on beside it')
    a = ap.parse_args()
    import torch, genome_tfm
    from genome_tfm.core import file_sha256
    from genome_tfm.annotation import load_dataset, TAIR10_CHROM
    from genome_tfm.annotate import resolve_model, load_annotator, decoder_settings, annotate_genome, InferenceConfig
    from genome_tfm.evaluate import evaluate, run_augustus
    from genome_tfm.trainer import cpu_bf16
    torch.set_num_threads(1)
    s, e = (int(x.replace(',', '').replace('_', '')) for x in a.region.split('-'))
    region, mb = (TAIR10_CHROM, s, e), (e - s) / 1e6
    genome, ref = load_dataset('tair10_chr1')
    model, tok, tcfg, p = load_annotator(resolve_model(a.model), 'cpu')
    w = max(int(tcfg.get('window') or 0), 4096)
    base = InferenceConfig(**{'window': w, 'margin': w // 8, **decoder_settings(None, p)})
    annotate_genome(model, genome, regions=[(TAIR10_CHROM, s, s + 20_000)], cfg=base, show_progress=False)    # warm-up
    rows = []
    for m in MODES:
        cfg = dataclasses.replace(base, window=m['window'], margin=m['margin'], rc_average=m['passes'] == 2, precision=m['precision'], batch_size=m['batch_size'])
        secs, cpu = [], []
        for _ in range(a.repeats):
            t, c = time.perf_counter(), time.process_time()
            pred = annotate_genome(model, genome, regions=[region], cfg=cfg, show_progress=False)
            secs.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
        r = evaluate(genome, ref, pred, region)['levels']
        rows.append(dict(**m, seconds=[round(x, 2) for x in secs], cpu_seconds=[round(x, 2) for x in cpu], mb_per_min=mb / (min(secs) / 60),
                         genes=len(pred), **{f'{lv} F1': r[lv]['f1'] for lv in ('exon', 'intron', 'transcript', 'gene', 'nucleotide')}))
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
    t = time.perf_counter(); aug = run_augustus(genome, region); t_aug = time.perf_counter() - t
    ra = evaluate(genome, ref, aug, region)['levels']
    augustus = dict(seconds=round(t_aug, 2), mb_per_min=mb / (t_aug / 60), genes=len(aug), **{f'{lv} F1': ra[lv]['f1'] for lv in ('exon', 'intron', 'transcript', 'gene', 'nucleotide')})
    print('Augustus', {k: (round(v, 3) if isinstance(v, float) else v) for k, v in augustus.items()})
    for r in rows: r['speed_ratio_over_augustus'] = r['mb_per_min'] / augustus['mb_per_min']
    res = dict(benchmark='inference_modes', model=a.model, model_sha256=file_sha256(p/'model.safetensors'), region=f"{TAIR10_CHROM}:{s + 1}-{e}", megabases=mb,
               torch_threads=1, cpu_native_bf16=cpu_bf16(),
               device='cpu', cores=os.cpu_count(), load_average_after=os.getloadavg(), note=a.note,
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
               versions=dict(python=platform.python_version(), torch=torch.__version__, genome_tfm=genome_tfm.__version__),
               modes=rows, augustus=augustus)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {a.out}")

if __name__ == '__main__': main()
