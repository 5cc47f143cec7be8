#!/usr/bin/env python
"""Gene-structure decoder speed: the numba Viterbi against the plain Python reference, and Mb/min on both strands.

    python benchmarks/decoder.py        # writes benchmarks/results/decoder-cpu.json

The two decoders run on the same small inputs (they must give the same path; checked here too); the compiled one then
decodes 1 and 4 Mb of both strands with gene-shaped noisy probabilities, after one warm-up call (numba compiles).
"""
import datetime, json, os, platform, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

def structured_probs(rng, L, mix=0.6):
    "Noisy per-base probabilities around a random layout of genes (as in nbs/07_annotate.ipynb)."
    lab, ph, t = np.zeros(L + 400, np.int64), np.full(L + 400, -1), 0
    while t < L:
        t += int(rng.integers(10, 60)); pos = 0
        for k in range(int(rng.integers(1, 4))):
            n = int(rng.integers(6, 60)); lab[t:t + n] = 2; ph[t:t + n] = (pos + np.arange(n)) % 3; pos += n; t += n
            if k < 2: n = int(rng.integers(8, 40)); lab[t:t + n] = 3; t += n
    lab, ph = lab[:L], ph[:L]
    cp = (1 - mix) * rng.dirichlet([1, 1, 1, 1], L); cp[np.arange(L), lab] += mix
    pp = (1 - mix) * rng.dirichlet([1, 1, 1], L); pp[ph >= 0, ph[ph >= 0]] += mix; pp[ph < 0] = 1 / 3
    return cp, pp

def main():
    import numba
    from genome_tfm.decoder import _viterbi, viterbi_reference, emissions, decode, STOP_CODONS
    rng = np.random.default_rng(0)
    small = []
    for L in (100, 200):
        x = rng.integers(0, 4, L).astype(np.uint8); cp, pp = structured_probs(rng, L); e = emissions(x, cp, pp)
        args = (x, e[0], np.ascontiguousarray(e[1]), e[2], np.zeros((L, 4)), 6, 0.0, 0.0, STOP_CODONS)
        _viterbi(*args)
        t = time.perf_counter(); ref_path, _ = viterbi_reference(x, *e, 6); t_ref = time.perf_counter() - t
        t = time.perf_counter(); n = 200
        for _ in range(n): path, _ = _viterbi(*args)
        t_num = (time.perf_counter() - t) / n
        assert path.tolist() == ref_path.tolist()
        small.append(dict(bases=L, reference_s=t_ref, compiled_s=t_num, speedup=t_ref / t_num))
        print(f"{L} bases: reference {t_ref * 1e3:.0f} ms, compiled {t_num * 1e6:.0f} us, {t_ref / t_num:,.0f}x")
    big = []
    for L in (1_000_000, 4_000_000):
        x = rng.integers(0, 4, L).astype(np.uint8)
        (c1, p1), (c2, p2) = structured_probs(rng, L), structured_probs(rng, L)
        cp, pp = np.stack([c1, c2]), np.stack([p1, p2])
        t = time.perf_counter(); ann = decode(x, cp, pp, 'r'); s = time.perf_counter() - t
        big.append(dict(bases=L, seconds=s, mb_per_min=L / 1e6 / (s / 60), genes=len(ann)))
        print(f"{L / 1e6:.0f} Mb, both strands: {s:.2f} s, {L / 1e6 / (s / 60):.0f} Mb/min, {len(ann)} genes")
    res = dict(benchmark='decoder', device='cpu', cores=os.cpu_count(), load_average=os.getloadavg(),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
               versions=dict(python=platform.python_version(), numpy=np.__version__, numba=numba.__version__),
               reference_vs_compiled=small, throughput=big)
    p = ROOT/'benchmarks'/'results'/'decoder-cpu.json'; p.write_text(json.dumps(res, indent=1) + '\n'); print(f'wrote {p}')

if __name__ == '__main__': main()
