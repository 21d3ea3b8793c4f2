#!/usr/bin/env python3
"""check_demo.py — the demo workflow end to end through bmc-workflow.

1. A first run completes every stage instance and writes pipeline_info/.
2. A second run skips every instance (outputs carry the fingerprints they would get), and so
   does a run with other values of speed-only params (batch size, memory budgets).
3. A changed parameter of one stage reruns that stage and exactly what depends on it.
4. Every HDF5 output carries format, provenance and the instance's fingerprint.
5. The evaluation matrix: on the synthetic subjects (detail lives in low-level voxels) the
   fused decoder beats the semantic-only decoder on the detail-sensitive metrics (PixCorr and
   SSIM of the retrieval-based reconstructions, averaged over the subject pairs), and every
   pair's retrieval is above chance.

usage: check_demo.py BMC_WORKFLOW_EXE WORKFLOW_YAML
"""
import csv, glob, json, os, re, subprocess, sys, tempfile, time

import h5py
import yaml

exe, workflow = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what, flush=True)


def run(wf, results, *extra):
    t0 = time.monotonic()
    p = subprocess.run([exe, "run", wf, "--results", results, *extra], capture_output=True,
                       text=True, timeout=800)
    print(f"run {os.path.basename(wf)} {' '.join(extra)}: exit {p.returncode} in "
          f"{time.monotonic() - t0:.1f} s", flush=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
    return p


def last_trace(run_dir):
    traces = sorted(glob.glob(os.path.join(run_dir, "pipeline_info", "execution_trace_*.tsv")),
                    key=os.path.getmtime)
    if not traces:
        return {}
    with open(traces[-1]) as f:
        return {r["instance"]: r for r in csv.DictReader(f, delimiter="\t")}


def instances(run_dir):
    """(instance name, stage, input paths, output paths) of every stage instance, in order,
    from the run's config_resolved.yaml (the engine's own expansion: foreach, input lists
    over subjects, placeholders)."""
    with open(os.path.join(run_dir, "pipeline_info", "config_resolved.yaml")) as f:
        resolved = yaml.safe_load(f)
    out = []
    for inst in resolved["instances"]:
        flat = [x for v in inst["inputs"].values() for x in (v if isinstance(v, list) else [v])]
        ins = [os.path.normpath(p) for p in flat]
        outs = [os.path.normpath(p) for p in inst["outputs"].values()]
        out.append((inst["instance"], inst["stage"], ins, outs))
    return out


def downstream_of(insts, stage):
    hit = {i for i, s, _, _ in insts if s == stage}
    changed = True
    while changed:
        changed = False
        produced = {o for i, _, _, outs in insts if i in hit for o in outs}
        for i, _, ins, _ in insts:
            if i not in hit and produced.intersection(ins):
                hit.add(i)
                changed = True
    return hit


with open(workflow) as f:
    wf = yaml.safe_load(f)

with tempfile.TemporaryDirectory() as tmp:
    results = os.path.join(tmp, "results")
    run_dir = os.path.join(results, wf["workflow"])

    p = run(workflow, results)
    check(p.returncode == 0, "first run succeeds")
    insts = instances(run_dir)
    names = [i for i, _, _, _ in insts]
    trace = last_trace(run_dir)
    check(sorted(trace) == sorted(names), f"trace lists every instance: {sorted(trace)}")
    check(all(r["status"] == "COMPLETED" for r in trace.values()), "first run completes all")
    for f_ in ("workflow.yaml", "config_resolved.yaml", "software_versions.yaml"):
        check(os.path.isfile(os.path.join(run_dir, "pipeline_info", f_)), f"pipeline_info/{f_}")
    for inst, _, _, outs in insts:
        for o in outs:
            check(os.path.exists(o), f"{inst} wrote {o}")
            check(not glob.glob(o + ".partial"), f"no partial for {o}")
            if o.endswith((".h5", ".hdf5")) and os.path.isfile(o):
                with h5py.File(o, "r") as h:
                    a = h.attrs
                    check(str(a.get("format", "")).startswith("bmc."), f"{o}: format")
                    check(len(str(a.get("stage_fingerprint", ""))) == 64, f"{o}: fingerprint")
                    check(trace.get(inst, {}).get("fingerprint") == a.get("stage_fingerprint"),
                          f"{o}: fingerprint equals the trace's")

    evals = sorted(glob.glob(os.path.join(run_dir, "eval", "eval_*.json")))
    check(len(evals) == len(wf.get("subjects", [])) ** 2 or "evaluate" not in wf["stages"],
          f"one eval JSON per subject pair: {evals}")
    if evals:
        table = {}
        for e in evals:
            m = json.load(open(e))["metrics"]
            table[os.path.basename(e)] = m
            for b in ("detail", "semantic", "fused"):
                summary = json.load(open(e))
                way = summary["way"]
                check(way == summary["way_requested"], f"{e}: way {way} is the one asked for")
                check(m[b]["retrieval_image"]["mean"] > 2.0 / way,
                      f"{e}: {b} image retrieval above chance ({m[b]['retrieval_image']['mean']})")
        print("pair                        branch    PixCorr   SSIM   two-way  retrieval")
        for k, m in table.items():
            for b in ("detail", "semantic", "fused"):
                print(f"{k:27s} {b:9s} {m[b]['pixcorr']:.4f}  {m[b]['ssim']:.4f}  "
                      f"{m[b]['two_way']:.4f}  {m[b]['retrieval_image']['mean']:.4f}")
        for metric in ("pixcorr", "ssim"):
            fused = sum(m["fused"][metric] for m in table.values()) / len(table)
            sem = sum(m["semantic"][metric] for m in table.values()) / len(table)
            check(fused > sem, f"fused beats semantic-only on {metric}: {fused:.4f} vs {sem:.4f}")

    time.sleep(1.1)  # a new trace file name (timestamped to the second)
    p = run(workflow, results)
    check(p.returncode == 0, "second run succeeds")
    trace = last_trace(run_dir)
    check(all(r["status"] == "SKIPPED" for r in trace.values()) and len(trace) == len(names),
          f"second run skips every instance: {[(k, r['status']) for k, r in trace.items()]}")

    # Speed-only params (docs/WORKFLOWS.md) change no fingerprint: nothing reruns.
    wf_speed = yaml.safe_load(open(workflow))
    speed = {"clip_features": ("batch_size", 4), "train_detail": ("mem_per_rank", "300M"),
             "evaluate": ("mem_per_rank", "300M")}
    for stage, (key, value) in speed.items():
        if stage in wf_speed["stages"]:
            wf_speed["stages"][stage].setdefault("params", {})[key] = value
    speed_path = os.path.join(tmp, "speed.yaml")
    with open(speed_path, "w") as f:
        yaml.safe_dump(wf_speed, f, sort_keys=False)
    time.sleep(1.1)
    p = run(speed_path, results)
    trace = last_trace(run_dir)
    check(p.returncode == 0 and all(r["status"] == "SKIPPED" for r in trace.values()),
          f"speed-only param changes rerun nothing: {[(k, r['status']) for k, r in trace.items()]}")

    # Change one parameter of the first stage that has a seed (else the first stage).
    stage = next((s for s, st in wf["stages"].items() if "seed" in (st.get("params") or {})),
                 next(iter(wf["stages"])))
    wf2 = yaml.safe_load(open(workflow))
    wf2["stages"][stage].setdefault("params", {})["seed"] = int(wf2["stages"][stage]["params"].get("seed", 0)) + 1
    wf2_path = os.path.join(tmp, "changed.yaml")
    with open(wf2_path, "w") as f:
        yaml.safe_dump(wf2, f, sort_keys=False)
    time.sleep(1.1)
    p = run(wf2_path, results)
    check(p.returncode == 0, "run with a changed parameter succeeds")
    trace = last_trace(run_dir)
    expect = downstream_of(insts, stage)
    for inst in names:
        want = "COMPLETED" if inst in expect else "SKIPPED"
        got = trace.get(inst, {}).get("status")
        check(got == want, f"after changing {stage}.seed: {inst} is {got}, expected {want}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
