#!/usr/bin/env python
"""Convert a percent-format script (`# %%` code cells, `# %% [markdown]` prose cells) into a notebook.

Authoring aid only: the notebook it writes is the source of truth afterwards. Usage:
    python tools/py2nb.py scratch/01a_genome.py nbs/01a_genome.ipynb
"""
import hashlib, json, re, sys
from pathlib import Path

def py2cells(text: str) -> list[dict]:
    cells, kind, buf = [], None, []
    def flush():
        if kind is None: return
        lines = buf[:]
        while lines and not lines[-1].strip(): lines.pop()
        while lines and not lines[0].strip(): lines.pop(0)
        if kind == 'markdown': lines = [re.sub(r'^# ?', '', l) for l in lines]
        src = '\n'.join(lines)
        cell = {'cell_type': kind, 'metadata': {}, 'source': src}
        if kind == 'code': cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    for line in text.splitlines():
        m = re.match(r'^# %%( \[markdown\])?\s*$', line)
        if m:
            flush(); kind, buf = ('markdown' if m.group(1) else 'code'), []
        else: buf.append(line)
    flush()
    return cells

def main(src: str, dst: str):
    nb = {'cells': py2cells(Path(src).read_text()), 'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
          'nbformat': 4, 'nbformat_minor': 5}
    for i, c in enumerate(nb['cells']):
        c['source'] = c['source'].splitlines(keepends=True)
        # stable cell ids, so the exported module's `# %% nb #id` markers do not change when the notebook is executed
        c['id'] = hashlib.sha1(f'{Path(dst).stem}-{i}-{c["cell_type"]}'.encode()).hexdigest()[:8]
    Path(dst).write_text(json.dumps(nb, indent=1) + '\n')

if __name__ == '__main__': main(*sys.argv[1:3])
