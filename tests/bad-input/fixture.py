"""fixture.py — shared helpers of the bad-input catalogue and the kill tests: run the tiny
workflow fixture.yaml once (every stage's real outputs, ~4 s), read its stage files, run a
stage on an edited stage file, and assert a refusal (exit 2, one message naming the problem
and the file/key, nothing written). Not a test itself.
"""
import json
import os
import subprocess

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FAST_MPI = dict(OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader")


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAILED:", what, flush=True)
        return cond

    def finish(self):
        print(f"{self.passed} checks passed, {self.failed} failed")
        return 1 if self.failed or not self.passed else 0


def env():
    return dict(os.environ, **FAST_MPI)


def run_fixture(bindir, results, launcher="mpiexec -n 2"):
    """Run fixture.yaml into results/tiny; returns the run directory."""
    p = subprocess.run([os.path.join(bindir, "bmc-workflow"), "run", os.path.join(HERE, "fixture.yaml"),
                        "--results", results, "--launcher", launcher],
                       capture_output=True, text=True, timeout=300, env=env())
    if p.returncode != 0:
        raise SystemExit("fixture workflow failed:\n" + p.stderr[-3000:])
    return os.path.join(results, "tiny")


def stage_file(run_dir, instance):
    """The stage file the engine wrote for an instance, as a dict (inputs/outputs/params)."""
    import yaml
    with open(os.path.join(run_dir, "pipeline_info", "stages", instance + ".yaml")) as f:
        d = yaml.safe_load(f)
    return {k: d[k] for k in ("inputs", "outputs", "params")}


def run_stage(exe, cfg_path, cfg, np_=1, extra_env=None, timeout=120, args=()):
    """Write cfg (JSON is YAML) to cfg_path and run exe on it (a singleton for 1 rank)."""
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    cmd = ([exe] if np_ == 1 else ["mpiexec", "-n", str(np_), exe]) + list(args) + \
        ["--config", cfg_path]
    e = env()
    if extra_env:
        e.update(extra_env)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)


def outputs_of(cfg):
    out = []
    for v in cfg["outputs"].values():
        out += v if isinstance(v, list) else [v]
    return out


def leftovers(cfg):
    """Outputs (or their .partial) of cfg that exist."""
    return [p for o in outputs_of(cfg) for p in (o, o + ".partial") if os.path.lexists(p)]


def expect_refused(check, what, p, cfg, needles, status=2):
    err = p.stderr
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    check(p.returncode == status, f"{what}: exit status {p.returncode}, expected {status}: {err[-1500:]}")
    check(len(lines) == 1, f"{what}: expected one error line, got {len(lines)}: {err[-1500:]}")
    msg = lines[0] if lines else ""
    for n in needles:
        check(n in msg, f"{what}: message lacks {n!r}: {msg or err[-1500:]}")
    left = leftovers(cfg)
    check(not left, f"{what}: output left behind: {left}")
    print(f"  {what}: {msg}", flush=True)


def h5_contents(path, skip_attrs=("created_at",)):
    """Every dataset (bytes + dtype + shape) and attribute of an HDF5 file but skip_attrs."""
    out = {}

    def visit(name, obj):
        for k, v in obj.attrs.items():
            if k not in skip_attrs:
                out[f"{name}@{k}"] = repr(v.tolist() if isinstance(v, np.ndarray) else v)
        if isinstance(obj, h5py.Dataset):
            a = obj[()]
            out[name] = (str(obj.dtype), obj.shape, np.asarray(a).tobytes())

    with h5py.File(path, "r") as f:
        visit("/", f)
        f.visititems(visit)
    return out
