#!/usr/bin/env python
"""Decoder ablation: the network alone, the network with statistics learned from the training annotation, and those
statistics in place of the network's signals, decoding the same predictions.

    python benchmarks/decoder_stats.py --checkpoint runs/decoder_dev/run              # validation 25,000,000-30,427,671
    python benchmarks/decoder_stats.py --checkpoint runs/decoder_dev/run --fast       # validation slice 25-26 Mb only

The gene statistics (`genome_tfm.gene_stats.learn_gene_stats`: length distributions, donor / acceptor / start / stop
PWMs, a codon-position Markov content sensor) are learned from chr1:0-18,500,000 only. The model predicts the tuning
slice chr1:18,500,000-20,000,000 (training split, held out of training and of the statistics) and the validation
region once each (`predict_region`); every decoder variant decodes those same probabilities:

  (a) network:               the decoder settings `gtfm_demo` tunes (`tune_decoder` with the demo's grid);
  (b) network + statistics:  (a)'s settings, then stats_weight x content_weight tuned, then the intron penalty, signal
                             weight and minimum intron length (the learned one among the choices), then the two
                             weights again;
  (c) statistics for signals: the network's signal weights set to 0 (its class and codon-position probabilities stay),
                             stats_weight x content_weight x intron_penalty tuned;
  (d) statistics only:       no network at all (every class and codon position at its prior: zero emissions), the
                             content sensor at weight 1, stats_weight x intron_penalty x start_penalty tuned.

All choices are made on the tuning slice (best gene F1, then exon F1; a weight or penalty whose best value lies at an
end of its grid is moved a step further while that improves the choice); each variant is then scored once on the
validation region. Writes benchmarks/results/decoder_stats-cpu.json (decoder_stats-TAG-cpu.json with --tag) with the device, versions, date and the
checkpoint (a development model unless stated otherwise).
"""
import argparse, dataclasses, datetime, json, os, platform, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN, TUNE, VALID = (0, 18_500_000), (18_500_000, 20_000_000), (25_000_000, 30_427_671)
STATS_GRID = dict(stats_weight=(0.0, 5.0, 10.0, 20.0), content_weight=(0.0, 4.0, 8.0, 16.0, 32.0, 64.0))
PENALTY_GRID = dict(intron_penalty=(-30.0, -60.0, -100.0, -150.0, -200.0), signal_weight=(10.0, 25.0, 40.0))
STATS_ONLY_GRID = dict(stats_weight=(0.25, 0.5, 1.0, 2.0), intron_penalty=(-5.0, -10.0, -20.0, -40.0), start_penalty=(-5.0, -10.0, -20.0, -40.0))
SIGNALS_OFF_GRID = dict(stats_weight=(5.0, 10.0, 20.0, 40.0), content_weight=(8.0, 16.0, 32.0, 64.0), intron_penalty=(-60.0, -100.0, -150.0, -200.0))

def scores(r: dict) -> dict:
    "Exon / intron / gene Sn, Sp, F1 and CDS base F1 of one `evaluate` result."
    out = {f'{lv} {n}': r['levels'][lv][k] for lv in ('exon', 'intron', 'gene') for k, n in (('sn', 'Sn'), ('sp', 'Sp'), ('f1', 'F1'))}
    out['CDS base F1'] = r['class_f1']['CDS']
    return out

def no_network(preds: tuple, class_prior) -> tuple:
    "Predictions with the network taken out: every base at the class prior, codon positions 1/3 each, no signals (zero scaled-likelihood emissions)."
    import numpy as np
    codes, cp, pp, _ = preds
    return codes, np.broadcast_to(np.asarray(class_prior, np.float32), cp.shape), np.full(pp.shape, 1 / 3, np.float32), None

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--checkpoint', required=True, help='a trained gene-structure checkpoint or run directory')
    ap.add_argument('--fast', action='store_true', help='score on chr1:25,000,000-26,000,000 instead of the whole validation region')
    ap.add_argument('--order', type=int, default=5, help='Markov order of the content sensor')
    ap.add_argument('--threads', type=int, default=1, help='torch threads')
    ap.add_argument('--work', default=str(ROOT/'runs'/'decoder_stats'), help='where the learned statistics are written')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'))
    ap.add_argument('--tag', default='', help="results file decoder_stats-TAG-cpu.json (e.g. 'arabidopsis' for the shipped model)")
    ap.add_argument('--note', default='development model (10 min, 1 thread, tiny preset, trained on chr1:0-18.5 Mb); rerun on the final model')
    a = ap.parse_args()
    import numpy as np, torch, numba, genome_tfm
    from genome_tfm.annotation import load_dataset, TAIR10_CHROM
    from genome_tfm.evaluate import evaluate, score_table
    from genome_tfm.gene_stats import learn_gene_stats
    from genome_tfm.demo import demo_config, demo_inference, model_class_prior, predict_region, decode_predictions, tune_decoder
    from genome_tfm.annotate import shard_class_prior, load_annotator
    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    genome, ref = load_dataset('tair10_chr1')
    tune, valid = (TAIR10_CHROM, *TUNE), (TAIR10_CHROM, VALID[0], 26_000_000 if a.fast else VALID[1])
    model, tok, tcfg, ckpt = load_annotator(a.checkpoint, 'cpu')
    st = json.loads((ckpt/'trainer_state.json').read_text()).get('state', {}) if (ckpt/'trainer_state.json').exists() else {}

    t = time.perf_counter()
    stats = learn_gene_stats(genome, ref, [(TAIR10_CHROM, *TRAIN)], order=a.order)
    stats_path = stats.save(Path(a.work)/'gene_stats.json'); t_stats = time.perf_counter() - t
    print(f"statistics from chr1:{TRAIN[0] + 1:,}-{TRAIN[1]:,}: {stats.genes:,} genes, min intron {stats.min_intron()} ({t_stats:.0f} s) -> {stats_path}", flush=True)

    demo = demo_config('cpu')
    shards = Path(str(tcfg.get('data', '')))
    prior = model_class_prior(shard_class_prior(shards), (tcfg.get('model_args') or {}).get('class_weights')) if (shards/'manifest.json').is_file() else None
    base = demo_inference(demo, prior)
    t = time.perf_counter(); p_tune = predict_region(model, genome, tune, base, tokenizer=tok); t_pt = time.perf_counter() - t
    print(f"predicted the tuning slice in {t_pt:.0f} s", flush=True)

    def tuned(cfg, grid, label, preds=None):
        t = time.perf_counter(); best, tab = tune_decoder(model, genome, ref, tune, cfg, grid, preds=p_tune if preds is None else preds)
        print(f"{label}: {len(tab)} settings in {time.perf_counter() - t:.0f} s; best " + ', '.join(f'{k} {getattr(best, k)}' for k in grid)
              + f" (tuning slice: gene F1 {tab.loc[0, 'gene F1']:.3f}, exon F1 {tab.loc[0, 'exon F1']:.3f})", flush=True)
        return best, tab

    def tuned_edges(cfg, grid, label, preds=None, rounds=4):
        "`tuned`, then each weight or penalty whose best value is at an end of its grid moved one step further while that helps."
        best, tab = tuned(cfg, grid, label, preds); grid = {k: sorted(v) for k, v in grid.items()}; extra = []
        for _ in range(rounds):
            moved = False
            for k, vals in grid.items():
                v = getattr(best, k)
                if k == 'min_intron' or len(vals) < 2 or v == 0 or v not in (vals[0], vals[-1]): continue
                new = float(v * (vals[-1] / vals[-2] if v == vals[-1] else vals[0] / vals[1]))
                new = type(v)(round(new)) if isinstance(v, int) else new
                b2, t2 = tuned(best, {k: (v, new)}, f"{label}, {k} beyond its grid", preds); extra.append(t2)
                grid[k] = sorted(vals + [new])
                if getattr(b2, k) == new: best, moved = b2, True
            if not moved: break
        return best, (pd.concat([tab] + extra, ignore_index=True) if extra else tab)

    import pandas as pd
    tables = {}
    a_cfg, tables['a'] = tuned_edges(base, demo.tune_grid, '(a) network')
    b_cfg, tables['b1'] = tuned_edges(dataclasses.replace(a_cfg, stats=str(stats_path)), STATS_GRID, '(b) + statistics')
    b_cfg, tables['b2'] = tuned_edges(b_cfg, dict(**PENALTY_GRID, min_intron=tuple(sorted({a_cfg.min_intron, stats.min_intron()}))), '(b) penalties re-tuned')
    b_cfg, tables['b3'] = tuned_edges(b_cfg, STATS_GRID, '(b) weights re-tuned')
    c_cfg, tables['c'] = tuned_edges(dataclasses.replace(a_cfg, stats=str(stats_path), signal_weight=0.0, start_stop_weight=0.0), SIGNALS_OFF_GRID,
                               '(c) statistics for signals')
    p_tune_flat = no_network(p_tune, base.class_prior)
    d_cfg, tables['d'] = tuned_edges(dataclasses.replace(a_cfg, stats=str(stats_path), signal_weight=0.0, start_stop_weight=0.0, content_weight=1.0),
                               STATS_ONLY_GRID, '(d) statistics only', p_tune_flat)
    variants = {'(a) network': a_cfg, '(b) network + statistics': b_cfg, '(c) statistics for signals': c_cfg, '(d) statistics only': d_cfg}

    tune_scores = {}
    for name, cfg in variants.items():                                   # the chosen settings once more on the tuning slice
        ann = decode_predictions(p_tune_flat if name.startswith('(d)') else p_tune, genome, tune, cfg)
        tune_scores[name] = scores(evaluate(genome, ref, ann, tune))
    t = time.perf_counter(); p_valid = predict_region(model, genome, valid, base, tokenizer=tok); t_pv = time.perf_counter() - t
    print(f"predicted the validation region {valid[0]}:{valid[1] + 1:,}-{valid[2]:,} in {t_pv:.0f} s", flush=True)
    results, secs = {}, {}
    for name, cfg in variants.items():
        pv = no_network(p_valid, base.class_prior) if name.startswith('(d)') else p_valid
        t = time.perf_counter(); ann = decode_predictions(pv, genome, valid, cfg); secs[name] = time.perf_counter() - t
        results[name] = evaluate(genome, ref, ann, valid)
    table = {k: scores(r) for k, r in results.items()}
    print(score_table(results).round(3).to_string())
    print(pd.DataFrame(table).T[['exon F1', 'exon Sn', 'exon Sp', 'intron F1', 'gene F1', 'gene Sn', 'gene Sp']].round(3).to_string())
    fields = ('min_intron', 'start_penalty', 'intron_penalty', 'signal_weight', 'start_stop_weight', 'min_cds', 'stats_weight', 'content_weight')
    res = dict(benchmark='decoder_stats', device='cpu', device_name=platform.processor() or 'cpu', cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
               load_average_after=os.getloadavg(), note=a.note, date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
               checkpoint=str(ckpt), train_steps=st.get('step'), train_bases=st.get('tokens'), model=tcfg.get('model'),
               stats=dict(path=str(stats_path), learned_from=f"{TAIR10_CHROM}:{TRAIN[0] + 1}-{TRAIN[1]}", genes=stats.genes, skipped=stats.skipped,
                          order=a.order, min_intron=stats.min_intron(), seconds=t_stats),
               tune_region=f"{TAIR10_CHROM}:{TUNE[0] + 1}-{TUNE[1]}", region=f"{valid[0]}:{valid[1] + 1}-{valid[2]}", megabases=(valid[2] - valid[1]) / 1e6,
               settings={k: {f: getattr(c, f) for f in fields} for k, c in variants.items()},
               tuning_slice=tune_scores,
               tuning_tables={k: v.to_dict('records') for k, v in tables.items()},
               scores=table, decode_seconds=secs, predict_seconds=dict(tune=t_pt, valid=t_pv), total_seconds=time.perf_counter() - t_start,
               versions=dict(python=platform.python_version(), torch=torch.__version__, numpy=np.__version__, numba=numba.__version__,
                             genome_tfm=genome_tfm.__version__),
               results=results)
    p = Path(a.out)/f"decoder_stats{'-' + a.tag if a.tag else ''}-cpu.json"; p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(res, indent=1, default=str) + '\n'); print(f"wrote {p}")

if __name__ == '__main__': main()
