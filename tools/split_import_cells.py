#!/usr/bin/env python
"""Move top-level imports out of notebook cells that mix them with other code, into an import-only cell just before.

nbdev's docs processor executes every cell that contains an import *on its own* (to make `show_doc` work), so a
test cell such as `from x import f; y = f(z)` fails there when `z` comes from an earlier cell. Usage:
    python tools/split_import_cells.py nbs/05_model.ipynb [...]    # rewrites the notebooks in place
    python tools/split_import_cells.py --check nbs/*.ipynb          # exit 1 when a notebook needs it
Imports nested inside functions or blocks are reported, not moved. Run `nbdev_clean` afterwards.
"""
import argparse, ast, hashlib, json, re, sys
from pathlib import Path

_EXPORT = re.compile(r'^#\|\s*(export|exports|exporti|exec_doc)\b')
_DIRECTIVE = re.compile(r'^#\|')

def _src(c) -> str: return ''.join(c['source']) if isinstance(c['source'], list) else c['source']

def split_cell(cell: dict) -> tuple[list[dict], str]:
    "The cell as one or two cells (imports first), and a problem description ('' when none)."
    src = _src(cell)
    lines = src.splitlines(keepends=True)
    if any(_EXPORT.match(l) for l in lines): return [cell], ''
    try: tree = ast.parse(''.join(l if not l.lstrip().startswith(('%', '!')) else '\n' for l in lines))
    except SyntaxError: return [cell], ''
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    others = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
    nested = [n for o in others for n in ast.walk(o) if isinstance(n, (ast.Import, ast.ImportFrom))]
    if nested: return [cell], f'nested import at line {nested[0].lineno}'
    if not top or not others: return [cell], ''
    imp_lines = set()
    for n in top: imp_lines.update(range(n.lineno - 1, n.end_lineno))
    directives = [l for l in lines if _DIRECTIVE.match(l)]
    imports = directives + [lines[i] for i in sorted(imp_lines)]
    rest = [l for i, l in enumerate(lines) if i not in imp_lines]
    if imports and not imports[-1].endswith('\n'): imports[-1] += '\n'
    new = {'cell_type': 'code', 'execution_count': None, 'metadata': {}, 'outputs': [], 'source': ''.join(imports).rstrip('\n')}
    new['id'] = hashlib.sha1(f"{cell.get('id', '')}-imports".encode()).hexdigest()[:8]
    old = dict(cell, source=''.join(rest).strip('\n'))
    for c in (new, old): c['source'] = c['source'].splitlines(keepends=True)
    return [new, old], ''

def process(path: Path, check: bool) -> tuple[int, list[str]]:
    nb = json.loads(path.read_text())
    cells, n, problems = [], 0, []
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code': cells.append(c); continue
        out, prob = split_cell(c)
        if prob: problems.append(f'{path.name} cell {i}: {prob}')
        n += len(out) - 1; cells.extend(out)
    if n and not check:
        nb['cells'] = cells
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return n, problems

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='+'); ap.add_argument('--check', action='store_true')
    a = ap.parse_args(argv)
    bad = 0
    for p in map(Path, a.notebooks):
        n, problems = process(p, a.check)
        for pr in problems: print(pr, file=sys.stderr)
        if n: print(f"{p}: {n} cell(s) {'to split' if a.check else 'split'}")
        bad += n + len(problems)
    return 1 if (a.check and bad) else 0

if __name__ == '__main__': sys.exit(main())
