"""Dry runs of tools/gpu_suite.sh put this folder first on PYTHONPATH: the packages named in $GTFM_GPU_MISSING (those the
GPU machine lacks) become unimportable here too, so a suite step that needs one fails in the dry run, not on the GPU."""
import os, sys
from importlib.machinery import PathFinder

_MISSING = frozenset(os.environ.get('GTFM_GPU_MISSING', '').split())

class _GpuImageFinder(PathFinder):
    "PathFinder that finds nothing of the missing packages (importlib.util.find_spec says None, as it would there)."
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition('.')[0] in _MISSING: return None
        return super().find_spec(name, path, target)

if _MISSING: sys.meta_path[:] = [_GpuImageFinder if f is PathFinder else f for f in sys.meta_path]
