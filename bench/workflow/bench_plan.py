#!/usr/bin/python3
"""bench_plan.py — what bmc-workflow's planning costs on a study-sized NSD tree, for two
engine builds side by side (e.g. before and after a change).

usage: bench_plan.py NSD_ROOT WORK_DIR BIN_DIR[=LABEL] [BIN_DIR[=LABEL] ...]

NSD_ROOT is a tree from make_nsd_tree.py (full size: ~347 GB of sparse files). The workflow is
the whole study on 8 subjects: CLIP features of nsd_stimuli.hdf5, bmc-extract-fmri per subject
reading NSD_ROOT, both decoders per subject, the 8 × 8 evaluation matrix: 89 instances. For
each build, in a fresh results folder, it times
  1. `run --dry-run` (a first call: nothing known yet),
  2. `run --dry-run` again (a second call),
  3. then brings everything up to date with the stand-in launcher (stand_in.py: outputs that
     carry their fingerprints, nothing computed), and times
  4. `run` with nothing out of date (the engine's own cost of a no-op run).
Prints a table and the engine's own `fingerprints:` lines. The workflow uses only syntax
that every build reads (explicit lists, no {subjects}).
Not here: the stages' own run times (bench/clip, bench/ridge, bench/fmri).
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SUBJECTS = list(range(1, 9))


def workflow(nsd, weights):
    cohort = "".join('\n        - "{run_dir}/fmri/fmri_subj%02d.h5"' % s for s in SUBJECTS)
    return """\
workflow: nsd_study
subjects: %s
stages:
  clip_features:
    run: bmc-extract-clip
    inputs: {images: "%s/nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5", weights: "%s"}
    outputs: {features: "{run_dir}/features/clip.h5"}
    params: {outputs: [detail, semantic, pooled], batch_size: 16}
    resources: {tasks: 16}
  fmri:
    foreach: subjects
    run: bmc-extract-fmri
    inputs: {nsd_root: "%s"}
    outputs: {fmri: "{run_dir}/fmri/fmri_subj{subject:02d}.h5"}
    params: {subject: "{subject}"}
    resources: {tasks: 8}
  train_detail:
    foreach: subjects
    run: bmc-train
    inputs: {fmri: "{run_dir}/fmri/fmri_subj{subject:02d}.h5", features: "{run_dir}/features/clip.h5"}
    outputs: {model: "{run_dir}/models/detail_subj{subject:02d}.h5"}
    params: {only: [detail], mem_per_rank: "4G"}
    resources: {tasks: 64}
  train_semantic:
    foreach: subjects
    run: bmc-train
    inputs: {fmri: "{run_dir}/fmri/fmri_subj{subject:02d}.h5", features: "{run_dir}/features/clip.h5"}
    outputs: {model: "{run_dir}/models/semantic_subj{subject:02d}.h5"}
    params: {only: [semantic], mem_per_rank: "4G"}
    resources: {tasks: 64}
  evaluate:
    foreach: subject_pairs
    run: bmc-evaluate
    inputs:
      models: ["{run_dir}/models/detail_subj{train:02d}.h5", "{run_dir}/models/semantic_subj{train:02d}.h5"]
      train_fmri: "{run_dir}/fmri/fmri_subj{train:02d}.h5"
      test_fmri: "{run_dir}/fmri/fmri_subj{test:02d}.h5"
      features: "{run_dir}/features/clip.h5"
      stimuli: "%s/nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"
      cohort:%s
    outputs:
      eval: "{run_dir}/eval/eval_subj{train:02d}_on_subj{test:02d}.h5"
      json: "{run_dir}/eval/eval_subj{train:02d}_on_subj{test:02d}.json"
    params: {train_subject: "{train}", test_subject: "{test}", align_images: 500}
    resources: {tasks: 8}
""" % (SUBJECTS, nsd, weights, nsd, nsd, cohort)


def timed(cmd, cwd):
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    dt = time.monotonic() - t0
    fp = [l.split("info: ", 1)[-1] for l in p.stderr.splitlines() if "fingerprints:" in l]
    if p.returncode != 0:
        print("FAILED (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-3000:]))
    return dt, p.returncode, fp[0] if fp else ""


def main():
    nsd, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    weights = os.path.join(work, "model.safetensors")
    with open(weights, "wb") as f:
        f.truncate(1_710_000_000)  # ViT-L/14's vision tower in float32, as a hole
    wf = os.path.join(work, "nsd_study.yaml")
    with open(wf, "w") as f:
        f.write(workflow(nsd, weights))
    rows = []
    for spec in sys.argv[3:]:
        bindir, _, label = spec.partition("=")
        label = label or bindir
        exe = os.path.join(os.path.abspath(bindir), "bmc-workflow")
        results = os.path.join(work, "results-" + label.replace("/", "_"))
        subprocess.run(["rm", "-rf", results])
        base = [exe, "run", wf, "--results", results]
        t1 = timed(base + ["--dry-run"], work)
        t2 = timed(base + ["--dry-run"], work)
        t3 = timed(base + ["--launcher", os.path.join(HERE, "stand_in.py")], work)
        t4 = timed(base, work)
        rows.append((label, t1, t2, t3, t4))
        print("%s: first --dry-run %.1f s, second --dry-run %.1f s, stand-in run %.1f s, "
              "nothing-to-do run %.1f s" % (label, t1[0], t2[0], t3[0], t4[0]), flush=True)
        for what, t in (("first", t1), ("second", t2), ("stand-in", t3), ("no-op", t4)):
            if t[2]:
                print("  %-8s %s" % (what, t[2]))
    print("\n| build | first `--dry-run` | second `--dry-run` | run, nothing out of date |")
    print("|---|---|---|---|")
    for label, t1, t2, _t3, t4 in rows:
        print("| %s | %.1f s | %.1f s | %.1f s |" % (label, t1[0], t2[0], t4[0]))


if __name__ == "__main__":
    main()
