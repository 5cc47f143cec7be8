#!/usr/bin/env python
"""Choosing GeneBert settings without the test cells: 5-fold cross-validation on PBMC's 560 non-test cells.

The 140 test cells of split 0 (benchmarks/cells.py) are set aside; the other 560 are cut into 5 stratified folds.
For each fold GeneBert (tiny, the benchmark's settings unless overridden) trains on the other four, keeps its best
checkpoint by the fold's accuracy and predicts the fold; logistic regression is fitted on the same four folds.
Out-of-fold accuracy and macro-F1 of both over the 560 cells, and their paired difference, are printed (one line per
fold, then a line starting with CV). Settings come from the environment, so a variant is one command:

    TAG=cv-mean python benchmarks/cells_cv.py                                 # the benchmark's settings before 2026-12-02
    TAG=cv-ls TARGS='{"label_smoothing": 0.1}' python benchmarks/cells_cv.py   # + label smoothing
    TAG=cv-gd5 TARGS='{"gene_dropout": 0.5}' python benchmarks/cells_cv.py
    TAG=cv-loss METRIC=eval_loss python benchmarks/cells_cv.py                # best checkpoint by validation loss
    TAG=cv-sum PATCH=sum SUMC=200 python benchmarks/cells_cv.py               # wide path as a sum / 200 instead of a mean

    NESTED=1 TAG=cv-nested python benchmarks/cells_cv.py                    # checkpoint chosen on an inner validation split
    NESTED=1 EMA=0.99 TAG=cv-nested-ema99 python benchmarks/cells_cv.py     # + weight averaging (TrainConfig.ema_decay)

    CURVE=1 NESTED=1 EMA=0.99 SEED=0 NPZ=/tmp/cv-curve-0.npz python benchmarks/cells_cv.py   # every checkpoint, for cells_cv_rules.py

TARGS / MARGS: JSON task_args / model_args overrides; also SEED, FOLDS, STEPS, LR, WD, PRESET, EMA. One CPU thread.
CURVE=1 trains every fold for all STEPS (no early stopping), keeps a checkpoint every 50 steps and writes the
out-of-fold probabilities of each one and the inner validation accuracies to NPZ: training is deterministic and the
lr schedule depends only on STEPS, so early stopping with any patience is a prefix of this run, and
benchmarks/cells_cv_rules.py can score checkpoint rules (early stopping, a fixed step, seed ensembles) on the same runs.
REFIT=1 (implies CURVE=1) has no inner validation cells: GeneBert learns from all four training folds for STEPS steps
(no evaluation, so no early stopping), and so does logistic regression; it measures a fixed-step model refitted on
train + valid.
Without NESTED the selection is optimistic for every variant alike (the checkpoint is chosen on the scored fold); it
ranks settings, the test cells measure them. With NESTED=1 each fold's four training folds are split again as the
benchmark splits its 560 cells (1/8 stratified inner validation cells choose the checkpoint, the rest train), and
logistic regression is fitted on the same inner training cells: the scored fold is never looked at before it is
scored, so the out-of-fold figures estimate the benchmark's own comparison.
"""
import sys, os, json, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np, torch
torch.set_num_threads(1); os.environ.setdefault('GTFM_PROGRESS', '0')
from genome_tfm import cells, cell_data
if os.environ.get('PATCH') == 'sum':   # wide path: sum over expressed genes / SUMC (linear in log expression, like LR) instead of the mean
    from genome_tfm.model import masked_mean
    def embed(self, input_ids, attention_mask=None, token_type_ids=None, expression_values=None):
        emb = cells.value_embeds(self.bert, self.config, input_ids, token_type_ids, expression_values)
        out = self.bert(None if emb is not None else input_ids, attention_mask, token_type_ids, emb)
        pooled = masked_mean(out.last_hidden_state, attention_mask)
        e = self.bert.embeddings
        x = (emb if emb is not None else e.word_embeddings(input_ids)) + e.token_type_embeddings(token_type_ids)
        m = attention_mask.to(x.dtype)[..., None]
        return torch.cat([pooled, (x * m).sum(1) / float(os.environ.get('SUMC', 200))], -1)
    cells.GeneBertForCellClassification.embed = embed
from genome_tfm.tasks import TrainConfig
from genome_tfm.trainer import fit, load_checkpoint
tag = os.environ.get('TAG', 'cv'); seed = int(os.environ.get('SEED', 0)); folds = int(os.environ.get('FOLDS', 5))
margs = json.loads(os.environ.get('MARGS', '{}')); targs = json.loads(os.environ.get('TARGS', '{}'))
steps = int(os.environ.get('STEPS', 1000)); lr = float(os.environ.get('LR', 1e-2)); wd = float(os.environ.get('WD', 0.01))
nested = os.environ.get('NESTED', '0') == '1'; ema = float(os.environ.get('EMA', 0)); curve = os.environ.get('CURVE', '0') == '1'
refit = os.environ.get('REFIT', '0') == '1'; curve = curve or refit
curve_p, curve_steps, curve_valid = {}, None, {}
pbmc = cell_data.pbmc68k_reduced(); split = cells.split_cells(pbmc.obs.bulk_labels, seed=0)
dev = pbmc[split != 'test'].copy(); y = dev.obs.bulk_labels.astype(str).to_numpy()
rng = np.random.default_rng(123); fold = np.empty(dev.n_obs, int)
for c in np.unique(y):                                                   # stratified folds
    idx = rng.permutation(np.flatnonzero(y == c)); fold[idx] = np.arange(len(idx)) % folds
oof, oof_lr = np.empty(dev.n_obs, object), np.empty(dev.n_obs, object)
tmp = Path(tempfile.mkdtemp())
for k in range(folds):
    part = np.where(fold == k, 'valid', 'train')
    if nested:                                                           # fold k is 'test'; 1/8 of the rest chooses the checkpoint
        part = np.where(fold == k, 'test', 'train').astype(object)
        inner = np.flatnonzero(fold != k)
        part[inner] = np.where(cells.split_cells(y[inner], test_size=0.125, valid_size=0, seed=k) == 'test', 'valid', 'train')
    if refit: part = np.where(fold == k, 'test', 'train').astype(object)   # no validation cells: both models learn from all four folds
    scored = fold == k
    a = dev.copy(); a.obs['split'] = part
    a.obs = a.obs[['split', 'bulk_labels']]; p = tmp/f'fold{k}.h5ad'; a.write_h5ad(p)
    lrs = cells.logreg_baseline(a, 'bulk_labels', np.where(scored, 'test', np.where(part == 'train', 'train', 'unused')))
    oof_lr[scored] = a.obs.logreg_pred.astype(str).to_numpy()[scored]
    ta = dict(label_key='bulk_labels', binning='quantile', max_length=None, gene_dropout=0.3, value_encoding='scale', class_weight='none', label_smoothing=0.0)
    ta.update(targs)
    cfg = TrainConfig(task='cells', data=str(p), model=os.environ.get('PRESET', 'tiny'), max_steps=steps, batch_size=32, lr=lr, warmup_steps=20, eval_every=0 if refit else 50,
                      metric=os.environ.get('METRIC', 'eval_accuracy'), greater_is_better=os.environ.get('METRIC', 'eval_accuracy') != 'eval_loss', out_dir=str(tmp/f'run{k}'), tensorboard=False, log_every=50, seed=seed,
                      weight_decay=wd, patience=0 if curve else 8, ema_decay=ema, **(dict(save_every=50, keep_last=10**6) if curve else {}), model_args=dict(classifier_input='hidden+input', **margs), task_args=ta)
    t0 = time.perf_counter(); best = fit(cfg)
    if curve:                                                            # every checkpoint's probabilities of the scored fold
        from genome_tfm.trainer import list_checkpoints, read_metrics
        cks = list_checkpoints(tmp/f'run{k}'); curve_steps = [int(c.name.split('-')[-1]) for c in cks]
        for st, ck in zip(curve_steps, cks):
            m, t, _ = load_checkpoint(ck, device='cpu'); q, names_k, _ = cells.predict_cells(m, t, a[scored], 'bulk_labels')
            curve_p.setdefault(st, np.zeros((dev.n_obs, len(names_k)), np.float32))[scored] = q
        ev = {r['step']: r['eval_accuracy'] for r in read_metrics(tmp/f'run{k}') if 'eval_accuracy' in r}
        curve_valid[k] = [ev.get(st, np.nan) for st in curve_steps]
    model, tok, _ = load_checkpoint(best, device='cpu')
    pr, names, _ = cells.predict_cells(model, tok, a[scored], 'bulk_labels')
    oof[scored] = np.asarray(names)[pr.argmax(1)]
    print(f"fold {k}: {cells.cell_scores(y[scored], oof[scored])} LR {lrs} best {best.name} {time.perf_counter() - t0:.0f}s", flush=True)
s, sl = cells.cell_scores(y, oof), cells.cell_scores(y, oof_lr)
diff = cells.paired_difference(y, oof.astype(str), oof_lr.astype(str), n_boot=500)
print('CV', tag, 'gb', round(s['accuracy'], 3), round(s['macro_f1'], 3), 'LR', round(sl['accuracy'], 3), round(sl['macro_f1'], 3), 'diff', {k: diff[k] for k in ('accuracy_diff', 'accuracy_ci95', 'macro_f1_diff', 'macro_f1_ci95')})
if curve:
    np.savez(os.environ.get('NPZ', f'/tmp/{tag}.npz'), steps=np.array(curve_steps), probs=np.stack([curve_p[st] for st in curve_steps]),
             valid_accuracy=np.array([curve_valid[k] for k in range(folds)]), fold=fold, y=np.asarray(y, dtype=str), lr_pred=oof_lr.astype(str), names=np.asarray(names, dtype=str),
             seed=seed, ema=ema)
