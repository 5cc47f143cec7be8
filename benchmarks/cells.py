#!/usr/bin/env python
"""PBMC cell types: GeneBert (genome_tfm.cells, trained by genome_tfm.train) against logistic regression, same split.

    python benchmarks/cells.py --ensemble            # CPU: tiny GeneBert (whole cells, wide path), 3 seeds of <= 1000 steps (about 15 min, 1 thread)
    python benchmarks/cells.py --classifier-input hidden --ensemble   # the same without the wide path (the previous setting)
    python benchmarks/cells.py --max-length 128 --value-encoding none --steps 200 --patience 0   # the earlier setting (top 127 genes)
    python benchmarks/cells.py --pretrain-steps 300                  # masked-LM pre-training first (PBMC train + celltypist)
    python benchmarks/cells.py --preset base --steps 2000 --batch-size 64 --lr 5e-4   # a GPU run

The 700 labelled cells of scanpy's pbmc68k_reduced (integer counts recovered from .raw) are split 490 / 70 / 140
(train / valid / test, stratified by bulk_labels, seed --split-seed). Both models learn from the same 490 training
cells and are scored on the same 140 test cells: accuracy and macro-F1. GeneBert keeps its best checkpoint by
accuracy on all 70 validation cells; the baseline is scikit-learn's LogisticRegression (C=1) on log1p counts per 10k
of all genes. Both are also scored on the validation cells (`valid`), the only scores used to choose settings.
--ensemble adds the mean probabilities of the seeds' models as one more model, reported apart from the single ones.
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
    ap.add_argument('--label-smoothing', type=float, default=0.0)
    ap.add_argument('--classifier-input', default='hidden+input', help="hidden, or hidden+input: a wide path over the pooled input embeddings (GeneBertConfig.classifier_input)")
    ap.add_argument('--dropout', type=float, default=None, help='hidden_dropout_prob of the model (default: the preset\'s, 0.1)')
    ap.add_argument('--weight-decay', type=float, default=0.01)
    ap.add_argument('--patience', type=int, default=8, help='early stopping: evaluations without a better validation accuracy (0: off)')
    ap.add_argument('--views', type=int, default=0, help='test-time views with --gene-dropout of the genes dropped, averaged (0: whole cells only)')
    ap.add_argument('--ensemble', action='store_true', help='also score the mean probabilities of the seeds\' models (reported apart from single models)')
    ap.add_argument('--eval-every', type=int, default=50)
    ap.add_argument('--pretrain-steps', type=int, default=0,
                    help='first pre-train a masked LM (expression only) on the training cells + the unlabelled celltypist sample')
    ap.add_argument('--seeds', default='0,1,2', help='training seeds, comma-separated (the split stays --split-seed)')
    ap.add_argument('--split-seed', type=int, default=0)
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
    from genome_tfm import cells
    ct = cells.celltypist_sample()
    both = ad.concat({'pbmc': pbmc, 'celltypist': ct}, join='outer', label='source', fill_value=0)[:, pbmc.var_names].copy()
    both.obs['split'] = np.concatenate([split, np.full(ct.n_obs, 'train', dtype=object)])
    both.obs = both.obs[['split', 'source', 'bulk_labels']]
    path = d/'pretrain.h5ad'; both.write_h5ad(path)
    return path


def main(argv=None):
    a = parse(argv)
    import torch
    if not torch.cuda.is_available(): torch.set_num_threads(a.threads)
    os.environ.setdefault('GTFM_PROGRESS', '0')
    from genome_tfm import cells
    from genome_tfm.train import TrainConfig, fit, load_checkpoint, read_metrics
    import importlib.metadata as md
    device, tag = device_info()
    pbmc = cells.pbmc68k_reduced()
    split = cells.split_cells(pbmc.obs.bulk_labels, seed=a.split_seed)
    t0 = time.perf_counter(); base = cells.logreg_baseline(pbmc, 'bulk_labels', split); base_s = time.perf_counter() - t0
    base_valid = {k: v for k, v in cells.cell_scores(pbmc.obs.bulk_labels[split == 'valid'], pbmc.obs.logreg_pred[split == 'valid']).items() if k != 'n_cells'}
    runs, probs = [], []
    for seed in [int(s) for s in a.seeds.split(',')]:
        out = Path(tempfile.mkdtemp())/f'pbmc-{seed}'
        cfg = TrainConfig(task='cells', data='pbmc68k', model=a.preset, max_steps=a.steps, batch_size=a.batch_size, lr=a.lr,
                          warmup_steps=min(20, a.steps // 10), eval_every=a.eval_every, metric='eval_accuracy', greater_is_better=True,
                          out_dir=str(out), tensorboard=False, log_every=50, seed=seed, weight_decay=a.weight_decay, patience=a.patience,
                          model_args=dict(classifier_input=a.classifier_input, **({} if a.dropout is None else dict(hidden_dropout_prob=a.dropout))),
                          task_args=dict(label_key='bulk_labels', binning=a.binning, max_length=a.max_length or None,
                                         gene_dropout=a.gene_dropout, split_seed=a.split_seed, value_encoding=a.value_encoding,
                                         class_weight=a.class_weight, label_smoothing=a.label_smoothing))
        t0 = time.perf_counter()
        if a.pretrain_steps:
            pre = dataclasses.replace(cfg, data=str(pretrain_h5ad(pbmc, split, out.parent)), max_steps=a.pretrain_steps, out_dir=str(out) + '-mlm',
                                      metric='eval_loss', greater_is_better=False,
                                      task_args={**cfg.task_args, 'mode': 'mlm', 'phenotypes': []})
            cfg = dataclasses.replace(cfg, init_from=str(fit(pre)))
        best = fit(cfg); secs = time.perf_counter() - t0
        model, tok, _ = load_checkpoint(best, device='cuda' if torch.cuda.is_available() else 'cpu')
        views = dict(views=a.views, view_dropout=a.gene_dropout, seed=seed)
        va = cells.evaluate_cells(model, tok, pbmc, 'bulk_labels', split == 'valid', **views)   # all 70 validation cells
        sc = cells.evaluate_cells(model, tok, pbmc, 'bulk_labels', split == 'test', **views)
        probs.append(cells.predict_cells(model, tok, pbmc, 'bulk_labels', **views)[:2])
        runs.append(dict(seed=seed, **sc, valid=dict(accuracy=va['accuracy'], macro_f1=va['macro_f1']),
                         train_seconds=round(secs, 1), best_checkpoint=best.name,
                         parameters=sum(p.numel() for p in model.parameters()),
                         valid_accuracy=[(r['step'], round(r['eval_accuracy'], 4)) for r in read_metrics(out) if 'eval_accuracy' in r]))
        print(f"seed {seed}: GeneBert accuracy {sc['accuracy']:.3f} macro-F1 {sc['macro_f1']:.3f} ({secs:.0f} s)")
    mean = lambda k: sum(r[k] for r in runs) / len(runs)
    gb = dict(accuracy=mean('accuracy'), macro_f1=mean('macro_f1'), train_seconds=mean('train_seconds'),
              valid=dict(accuracy=sum(r['valid']['accuracy'] for r in runs) / len(runs), macro_f1=sum(r['valid']['macro_f1'] for r in runs) / len(runs)),
              runs=runs)
    if a.ensemble:                                                      # one more model: the mean of the seeds' probabilities
        import numpy as np
        names = probs[0][1]; p = np.mean([q for q, _ in probs], 0); pred = np.asarray(names)[p.argmax(1)]
        y = pbmc.obs.bulk_labels.astype(str).to_numpy()
        gb['ensemble'] = dict(seeds=[r['seed'] for r in runs], **cells.cell_scores(y[split == 'test'], pred[split == 'test']),
                              valid={k: v for k, v in cells.cell_scores(y[split == 'valid'], pred[split == 'valid']).items() if k != 'n_cells'})
    res = dict(benchmark='cells', device=device, device_tag=tag, date=datetime.datetime.now().isoformat(timespec='seconds'),
               versions={p: md.version(p) for p in ('torch', 'transformers', 'scikit-learn', 'scanpy', 'anndata', 'genome_tfm')},
               python=platform.python_version(), torch_threads=torch.get_num_threads(),
               load_avg_1_5_15min=list(os.getloadavg()),
               note='shared machine (2 cores, several jobs); accuracy figures do not depend on the load, times do',
               data=dict(name='scanpy pbmc68k_reduced', cells=pbmc.n_obs, genes=pbmc.n_vars, label='bulk_labels',
                         split={k: int((split == k).sum()) for k in ('train', 'valid', 'test')}, split_seed=a.split_seed),
               config=vars(a),
               results={'gene_bert': gb, 'logistic_regression': dict(**base, valid=base_valid, train_seconds=round(base_s, 2))},
               ratios=dict(accuracy=mean('accuracy') / base['accuracy'], macro_f1=mean('macro_f1') / base['macro_f1']))
    out = Path(a.out or ROOT/'benchmarks'/'results'/f"cells-{a.device_name or tag}.json")
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"{'model':<22}{'accuracy':>10}{'macro-F1':>10}{'train s':>10}")
    print(f"{'GeneBert (' + a.preset + ')':<22}{mean('accuracy'):>10.3f}{mean('macro_f1'):>10.3f}{mean('train_seconds'):>10.0f}")
    if a.ensemble: print(f"{'ensemble of ' + str(len(runs)) + ' seeds':<22}{gb['ensemble']['accuracy']:>10.3f}{gb['ensemble']['macro_f1']:>10.3f}")
    print(f"{'logistic regression':<22}{base['accuracy']:>10.3f}{base['macro_f1']:>10.3f}{base_s:>10.1f}")
    print(f"wrote {out}")
    return res


if __name__ == '__main__': main()
