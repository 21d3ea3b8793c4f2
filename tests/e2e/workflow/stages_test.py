#!/usr/bin/python3
"""stages_test.py — the real stage programs under the engine's study-scale rules.

usage: stages_test.py BIN_DIR DEMO_YAML SCENARIO

  demo_typo        a typo in a bmc-train param of the demo workflow: `run` fails before any
                   stage starts, at the key's line:col, with the nearest key; nothing created
  demo_bad_value   a value bmc-train rejects (grid [3, 1] on 2 ranks): reported at the value
  check_reports    every stage's --check: speed-only keys as docs/WORKFLOWS.md lists them;
                   bmc-extract-fmri declares one subject's files of nsd_root, not the rest
  stage_refuses    a stage run by hand refuses a user's file or folder as its output (they
                   are kept) and an output that is its input under another spelling
  study_tree       the 89-instance study of bench/workflow on a small synthetic NSD tree:
                   planning reads only the declared files, a second plan none (and says
                   so counting each file once)
Not here: the engine with a fake stage (engine_test.py, engine_safety_test.py).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import yaml

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what)
    return cond


def workflow_run(bindir, wf, results, *args):
    p = subprocess.run([os.path.join(bindir, "bmc-workflow"), "run", wf, "--results", results,
                        *args], capture_output=True, text=True, timeout=300)
    print("$ bmc-workflow run %s %s -> %d\n%s" % (wf, " ".join(args), p.returncode, p.stderr))
    return p


def demo_with(demo, tmp, old, new, needle):
    """A copy of the demo workflow with one text replaced; (path, line, col of needle)."""
    text = open(demo).read()
    check(old in text, "demo holds %r" % old)
    text = text.replace(old, new, 1)
    path = os.path.join(tmp, "demo.yaml")
    with open(path, "w") as f:
        f.write(text)
    for k, line in enumerate(text.splitlines()):
        if needle in line:
            return path, k + 1, line.index(needle) + 1
    return path, 0, 0


def demo_typo(bindir, demo, tmp):
    wf, line, col = demo_with(demo, tmp, 'mem_per_rank: "256M"\n    resources',
                              'mem_per_rnak: "256M"\n    resources', "mem_per_rnak")
    results = os.path.join(tmp, "results")
    for args in (["--dry-run"], []):
        p = workflow_run(bindir, wf, results, *args)
        lines = p.stderr.splitlines()
        check(p.returncode == 2, "exit 2, got %d" % p.returncode)
        check(lines and lines[0] == "error: %s:%d:%d: unknown key 'mem_per_rnak' in bmc-train "
              "params (train_detail[1])" % (wf, line, col), "error at the key: %r" % lines[:1])
        check(len(lines) > 1 and lines[1] == "  hint: did you mean 'mem_per_rank'?",
              "nearest key: %r" % lines[1:2])
        check(not os.path.exists(results), "nothing created")


def demo_bad_value(bindir, demo, tmp):
    wf, line, col = demo_with(demo, tmp, 'cv: loo\n      mem_per_rank: "256M"\n    resources',
                              'cv: loo\n      grid: [3, 1]\n      mem_per_rank: "256M"\n    resources',
                              "[3, 1]")
    p = workflow_run(bindir, wf, os.path.join(tmp, "results"), "--dry-run")
    first = p.stderr.splitlines()[:1]
    check(p.returncode == 2 and first and first[0].startswith(
        "error: %s:%d:%d: grid must be two positive integers" % (wf, line, col)),
        "the value's position: %r" % first)


SPEED = {("bmc-extract-clip",): ["batch_size", "threads"],
         ("bmc-extract-fmri",): ["block_voxels", "hash_betas"],
         ("bmc-train",): ["mem_per_rank", "grid"],
         ("bmc-evaluate",): ["mem_per_rank"],
         ("bmc-synth", "stimuli"): [], ("bmc-synth", "clip-weights"): [],
         ("bmc-synth", "brain"): []}


def stage_check(bindir, tmp, words, cfg):
    path = os.path.join(tmp, "check.yaml")
    with open(path, "w") as f:
        json.dump(cfg, f)
    p = subprocess.run([os.path.join(bindir, words[0])] + list(words[1:]) +
                       ["--check", "--config", path], capture_output=True, text=True, timeout=60)
    print("$ %s --check -> %d\n%s%s" % (" ".join(words), p.returncode, p.stdout, p.stderr))
    return p


def check_reports(bindir, demo, tmp):
    for words, speed in SPEED.items():
        v = subprocess.run([os.path.join(bindir, words[0])] + list(words[1:]) + ["--version"],
                           capture_output=True, text=True, env=dict(os.environ, OMPI_MCA_x="1"))
        check(v.returncode == 0 and v.stdout.splitlines()[1:] == ["stage-protocol: check"],
              "%s --version speaks --check: %r" % (words, v.stdout))
        p = stage_check(bindir, tmp, words, {"outputs": {}, "inputs": {}, "params": {"nope": 1}})
        check(p.returncode == 2 and ("unknown key 'nope'" in p.stderr or "missing" in p.stderr),
              "%s --check rejects: %s" % (words, p.stderr))
    # Each stage's speed-only keys, from a config it accepts.
    root = os.path.join(tmp, "nsd")
    betas = "nsddata_betas/ppdata/subj%02d/func1pt8mm/betas_fithrf_GLMdenoise_RR/betas_session%02d.hdf5"
    for s in (1, 2):
        for k in (1, 2, 3):
            os.makedirs(os.path.dirname(os.path.join(root, betas % (s, k))), exist_ok=True)
            open(os.path.join(root, betas % (s, k)), "w").close()
    os.makedirs(os.path.join(root, "nsddata/experiments/nsd"))
    open(os.path.join(root, "nsddata/experiments/nsd/nsd_expdesign.mat"), "w").close()
    configs = {
        ("bmc-extract-fmri",): ({"nsd_root": root}, {"fmri": tmp + "/f.h5"}, {"subject": 1}),
        ("bmc-extract-clip",): ({"images": tmp + "/s.h5", "weights": tmp + "/w.safetensors"},
                                {"features": tmp + "/c.h5"}, {}),
        ("bmc-train",): ({"fmri": tmp + "/f.h5", "features": tmp + "/c.h5"},
                         {"model": tmp + "/m.h5"}, {}),
        ("bmc-evaluate",): ({"models": [tmp + "/m.h5"], "train_fmri": tmp + "/f.h5",
                             "test_fmri": tmp + "/f.h5", "features": tmp + "/c.h5"},
                            {"eval": tmp + "/e.h5", "json": tmp + "/e.json"},
                            {"train_subject": 1, "test_subject": 1}),
        ("bmc-synth", "stimuli"): ({}, {"images": tmp + "/s.h5"}, {}),
        ("bmc-synth", "clip-weights"): ({}, {"weights": tmp + "/w.safetensors",
                                             "config": tmp + "/config.json"}, {}),
        ("bmc-synth", "brain"): ({"stimuli": tmp + "/s.h5", "features": tmp + "/c.h5"},
                                 {"nsd_root": tmp + "/out"}, {})}
    for words, (ins, outs, params) in configs.items():
        p = stage_check(bindir, tmp, words, {"inputs": ins, "outputs": outs, "params": params,
                                             "resources": {"tasks": 2}})
        rep = yaml.safe_load(p.stdout) if p.returncode == 0 else {}
        check(p.returncode == 0 and rep.get("bmc-check") == 1, "%s --check accepts" % (words,))
        check(rep.get("speed_only") == SPEED[words], "%s speed-only %s" % (words, rep.get("speed_only")))
    rep = yaml.safe_load(stage_check(bindir, tmp, ("bmc-extract-fmri",), {
        "inputs": {"nsd_root": root}, "outputs": {"fmri": tmp + "/f.h5"},
        "params": {"subject": 2, "sessions": [1, 3]}}).stdout)
    reads, missing = rep["reads"]["nsd_root"], rep["missing"]["nsd_root"]
    check(reads == ["nsddata/experiments/nsd/nsd_expdesign.mat", betas % (2, 1), betas % (2, 3)],
          "extract-fmri reads one subject's chosen sessions: %s" % reads)
    check("nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5" in missing and
          "nsddata/ppdata/subj02/func1pt8mm/roi/nsdgeneral.nii.gz" in missing and
          not any("subj01" in m for m in missing), "and names what it lacks: %s" % missing)


def stage_refuses(bindir, demo, tmp):
    mine = os.path.join(tmp, "mine.h5")
    with open(mine, "w") as f:
        f.write("my data\n")
    cfg = os.path.join(tmp, "stim.yaml")
    with open(cfg, "w") as f:
        json.dump({"outputs": {"images": mine}, "params": {"n_images": 2}}, f)
    p = subprocess.run([os.path.join(bindir, "bmc-synth"), "stimuli", "--config", cfg],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "carries no brainmclip stamp" in p.stderr,
          "a user's file as output is refused: %s" % p.stderr)
    check(open(mine).read() == "my data\n" and not os.path.exists(mine + ".partial"),
          "the user's file survives")
    os.makedirs(os.path.join(tmp, "d"))
    with open(cfg, "w") as f:
        json.dump({"inputs": {"stimuli": mine, "features": tmp + "/c.h5"},
                   "outputs": {"nsd_root": tmp + "/d/../mine.h5"}, "params": {}}, f)
    p = subprocess.run([os.path.join(bindir, "bmc-synth"), "brain", "--config", cfg],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "output 'nsd_root' (%s/d/../mine.h5) is input 'stimuli'" % tmp
          in p.stderr, "an output that is an input under another spelling: %s" % p.stderr)
    check(open(mine).read() == "my data\n", "the input survives")
    # A user's folder named as a folder output (bmc-train's maps, bmc-synth brain's tree).
    folder = os.path.join(tmp, "userdir")
    os.makedirs(folder)
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("my notes\n")
    for words, cfg_ in (
            (["bmc-train"], {"inputs": {"fmri": mine, "features": mine},
                             "outputs": {"model": tmp + "/m.h5", "maps": folder}, "params": {}}),
            (["bmc-synth", "brain"], {"inputs": {"stimuli": mine, "features": tmp + "/c.h5"},
                                      "outputs": {"nsd_root": folder}, "params": {}})):
        with open(cfg, "w") as f:
            json.dump(cfg_, f)
        p = subprocess.run([os.path.join(bindir, words[0])] + words[1:] + ["--config", cfg],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 2 and "(%s) exists and carries no brainmclip stamp" % folder
              in p.stderr, "%s: a user's folder as output is refused: %s" % (words, p.stderr))
        check(os.listdir(folder) == ["notes.txt"] and
              open(os.path.join(folder, "notes.txt")).read() == "my notes\n" and
              not [f for f in os.listdir(tmp) if "partial" in f or "replaced" in f],
              "%s: the user's folder survives, nothing left beside it" % words)


def study_tree(bindir, demo, tmp):
    """The study workflow of bench/workflow on a small copy of the synthetic NSD tree (same
    10288 names, sizes × 1e-6): planning reads only the files the stages declare (one
    subject's for each bmc-extract-fmri), and a second plan reads none."""
    bench = os.path.join(os.path.dirname(demo), "..", "bench", "workflow")
    sys.path.insert(0, bench)
    import bench_plan
    nsd = os.path.join(tmp, "nsd")
    subprocess.run([sys.executable, os.path.join(bench, "make_nsd_tree.py"), nsd, "--scale",
                    "1e-6"], check=True)
    weights = os.path.join(tmp, "model.safetensors")
    with open(weights, "w") as f:
        f.write("weights\n")
    wf = os.path.join(tmp, "study.yaml")
    with open(wf, "w") as f:
        f.write(bench_plan.workflow(nsd, weights))
    time.sleep(2.1)  # older than the hash cache's 2 s window
    results = os.path.join(tmp, "results")
    counts, cached = [], []
    for _ in range(2):
        p = workflow_run(bindir, wf, results, "--dry-run")
        m = re.search(r"fingerprints: (\d+) files? read .*, (\d+) unchanged files? ", p.stderr)
        counts.append(int(m.group(1)) if m else -1)
        cached.append(int(m.group(2)) if m else -1)
        check(p.returncode == 0 and len(p.stdout.splitlines()) == 89, "89 instances planned")
    sessions = sum(bench_plan_sessions().values())
    # per subject 6 ROI files + 6 label tables; the design and the stimuli file; the
    # weights; the 4 stage programs (extract-clip, extract-fmri, train, evaluate)
    want = 8 * 12 + sessions + 2 + 1 + 4
    check(counts == [want, 0], "files read by the first and the second plan: %s, expected "
          "[%d, 0] of the tree's 10288" % (counts, want))
    check(cached == [0, want], "files from the cache, each counted once although 64 "
          "evaluations read the stimuli: %s, expected [0, %d]" % (cached, want))


def bench_plan_sessions():
    import make_nsd_tree
    return make_nsd_tree.SESSIONS


SCENARIOS = {f.__name__: f for f in [demo_typo, demo_bad_value, check_reports, stage_refuses,
                                     study_tree]}


def main():
    bindir, demo, scenario = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    with tempfile.TemporaryDirectory(prefix="bmc-stages-") as tmp:
        SCENARIOS[scenario](bindir, demo, tmp)
    print("%s: %s" % (scenario, "FAIL (%d)" % len(FAILURES) if FAILURES else "PASS"))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
