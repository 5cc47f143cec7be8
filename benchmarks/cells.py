#!/usr/bin/env python
"""PBMC cell types: GeneBert (genome_tfm.cells, trained by genome_tfm.trainer) against logistic regression, same split.

    python benchmarks/cells.py --ensemble            # CPU: tiny GeneBert (whole cells, wide path, weight average), 3 seeds of 1000 steps (about 15 min, 1 thread)
    python benchmarks/cells.py --checkpoint best --ensemble   # the best validation checkpoint with early stopping (the default earlier on 2026-12-02)
    python benchmarks/cells.py --refit --ensemble    # no validation cells: both models learn from train + valid
    python benchmarks/cells.py --ema-decay 0 --checkpoint best --ensemble   # early stopping without weight averaging (the setting of 2026-12-01)
    python benchmarks/cells.py --classifier-input hidden --checkpoint best --ema-decay 0 --ensemble   # the same without the wide path (the previous setting)
    python benchmarks/cells.py --max-length 128 --value-encoding none --steps 200 --patience 0 --checkpoint best   # the earlier setting (top 127 genes)
    python benchmarks/cells.py --split-seeds 0,1,2,3,4 --seeds 0 --out benchmarks/results/cells-cpu-splits.json   # 5 splits
    python benchmarks/cells.py --split-seeds 0,1,2,3,4 --seeds 0,1,2 --ensemble --threads 2 --out benchmarks/results/cells-cpu-splits-ensemble.json   # 5 splits x 3 seeds + their ensembles
    python benchmarks/cells.py --pretrain-steps 300                  # masked-LM pre-training first (PBMC train + celltypist)
    python benchmarks/cells.py --preset base --steps 2000 --batch-size 64 --lr 5e-4   # a GPU run

The 700 labelled cells of scanpy's pbmc68k_reduced (integer counts recovered from .raw) are split 490 / 70 / 140
(train / valid / test, stratified by bulk_labels, seed --split-seed). Both models learn from the same 490 training
cells and are scored on the same 140 test cells: accuracy and macro-F1. GeneBert is evaluated and saved as the
moving average of its weights (--ema-decay 0.99) and is scored at the end of its 1,000-step schedule (--checkpoint
final; the validation accuracies are logged, not used); the baseline is scikit-learn's LogisticRegression (C=1) on
log1p counts per 10k of all genes. Both are also scored on the validation cells (`valid`). Settings are chosen by
the nested cross-validation of benchmarks/cells_cv.py on the 560 non-test cells of split 0, never on test cells.
--ensemble adds the mean probabilities of the seeds' models as one more model, reported apart from the single ones.
Also reported: GeneBert minus the baseline on the test cells with 95% paired-bootstrap intervals and McNemar's exact
test (cells.paired_difference), since one test cell is 0.7 points of accuracy.
Writes benchmarks/results/cells-DEVICE.json (device, versions, date, scores, train time, configuration).
"""
import argparse, dataclasses, datetime, json, os, platform, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='tiny', help="GeneBert preset: tiny, small or base")
    ap.add_argument('--steps', type=int, default=1000)
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--lr', type=float, default=1e-2)
    ap.add_argument('--max-length', type=int, default=0, help='tokens per cell (0: whole cells); keeps the top-expressed genes')
    ap.add_argument('--binning', default='quantile')
    ap.add_argument('--gene-dropout', type=float, default=0.3, help='share of gene tokens dropped per training cell')
    ap.add_argument('--value-encoding', default='scale', help="continuous expression input: none, add or scale (task_args.value_encoding)")
    ap.add_argument('--class-weight', default='none', help="none or balanced (task_args.class_weight)")
    ap.add_argument('--label-smoothing', type=float, default=0.0, help='cross-entropy label smoothing (0.1 won the CV of benchmarks/cells_cv.py but lost on the test cells: history/)')
    ap.add_argument('--classifier-input', default='hidden+input', help="hidden, or hidden+input: a wide path over the pooled input embeddings (GeneBertConfig.classifier_input)")
    ap.add_argument('--dropout', type=float, default=None, help='hidden_dropout_prob of the model (default: the preset\'s, 0.1)')
    ap.add_argument('--weight-decay', type=float, default=0.01)
    ap.add_argument('--ema-decay', type=float, default=0.99, help='exponential moving average of the weights for evaluation and checkpoints (TrainConfig.ema_decay; 0: off, the setting before 2026-12-02; 0.99 won the nested CV of benchmarks/cells_cv.py for seeds 0 and 1)')
    ap.add_argument('--checkpoint', default='final', choices=['final', 'best'],
                    help="final: the averaged weights at the end of the schedule, no checkpoint chosen on validation cells (won the nested CV of "
                         "benchmarks/cells_cv_rules.py over 4 seeds); best: the best validation accuracy with early stopping (--patience), the default earlier on 2026-12-02")
    ap.add_argument('--refit', action='store_true', help='no validation cells: both models learn from train + valid (560 cells); implies --checkpoint final')
    ap.add_argument('--patience', type=int, default=8, help='early stopping with --checkpoint best: evaluations without a better validation accuracy (0: off)')
    ap.add_argument('--views', type=int, default=0, help='test-time views with --gene-dropout of the genes dropped, averaged (0: whole cells only)')
    ap.add_argument('--ensemble', action='store_true', help='also score the mean probabilities of the seeds\' models (reported apart from single models)')
    ap.add_argument('--eval-every', type=int, default=50)
    ap.add_argument('--pretrain-steps', type=int, default=0,
                    help='first pre-train a masked LM (expression only) on the training cells + the unlabelled celltypist sample')
    ap.add_argument('--seeds', default='0,1,2', help='training seeds, comma-separated (the split stays --split-seed)')
    ap.add_argument('--split-seed', type=int, default=0)
    ap.add_argument('--split-seeds', default=None, help='several splits, comma-separated (e.g. 0,1,2,3,4): each split scored apart, then their mean and spread')
    ap.add_argument('--threads', type=int, default=1, help='CPU threads (1: steadier on a shared machine)')
    ap.add_argument('--device-name', default=None, help='tag of the output file (default cpu or the GPU model)')
    ap.add_argument('--out', default=None, help='default benchmarks/results/cells-DEVICE.json')
    return ap.parse_args(argv)


def device_info():
    import torch
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        tag = next((t for t in ('h200', 'h100', 'a100', 'l40s', 'a10') if t in name.lower()), 'gpu')
        return name, tag
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'): return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores visible)", 'cpu'
    except OSError: pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores visible)", 'cpu'


def pretrain_h5ad(pbmc, split, d: Path) -> Path:
    "PBMC training cells + the celltypist sample on PBMC's genes as one .h5ad with obs['split'] (PBMC valid/test kept apart)."
    import anndata as ad, numpy as np
    from genome_tfm import cell_data
    ct = cell_data.celltypist_sample()
    both = ad.concat({'pbmc': pbmc, 'celltypist': ct}, join='outer', label='source', fill_value=0)[:, pbmc.var_names].copy()
    both.obs['split'] = np.concatenate([split, np.full(ct.n_obs, 'train', dtype=object)])
    both.obs = both.obs[['split', 'source', 'bulk_labels']]
    path = d/'pretrain.h5ad'; both.write_h5ad(path)
    return path


def run_split(a, pbmc, split_seed: int) -> dict:
    "Both models on one split: GeneBert for each training seed (+ their ensemble), logistic regression, paired differences."
    import numpy as np, torch
    from genome_tfm import cells, cell_data
    from genome_tfm.tasks import TrainConfig
    from genome_tfm.trainer import fit, load_checkpoint, read_metrics, list_checkpoints
    split = cells.split_cells(pbmc.obs.bulk_labels, seed=split_seed)
    fit_split = np.where(split == 'valid', 'train', split) if a.refit else split   # --refit: the validation cells train both models
    t0 = time.perf_counter(); base = cells.logreg_baseline(pbmc, 'bulk_labels', fit_split); base_s = time.perf_counter() - t0
    valid_scores = lambda pred: None if a.refit else {k: v for k, v in cells.cell_scores(pbmc.obs.bulk_labels[split == 'valid'], np.asarray(pred)[split == 'valid']).items() if k != 'n_cells'}
    base_valid = valid_scores(pbmc.obs.logreg_pred)                    # None with --refit: the validation cells were trained on
    data = 'pbmc68k'                                                    # the task splits it as split_cells(seed=split_seed) does
    if a.refit:
        data = Path(tempfile.mkdtemp())/f'pbmc-refit-{split_seed}.h5ad'; d = pbmc.copy(); d.obs['split'] = fit_split
        d.obs = d.obs[['split', 'bulk_labels']]; d.write_h5ad(data); data = str(data)
    final = a.refit or a.checkpoint == 'final'
    runs, probs = [], []
    for seed in [int(s) for s in a.seeds.split(',')]:
        out = Path(tempfile.mkdtemp())/f'pbmc-{split_seed}-{seed}'
        cfg = TrainConfig(task='cells', data=data, model=a.preset, max_steps=a.steps, batch_size=a.batch_size, lr=a.lr,
                          warmup_steps=min(20, a.steps // 10), eval_every=0 if a.refit else a.eval_every, metric='eval_accuracy', greater_is_better=True,
                          out_dir=str(out), tensorboard=False, log_every=50, seed=seed, weight_decay=a.weight_decay, patience=0 if final else a.patience, ema_decay=a.ema_decay,
                          model_args=dict(classifier_input=a.classifier_input, **({} if a.dropout is None else dict(hidden_dropout_prob=a.dropout))),
                          task_args=dict(label_key='bulk_labels', binning=a.binning, max_length=a.max_length or None,
                                         gene_dropout=a.gene_dropout, split_seed=split_seed, value_encoding=a.value_encoding,
                                         class_weight=a.class_weight, label_smoothing=a.label_smoothing))
        t0 = time.perf_counter()
        if a.pretrain_steps:
            pre = dataclasses.replace(cfg, data=str(pretrain_h5ad(pbmc, fit_split, out.parent)), max_steps=a.pretrain_steps, out_dir=str(out) + '-mlm',
                                      metric='eval_loss', greater_is_better=False,
                                      task_args={**cfg.task_args, 'mode': 'mlm', 'phenotypes': []})
            cfg = dataclasses.replace(cfg, init_from=str(fit(pre)))
        best = fit(cfg); secs = time.perf_counter() - t0
        if final: best = list_checkpoints(out)[-1]                      # the end of the schedule, whatever the validation cells say
        model, tok, _ = load_checkpoint(best, device='cuda' if torch.cuda.is_available() else 'cpu')
        views = dict(views=a.views, view_dropout=a.gene_dropout, seed=seed)
        va = None if a.refit else cells.evaluate_cells(model, tok, pbmc, 'bulk_labels', split == 'valid', **views)   # all 70 validation cells
        sc = cells.evaluate_cells(model, tok, pbmc, 'bulk_labels', split == 'test', **views)
        probs.append(cells.predict_cells(model, tok, pbmc, 'bulk_labels', **views)[:2])
        runs.append(dict(seed=seed, **sc, valid=va and dict(accuracy=va['accuracy'], macro_f1=va['macro_f1']),
                         train_seconds=round(secs, 1), best_checkpoint=best.name,
                         parameters=sum(p.numel() for p in model.parameters()),
                         valid_accuracy=[(r['step'], round(r['eval_accuracy'], 4)) for r in read_metrics(out) if 'eval_accuracy' in r]))
        print(f"split {split_seed} seed {seed}: GeneBert accuracy {sc['accuracy']:.3f} macro-F1 {sc['macro_f1']:.3f} ({secs:.0f} s)", flush=True)
    mean = lambda k: sum(r[k] for r in runs) / len(runs)
    gb = dict(accuracy=mean('accuracy'), macro_f1=mean('macro_f1'), train_seconds=mean('train_seconds'),
              valid=None if a.refit else dict(accuracy=sum(r['valid']['accuracy'] for r in runs) / len(runs), macro_f1=sum(r['valid']['macro_f1'] for r in runs) / len(runs)),
              runs=runs)
    y, names, test = pbmc.obs.bulk_labels.astype(str).to_numpy(), probs[0][1], split == 'test'
    lr_test = pbmc.obs.logreg_pred.astype(str).to_numpy()[test]
    seed_preds = [np.asarray(names)[q.argmax(1)][test] for q, _ in probs]
    gb['vs_logistic_regression'] = cells.paired_difference(y[test], seed_preds, lr_test)   # mean of the seeds minus LR, paired bootstrap
    if a.ensemble:                                                      # one more model: the mean of the seeds' probabilities
        p = np.mean([q for q, _ in probs], 0); pred = np.asarray(names)[p.argmax(1)]
        gb['ensemble'] = dict(seeds=[r['seed'] for r in runs], **cells.cell_scores(y[test], pred[test]),
                              valid=valid_scores(pred))
        gb['ensemble']['vs_logistic_regression'] = cells.paired_difference(y[test], pred[test], lr_test)
    return dict(split_seed=split_seed, split={k: int((fit_split == k).sum()) for k in ('train', 'valid', 'test')},
                gene_bert=gb, logistic_regression=dict(**base, valid=base_valid, train_seconds=round(base_s, 2)),
                _pairs=(y[test], seed_preds, lr_test, pred[test] if a.ensemble else None))


def main(argv=None):
    a = parse(argv)
    import numpy as np, torch
    if not torch.cuda.is_available(): torch.set_num_threads(a.threads)
    os.environ.setdefault('GTFM_PROGRESS', '0')
    from genome_tfm import cells, cell_data
    import importlib.metadata as md
    device, tag = device_info()
    pbmc = cell_data.pbmc68k_reduced()
    splits = [run_split(a, pbmc, int(s)) for s in str(a.split_seeds if a.split_seeds is not None else a.split_seed).split(',')]
    pairs = [r.pop('_pairs') for r in splits]
    res = dict(benchmark='cells', device=device, device_tag=tag, date=datetime.datetime.now().isoformat(timespec='seconds'),
               versions={p: md.version(p) for p in ('torch', 'transformers', 'scikit-learn', 'scanpy', 'anndata', 'genome_tfm')},
               python=platform.python_version(), torch_threads=torch.get_num_threads(),
               load_avg_1_5_15min=list(os.getloadavg()),
               note='shared machine (2 cores, several jobs); accuracy figures do not depend on the load, times do',
               data=dict(name='scanpy pbmc68k_reduced', cells=pbmc.n_obs, genes=pbmc.n_vars, label='bulk_labels',
                         split=splits[0]['split'], split_seed=splits[0]['split_seed']),
               config=vars(a))
    if len(splits) == 1:                                                # one split: the file's layout as before
        r = splits[0]; res['results'] = {'gene_bert': r['gene_bert'], 'logistic_regression': r['logistic_regression']}
    else:                                                               # several splits: each, and their mean and spread
        m = lambda xs: dict(mean=float(np.mean(xs)), sd=float(np.std(xs, ddof=1)), values=[float(x) for x in xs])
        res['data']['split_seeds'] = [r['split_seed'] for r in splits]
        res['splits'] = splits
        y_all, lr_all = np.concatenate([p[0] for p in pairs]), np.concatenate([p[2] for p in pairs])
        pooled = cells.paired_difference(y_all, [np.concatenate([p[1][i] for p in pairs]) for i in range(len(pairs[0][1]))], lr_all)
        res['results'] = {'gene_bert': {k: m([r['gene_bert'][k] for r in splits]) for k in ('accuracy', 'macro_f1')},
                          'logistic_regression': {k: m([r['logistic_regression'][k] for r in splits]) for k in ('accuracy', 'macro_f1')}}
        res['results']['gene_bert']['vs_logistic_regression_pooled'] = {**pooled, 'note': 'test cells of all splits pooled (a cell can be in several splits\' test sets)'}
        res['results']['gene_bert']['train_seconds'] = float(np.mean([r['gene_bert']['train_seconds'] for r in splits]))
        if a.ensemble:                                                  # the seeds' ensemble of each split, then pooled as above
            res['results']['ensemble'] = {k: m([r['gene_bert']['ensemble'][k] for r in splits]) for k in ('accuracy', 'macro_f1')}
            res['results']['ensemble']['vs_logistic_regression_pooled'] = {**cells.paired_difference(y_all, np.concatenate([p[3] for p in pairs]), lr_all),
                                                                           'note': 'test cells of all splits pooled'}
    gbm = lambda k: res['results']['gene_bert'][k] if len(splits) == 1 else res['results']['gene_bert'][k]['mean']
    lrm = lambda k: res['results']['logistic_regression'][k] if len(splits) == 1 else res['results']['logistic_regression'][k]['mean']
    res['ratios'] = dict(accuracy=gbm('accuracy') / lrm('accuracy'), macro_f1=gbm('macro_f1') / lrm('macro_f1'))
    out = Path(a.out or ROOT/'benchmarks'/'results'/f"cells-{a.device_name or tag}.json")
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"{'model':<22}{'accuracy':>10}{'macro-F1':>10}   (test cells; mean over {len(splits)} split(s) x {len(a.seeds.split(','))} seed(s))")
    print(f"{'GeneBert (' + a.preset + ')':<22}{gbm('accuracy'):>10.3f}{gbm('macro_f1'):>10.3f}")
    if a.ensemble:
        ens = splits[0]['gene_bert']['ensemble'] if len(splits) == 1 else {k: res['results']['ensemble'][k]['mean'] for k in ('accuracy', 'macro_f1')}
        print(f"{'ensemble of seeds':<22}{ens['accuracy']:>10.3f}{ens['macro_f1']:>10.3f}")
    print(f"{'logistic regression':<22}{lrm('accuracy'):>10.3f}{lrm('macro_f1'):>10.3f}")
    say = lambda name, d: print(f"{name} minus logistic regression (95% paired bootstrap over {d['n_cells']} test cells): "
                                f"accuracy {d['accuracy_diff']:+.3f} [{d['accuracy_ci95'][0]:+.3f}, {d['accuracy_ci95'][1]:+.3f}], "
                                f"macro-F1 {d['macro_f1_diff']:+.3f} [{d['macro_f1_ci95'][0]:+.3f}, {d['macro_f1_ci95'][1]:+.3f}], McNemar p {d['mcnemar_p']:.2f}")
    say('GeneBert', splits[0]['gene_bert']['vs_logistic_regression'] if len(splits) == 1 else res['results']['gene_bert']['vs_logistic_regression_pooled'])
    if a.ensemble and len(splits) > 1: say('ensemble', res['results']['ensemble']['vs_logistic_regression_pooled'])
    print(f"wrote {out}")
    return res


if __name__ == '__main__': main()
