#!/usr/bin/env python
"""Checkpoint rules scored on the nested CV runs of `CURVE=1 benchmarks/cells_cv.py` (no test cell involved).

    python benchmarks/cells_cv_rules.py /tmp/cv-curve-0.npz /tmp/cv-curve-1.npz /tmp/cv-curve-2.npz

For each rule, out-of-fold accuracy / macro-F1 over PBMC's 560 non-test cells, per training seed and their mean, and
the ensemble (mean probabilities of the seeds, each chosen by the rule), with the paired difference to logistic
regression on the same folds. Rules: 'early stopping' (the benchmark's: best inner-validation accuracy, patience 8,
strictly better to move) and 'step S' (the averaged weights after S of the STEPS steps, no validation looked at).
"""
import sys
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from genome_tfm import cells


def early_stopping(valid: np.ndarray, patience: int = 8) -> int:
    "Index of the checkpoint the trainer keeps: first strict best, stopping after `patience` evaluations without one."
    best, bad = 0, 0
    for i in range(1, len(valid)):
        if valid[i] > valid[best]: best, bad = i, 0
        else:
            bad += 1
            if bad >= patience: break
    return best


def rule_probs(r, rule) -> np.ndarray:
    "(N, C) out-of-fold probabilities of run `r` under `rule` ('es' or a step)."
    out = np.zeros(r['probs'].shape[1:], np.float32)
    for k in np.unique(r['fold']):
        i = early_stopping(r['valid_accuracy'][k]) if rule == 'es' else list(r['steps']).index(rule)
        out[r['fold'] == k] = r['probs'][i][r['fold'] == k]
    return out


def main(paths):
    runs = [dict(np.load(p)) for p in paths]
    y, lr, names = runs[0]['y'], runs[0]['lr_pred'], runs[0]['names']
    assert all((r['y'] == y).all() and (r['fold'] == runs[0]['fold']).all() for r in runs), 'runs of different folds'
    sl = cells.cell_scores(y, lr)
    print(f"logistic regression: accuracy {sl['accuracy']:.3f} macro-F1 {sl['macro_f1']:.3f} (560 cells, same folds)")
    print('seeds', [int(r['seed']) for r in runs], 'ema', [float(r['ema']) for r in runs])
    for k in range(len(runs[0]['valid_accuracy']) if not np.isnan(runs[0]['valid_accuracy']).all() else 0):
        print(f"fold {k} early-stopping steps:", [int(r['steps'][early_stopping(r['valid_accuracy'][k])]) for r in runs])
    print(f"{'rule':>16} | per seed accuracy / macro-F1 | mean of seeds | ensemble | ensemble - LR accuracy [95% CI]")
    has_valid = not np.isnan(runs[0]['valid_accuracy']).all()      # REFIT runs have no validation cells
    for rule in (['es'] if has_valid else []) + [int(s) for s in runs[0]['steps'] if s % 100 == 0]:
        ps = [rule_probs(r, rule) for r in runs]
        sc = [cells.cell_scores(y, names[p.argmax(1)]) for p in ps]
        ens = names[np.mean(ps, 0).argmax(1)]; se = cells.cell_scores(y, ens)
        d = cells.paired_difference(y, ens, lr, n_boot=500)
        per = ' '.join(f"{s['accuracy']:.3f}/{s['macro_f1']:.3f}" for s in sc)
        print(f"{'early stopping' if rule == 'es' else f'step {rule}':>16} | {per} | {np.mean([s['accuracy'] for s in sc]):.3f}/{np.mean([s['macro_f1'] for s in sc]):.3f}"
              f" | {se['accuracy']:.3f}/{se['macro_f1']:.3f} | {d['accuracy_diff']:+.3f} [{d['accuracy_ci95'][0]:+.3f}, {d['accuracy_ci95'][1]:+.3f}]")


if __name__ == '__main__': main(sys.argv[1:])
