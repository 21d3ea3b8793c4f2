#!/usr/bin/env python3
"""check_faults.py — fault injection (issue 17, item 3) on the real stages, 2 ranks each.

Inputs: the tiny workflow fixture.yaml (fixture.py), run once. For bmc-extract-clip,
bmc-extract-fmri, bmc-train and bmc-evaluate, on copies of their stage files with outputs in
a scratch folder:
  kill     one rank SIGKILLs itself at each point of common/bmc_fault.h (BMC_FAULT_KILL_AT:
           read, create, write, close, rename, renamed, and swap for folder outputs), once
           with no previous output and once over a previous complete one; then no final
           output exists unless it is complete (equal to the uninterrupted run's), no
           .partial is an output, and a rerun exits 0 with every output equal to the
           uninterrupted run's (every HDF5 dataset and attribute but created_at; JSON but
           created_at; NIfTI maps decompressed)
  timed    the driver kills rank 1 after a sweep of delays (reads, compute, writes)
  full     a tmpfs smaller than the outputs as the output folder: exit 2 on every rank
           together, one error naming the path, no crash in MPI shutdown, nothing left
  fifo     a FIFO where an input file is expected, and a folder where one is expected
           (chmod 000 does not stop root): exit 2, the input named, no hang
  readonly the output folder a read-only tmpfs: exit 2, the folder named
Needs root for mount(2); without it the full/readonly parts are skipped (said so).
usage: check_faults.py BINDIR
"""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402

bindir = sys.argv[1]
check = fixture.Checks()
EXE = {"clip_features": "bmc-extract-clip", "fmri-1": "bmc-extract-fmri", "train-1": "bmc-train",
       "evaluate-1-1": "bmc-evaluate"}
POINTS = ["read@1", "create@1", "write@1", "write@1#2", "close@1", "rename@0", "renamed@0"]


def retarget(cfg, folder):
    c = json.loads(json.dumps(cfg))
    c["outputs"] = {k: os.path.join(folder, os.path.basename(v)) for k, v in cfg["outputs"].items()}
    return c


def contents(path):
    """Comparable contents of one output (None when absent)."""
    if not os.path.lexists(path):
        return None
    if os.path.isdir(path):
        return {n: contents(os.path.join(path, n)) for n in sorted(os.listdir(path))}
    if path.endswith((".h5", ".hdf5")):
        try:
            return fixture.h5_contents(path)
        except OSError as e:
            return f"unreadable: {e}"
    raw = open(path, "rb").read()
    if path.endswith(".gz"):
        return gzip.decompress(raw)
    if path.endswith(".json"):
        d = json.loads(raw)
        d.pop("created_at", None)
        return d
    return raw


def snapshot(cfg):
    return {o: contents(o) for o in fixture.outputs_of(cfg)}


def clean(folder):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)


def kill_tests(tmp, run_dir):
    kill_points = 0
    for inst, exe in EXE.items():
        exe = os.path.join(bindir, exe)
        base = fixture.stage_file(run_dir, inst)
        folder = os.path.join(tmp, "kill", inst)
        clean(folder)
        cfg = retarget(base, folder)
        cpath = os.path.join(tmp, "kill", inst + ".yaml")
        p = fixture.run_stage(exe, cpath, cfg, 2)
        if not check(p.returncode == 0, f"{inst}: uninterrupted run: {p.stderr[-1500:]}"):
            continue
        ref = snapshot(cfg)
        points = POINTS + (["swap@0"] if any(os.path.isdir(o) for o in ref) else [])
        for previous in (False, True):
            for pt in points:
                tag = f"{inst} killed at {pt}" + (" over a previous output" if previous else "")
                if not previous:
                    clean(folder)
                p = fixture.run_stage(exe, cpath, cfg, 2, {"BMC_FAULT_KILL_AT": pt})
                reached = "bmc_fault: rank" in p.stderr
                check(reached, f"{tag}: the point was not reached (exit {p.returncode}): "
                               f"{p.stderr[-800:]}")
                check(p.returncode != 0, f"{tag}: exit status 0 after a kill")
                kill_points += reached
                for o, want in ref.items():
                    got = contents(o)
                    check(got is None or got == want,
                          f"{tag}: {o} exists but differs from the uninterrupted run's")
                    if previous and pt not in ("swap@0",):
                        check(got == want, f"{tag}: the previous {o} was not kept intact")
                r = fixture.run_stage(exe, cpath, cfg, 2)
                check(r.returncode == 0, f"{tag}: rerun exit {r.returncode}: {r.stderr[-1500:]}")
                check(snapshot(cfg) == ref, f"{tag}: rerun outputs differ from the uninterrupted run's")
                left = [n for n in os.listdir(folder) if n.endswith(".partial")]
                check(not left, f"{tag}: rerun left {left}")
        print(f"  {inst}: {len(points)} kill points, fresh and over a previous output: "
              "reruns equal the uninterrupted run", flush=True)
    return kill_points


def children(pid, name):
    """Pids of processes named name below pid."""
    out, todo = [], [pid]
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open(f"/proc/{d}/stat").read()
                ppid = int(st[st.rindex(")") + 2:].split()[1])
                procs.setdefault(ppid, []).append((int(d), st[st.index("(") + 1:st.rindex(")")]))
            except (OSError, ValueError):
                pass
    while todo:
        for c, n in procs.get(todo.pop(), []):
            todo.append(c)
            if n == name[:15]:
                out.append(c)
    return sorted(out)


def timed_tests(tmp, run_dir):
    inst = "train-1"
    exe = os.path.join(bindir, EXE[inst])
    folder = os.path.join(tmp, "timed")
    clean(folder)
    cfg = retarget(fixture.stage_file(run_dir, inst), folder)
    cpath = os.path.join(tmp, "timed.yaml")
    p = fixture.run_stage(exe, cpath, cfg, 2)
    check(p.returncode == 0, f"timed: uninterrupted run: {p.stderr[-800:]}")
    ref = snapshot(cfg)
    killed = 0
    for delay in (0.05, 0.15, 0.25, 0.35, 0.5):
        clean(folder)
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        mp = subprocess.Popen(["mpiexec", "-n", "2", exe, "--config", cpath], env=fixture.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        kids = []
        while time.time() - t0 < delay and mp.poll() is None:
            kids = children(mp.pid, EXE[inst]) or kids
            time.sleep(0.005)
        if mp.poll() is None and len(kids) >= 2:
            os.kill(kids[-1], signal.SIGKILL)
            killed += 1
        mp.communicate(timeout=60)
        for o, want in ref.items():
            got = contents(o)
            check(got is None or got == want, f"timed kill {delay}s: {o} exists but differs")
        r = fixture.run_stage(exe, cpath, cfg, 2)
        check(r.returncode == 0 and snapshot(cfg) == ref,
              f"timed kill {delay}s: rerun {r.returncode} or outputs differ: {r.stderr[-800:]}")
    print(f"  timed kills of {inst}: {killed} of 5 delays landed before the end; reruns equal",
          flush=True)


def mount_tmpfs(path, size_k, ro=False):
    os.makedirs(path, exist_ok=True)
    opts = f"size={size_k}k" + (",ro" if ro else "")
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path],
                          capture_output=True).returncode == 0


def no_crash(check_, tag, p):
    bad = [w for w in ("Segmentation", "signal", "MPI_ABORT", "internal error", "core dumped",
                       "Abort", "HDF5-DIAG")
           if w in p.stderr]
    check_(not bad, f"{tag}: crash signs {bad} in: {p.stderr[-1500:]}")


def disk_tests(tmp, run_dir):
    if os.geteuid() != 0:
        print("  SKIPPED full disk / read-only folder: needs root for mount(2)")
        return
    mnt = os.path.join(tmp, "mnt")
    for inst, exe in EXE.items():
        exe = os.path.join(bindir, exe)
        base = fixture.stage_file(run_dir, inst)
        biggest = max(os.path.getsize(o) for o in fixture.outputs_of(base) if os.path.isfile(o))
        for tag, size_k, ro in (("full disk", max(8, biggest // 3072), False),
                                ("read-only folder", 64, True)):
            if not mount_tmpfs(mnt, size_k, ro):
                print(f"  SKIPPED {tag}: mount failed")
                return
            try:
                cfg = retarget(base, mnt)
                p = fixture.run_stage(exe, os.path.join(tmp, "disk.yaml"), cfg, 2)
                what = f"{inst}: {tag} ({size_k} KiB tmpfs)"
                lines = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
                check(p.returncode == 2, f"{what}: exit {p.returncode}, expected 2: {p.stderr[-1500:]}")
                check(len(lines) == 1, f"{what}: {len(lines)} error lines: {p.stderr[-1500:]}")
                check(lines and mnt in lines[0], f"{what}: message does not name {mnt}: {lines}")
                no_crash(check, what, p)
                left = [n for n in os.listdir(mnt)]
                check(not left, f"{what}: left {left}")
                print(f"  {what}: {lines[0] if lines else '?'}", flush=True)
            finally:
                subprocess.run(["umount", mnt])


def unreadable_tests(tmp, run_dir):
    cases = [("clip_features", "weights"), ("fmri-1", None), ("train-1", "fmri"),
             ("evaluate-1-1", "features")]
    for inst, key in cases:
        exe = os.path.join(bindir, EXE[inst])
        base = fixture.stage_file(run_dir, inst)
        folder = os.path.join(tmp, "unreadable", inst)
        clean(folder)
        cfg = retarget(base, folder)
        for kind in ("fifo", "folder"):
            bad = os.path.join(folder, "input_" + kind)
            if os.path.lexists(bad):
                shutil.rmtree(bad, ignore_errors=True)
            if kind == "fifo":
                os.mkfifo(bad)
            else:
                os.mkdir(bad)
            c = json.loads(json.dumps(cfg))
            if key:
                c["inputs"][key] = bad
                named = bad
            else:  # the NSD tree: one session file replaced
                root = os.path.join(folder, "nsd")
                if not os.path.exists(root):
                    shutil.copytree(base["inputs"]["nsd_root"], root, symlinks=True)
                c["inputs"]["nsd_root"] = root
                sess = os.path.join(root, "nsddata_betas", "ppdata", "subj01", "func1pt8mm",
                                    "betas_fithrf_GLMdenoise_RR", "betas_session02.hdf5")
                shutil.rmtree(sess, ignore_errors=True) if os.path.isdir(sess) else os.remove(sess)
                os.mkfifo(sess) if kind == "fifo" else os.mkdir(sess)
                named = "betas_session02.hdf5"
            what = f"{inst}: a {kind} as input"
            try:
                p = fixture.run_stage(os.path.join(bindir, EXE[inst]), os.path.join(folder, kind + ".yaml"),
                                      c, 2, timeout=60)
            except subprocess.TimeoutExpired:
                check(False, f"{what}: hung")
                continue
            fixture.expect_refused(check, what, p, c, [named])
            no_crash(check, what, p)


with tempfile.TemporaryDirectory(prefix="bmc-faults-") as tmp:
    run_dir = fixture.run_fixture(bindir, os.path.join(tmp, "res"))
    only = sys.argv[2:] or ["kill", "timed", "disk", "unreadable"]
    if "kill" in only:
        n = kill_tests(tmp, run_dir)
        print(f"  {n} kills at named points")
    if "timed" in only:
        timed_tests(tmp, run_dir)
    if "disk" in only:
        disk_tests(tmp, run_dir)
    if "unreadable" in only:
        unreadable_tests(tmp, run_dir)
sys.exit(check.finish())
