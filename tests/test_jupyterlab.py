"""JupyterLab from the dev extra starts, serves /lab with the token, refuses without it, and stops."""
import os, secrets, socket, subprocess, sys, time
from pathlib import Path
import pytest, requests

ROOT = Path(__file__).resolve().parents[1]

def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_jupyter_lab(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, 'JUPYTER_RUNTIME_DIR': str(tmp_path/'rt'), 'JUPYTER_CONFIG_DIR': str(tmp_path/'cfg')}
    cmd = [str(Path(sys.executable).parent/'jupyter'), 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={ROOT}', '--ServerApp.port_retries=0']
    if os.geteuid() == 0: cmd.append('--allow-root')  # CI machines run as root
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline, r = time.time() + 120, None
        while time.time() < deadline:
            assert proc.poll() is None, f"jupyter lab exited early:\n{proc.stdout.read()[-3000:]}"
            try: r = requests.get(f'{base}/lab?token={token}', timeout=5); break
            except requests.ConnectionError: time.sleep(0.5)
        assert r is not None, 'jupyter lab did not answer within 120 s'
        assert r.status_code == 200 and 'JupyterLab' in r.text, (r.status_code, r.text[:300])
        assert requests.get(f'{base}/api/contents', timeout=10).status_code == 403            # the API without the token
        assert requests.get(f'{base}/api/contents?token=wrong', timeout=10).status_code == 403  # a wrong token
        assert requests.get(f'{base}/api/contents?token={token}', timeout=10).status_code == 200
        lab = requests.get(f'{base}/lab', timeout=10, allow_redirects=False)                   # the page without the token
        assert lab.status_code in (302, 403) and (lab.status_code == 403 or '/login' in lab.headers.get('Location', '')), lab.status_code
    finally:
        proc.terminate()
        try: proc.wait(timeout=30)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
    assert proc.returncode is not None
