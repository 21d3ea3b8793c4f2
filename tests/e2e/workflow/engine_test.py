#!/usr/bin/python3
"""engine_test.py — behaviour of bmc-workflow with a fake stage program (fake_stage.py).

usage: engine_test.py BMC_WORKFLOW SCENARIO

Each scenario writes a 4-stage workflow (stimuli → fmri foreach subjects on 2 ranks →
evaluate foreach subject_pairs → summary) into a fresh temporary folder, runs bmc-workflow
there under `mpiexec -n {tasks}`, and checks what ran (a journal the fake stage appends to),
the execution trace, the progress lines, the plan of --dry-run and the files written.
Scenarios: first_run_then_skip, pipeline_info, param_change, force, delete_output,
inputs_and_version, dry_run, failure, missing_output.
Not here: bad workflows (check_error.py), real stages (the demo workflow's test).
"""
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_stage.py")
PYTHON = "/usr/bin/python3"
RUN_DIR = "results/enginetest"
ORDER = ["stimuli", "fmri[1]", "fmri[2]", "evaluate[1,1]", "evaluate[1,2]", "evaluate[2,1]",
         "evaluate[2,2]", "summary"]
TRACE_HEADER = ["instance", "status", "exit_code", "start", "end", "wall_s", "ranks",
                "cpus_per_task", "fingerprint", "log"]

TEMPLATE = """\
workflow: enginetest
description: fake stages for the engine tests
subjects: [1, 2]
launcher: "mpiexec -n {tasks}"
stages:
  stimuli:
    run: @PY@ @FAKE@ --mode stimuli
    inputs: {design: ./design.txt}
    outputs: {images: "{run_dir}/stimuli.txt"}
    params: {seed: 1}
  fmri:
    run: @PY@ @FAKE@
    foreach: subjects
    inputs: {images: "{run_dir}/stimuli.txt"}
    outputs: {betas: "{run_dir}/fmri/sub{subject:02d}.txt"}
    params: {noise: 0.5, label: "subject {subject}", subject: "{subject}"}
    resources: {tasks: 2, cpus_per_task: 2}
  evaluate:
    run: @PY@ @FAKE@
    foreach: subject_pairs
    inputs: {betas: "{run_dir}/fmri/sub{test:02d}.txt", model: "{run_dir}/fmri/sub{train:02d}.txt"}
    outputs: {scores: "{run_dir}/eval/{train}_{test}"}
    params: {folders: [scores], metric: @METRIC@, fail: @FAIL@}
  summary:
    run: @PY@ @FAKE@
    inputs:
      evals: ["{run_dir}/eval/1_1", "{run_dir}/eval/1_2", "{run_dir}/eval/2_1", "{run_dir}/eval/2_2"]
    outputs: {report: "{run_dir}/summary.txt", table: "{run_dir}/summary.tsv"}
    params: {skip_output: @SKIP@}
"""

FAILURES = []


def check(cond, what):
    """Record a failed expectation (the test goes on to report everything it finds)."""
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what)
    return cond


class Result:
    def __init__(self, rc, out, err, ran, traces):
        self.rc, self.out, self.err, self.ran, self.traces = rc, out, err, ran, traces

    def trace(self):
        """Rows of the one trace file this run wrote."""
        check(len(self.traces) == 1, "expected one new trace file, got %s" % self.traces)
        with open(self.traces[0], newline="") as f:
            rows = list(csv.reader(f, delimiter="\t"))
        check(rows and rows[0] == TRACE_HEADER, "trace header is %s" % (rows[:1],))
        return [dict(zip(TRACE_HEADER, r)) for r in rows[1:]]

    def statuses(self):
        return {r["instance"]: r["status"] for r in self.trace()}

    def plan(self):
        """{instance: (action, reason)} from --dry-run's stdout."""
        out = {}
        for line in self.out.splitlines():
            m = re.match(r"(run|skip) +(\S+) +(.*)$", line)
            if check(m, "plan line %r" % line):
                out[m.group(2)] = (m.group(1), m.group(3))
        return out


class Sandbox:
    def __init__(self, exe, tmp):
        self.exe, self.tmp = exe, tmp
        self.journal = os.path.join(tmp, "journal.jsonl")
        self.info = os.path.join(tmp, RUN_DIR, "pipeline_info")
        with open(os.path.join(tmp, "design.txt"), "w") as f:
            f.write("design v1\n")
        self.write_workflow()
        self.env = dict(os.environ, FAKE_STAGE_JOURNAL=self.journal)

    def path(self, rel):
        return os.path.join(self.tmp, rel)

    def write_workflow(self, metric="top1", fail="false", skip="null"):
        text = (TEMPLATE.replace("@PY@", PYTHON).replace("@FAKE@", FAKE)
                .replace("@METRIC@", metric).replace("@FAIL@", fail).replace("@SKIP@", skip))
        with open(self.path("wf.yaml"), "w") as f:
            f.write(text)

    def run(self, *args, expect_rc=0, env=None):
        before = set(glob.glob(os.path.join(self.info, "execution_trace_*")))
        if os.path.exists(self.journal):
            os.remove(self.journal)
        cmd = [self.exe, "run", "wf.yaml"] + list(args)
        p = subprocess.run(cmd, cwd=self.tmp, capture_output=True, text=True, timeout=120,
                           env=env or self.env)
        ran = []
        if os.path.exists(self.journal):
            with open(self.journal) as f:
                ran = [json.loads(line) for line in f]
        after = set(glob.glob(os.path.join(self.info, "execution_trace_*")))
        print("$ bmc-workflow run wf.yaml %s -> %d" % (" ".join(args), p.returncode))
        print(p.stderr, end="")
        print(p.stdout, end="")
        check(p.returncode == expect_rc, "exit status %d, expected %d" % (p.returncode, expect_rc))
        return Result(p.returncode, p.stdout, p.stderr, ran, sorted(after - before))


def names(result):
    return [r["instance"] for r in result.ran]


def progress(result):
    """{instance: [progress texts]} from the `[k/8] name: text` lines on stderr."""
    out = {}
    for m in re.finditer(r"\[(\d+)/8\] (\S+): (.*)$", result.err, re.M):
        out.setdefault(m.group(2), []).append((int(m.group(1)), m.group(3)))
    return out


def read(path):
    with open(path) as f:
        return f.read()


# ---- scenarios --------------------------------------------------------------------------

def closing_times(r, wall):
    """Check the closing line's run time against the stages' and the measured wall time;
    returns the stages' "done in" times."""
    done = [float(x) for x in re.findall(r"\] \S+: done in (\d+\.\d) s", r.err)]
    m = re.search(r"finished in (\d+\.\d) s \((\d+\.\d) s of it planning\)", r.err)
    if check(m, "closing line with the run time"):
        total, plan = float(m.group(1)), float(m.group(2))
        check(sum(done) + plan - 0.05 * (len(done) + 1) <= total <= wall + 0.05 and total > 0,
              "run time %.1f s: stages %.1f s + planning %.1f s, measured %.2f s"
              % (total, sum(done), plan, wall))
    return done


def first_run_then_skip(sb):
    with open(sb.path("wf.yaml")) as f:
        text = f.read()
    with open(sb.path("wf.yaml"), "w") as f:  # a stage that takes a known time
        f.write(text.replace("params: {seed: 1}", "params: {seed: 1, slow: 0.4}", 1))
    t0 = time.monotonic()
    r = sb.run()
    done = closing_times(r, time.monotonic() - t0)
    check(done and done[0] >= 0.4, "stimuli slept 0.4 s: done in %s" % done[:1])
    check(names(r) == ORDER, "first run ran %s" % names(r))
    check(all(s == "COMPLETED" for s in r.statuses().values()) and len(r.statuses()) == 8,
          "first run statuses %s" % r.statuses())
    prog = progress(r)
    check(prog.get("fmri[1]", [(0, "")])[0] == (2, "running on 2 ranks (outputs missing: "
                                                "results/enginetest/fmri/sub01.txt)"),
          "progress of fmri[1]: %s" % prog.get("fmri[1]"))
    check(re.match(r"done in \d+\.\d s$", prog.get("summary", [(0, ""), (0, "")])[-1][1]),
          "summary's done line")
    fmri = [j for j in r.ran if j["instance"].startswith("fmri")]
    check(all(j["ranks"] == 2 and j["omp"] == "2" and j["openblas"] == "2" for j in fmri),
          "fmri ran on 2 ranks with 2 threads: %s" % fmri)
    check(all(j["ranks"] == 1 and j["omp"] == "1" for j in r.ran if j not in fmri),
          "other stages ran on 1 rank with 1 thread")
    check(r.ran[0]["args"] == ["--mode", "stimuli"], "stimuli's fixed args: %s" % r.ran[0])
    check(not glob.glob(os.path.join(sb.info, "*.partial")), "no .partial trace left")
    for inst, rel in [("fmri[1]", "fmri/sub01.txt"), ("evaluate[1,2]", "eval/1_2"),
                      ("summary", "summary.tsv")]:
        side = sb.path(os.path.join(RUN_DIR, rel + ".fingerprint"))
        fp = [row["fingerprint"] for row in r.trace() if row["instance"] == inst][0]
        check(os.path.exists(side) and read(side).splitlines()[0] == fp,
              "sidecar of %s holds the trace's fingerprint" % rel)
    check(read(sb.path(RUN_DIR + "/eval/1_2.fingerprint")).splitlines()[1:] == ["file result.txt"],
          "a folder's sidecar lists what the stage wrote in it")
    check("input betas" in read(sb.path(RUN_DIR + "/eval/1_2/result.txt")), "folder output")
    t0 = time.monotonic()
    r2 = sb.run()
    closing_times(r2, time.monotonic() - t0)
    check(names(r2) == [], "second run ran %s" % names(r2))
    check(r2.statuses() == {i: "SKIPPED" for i in ORDER}, "second run statuses %s" % r2.statuses())
    check(all(row["exit_code"] == "-" for row in r2.trace()), "skipped rows have no exit code")
    check(progress(r2).get("fmri[2]") == [(3, "up to date, skipped")],
          "progress of fmri[2]: %s" % progress(r2).get("fmri[2]"))


def pipeline_info(sb):
    r = sb.run()
    info = sb.info
    check(read(os.path.join(info, "workflow.yaml")) == read(sb.path("wf.yaml")),
          "workflow.yaml is a copy of the workflow")
    trace = {row["instance"]: row for row in r.trace()}
    resolved = yaml.safe_load(read(os.path.join(info, "config_resolved.yaml")))
    insts = resolved["instances"]
    check([i["instance"] for i in insts] == ORDER, "config_resolved order")
    check(all(i["fingerprint"] == trace[i["instance"]]["fingerprint"] for i in insts),
          "config_resolved fingerprints match the trace")
    fmri1 = insts[1]
    check(fmri1["outputs"] == {"betas": RUN_DIR + "/fmri/sub01.txt"} and
          fmri1["params"] == {"noise": 0.5, "label": "subject 1", "subject": 1} and
          fmri1["resources"] == {"tasks": 2, "cpus_per_task": 2, "mem_mb": 1000,
                                 "runtime": 60} and
          fmri1["executable"] == PYTHON, "config_resolved fmri[1]: %s" % fmri1)
    versions = yaml.safe_load(read(os.path.join(info, "software_versions.yaml")))
    own = subprocess.run([sb.exe, "--version"], capture_output=True, text=True).stdout.split()
    check(versions["bmc-workflow"] == {"version": own[1], "commit": own[2].strip("()")},
          "software_versions bmc-workflow: %s vs %s" % (versions.get("bmc-workflow"), own))
    check(versions["executables"] == {PYTHON + " " + FAKE + " --mode stimuli": "fake_stage 1.0",
                                      PYTHON + " " + FAKE: "fake_stage 1.0"},
          "software_versions executables: %s" % versions.get("executables"))
    check(versions["launcher"].startswith("mpiexec"), "launcher version %s" % versions["launcher"])
    check(re.match(r"\d+\.\d+\.\d+$", versions["hdf5"]), "hdf5 version %s" % versions["hdf5"])
    for inst in insts:
        fname = inst["instance"].replace("[", "-").replace(",", "-").replace("]", "")
        cfg = yaml.safe_load(read(os.path.join(info, "stages", fname + ".yaml")))
        check(list(cfg) == ["stage", "instance", "fingerprint", "inputs", "outputs", "params",
                            "resources", "hash_cache"],
              "stage config keys of %s: %s" % (fname, list(cfg)))
        check(cfg["hash_cache"] == "results/.bmc-hash-cache", "hash_cache of %s" % fname)
        check(cfg["fingerprint"] == inst["fingerprint"] and cfg["inputs"] == inst["inputs"],
              "stage config of %s matches config_resolved" % fname)
        log = sb.path(os.path.join(RUN_DIR, "logs", fname + ".log"))
        check(trace[inst["instance"]]["log"] == os.path.join(RUN_DIR, "logs", fname + ".log")
              and "fake_stage: %s rank 0" % inst["instance"] in read(log), "log of " + fname)
    summary = yaml.safe_load(read(os.path.join(info, "stages", "summary.yaml")))
    check(summary["inputs"] == {"evals": [RUN_DIR + "/eval/%s" % p
                                          for p in ("1_1", "1_2", "2_1", "2_2")]},
          "list input in the stage config: %s" % summary["inputs"])
    check(all(trace[i]["ranks"] == ("2" if i.startswith("fmri") else "1") for i in ORDER),
          "trace ranks")
    check(all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", trace[i]["start"]) and
              float(trace[i]["wall_s"]) > 0 and trace[i]["exit_code"] == "0" for i in ORDER),
          "trace times and exit codes")
    check(re.search(r"execution_trace_\d{8}T\d{6}Z(_\d+)?\.tsv$", r.traces[0]),
          "trace file name %s" % r.traces[0])


def param_change(sb):
    sb.run()
    sb.write_workflow(metric="top5")
    plan = sb.run("--dry-run").plan()
    downstream = ORDER[3:]
    check(all(plan[i] == ("run", 'changed: param metric: "top1" → "top5"') for i in ORDER[3:7])
          and plan["summary"] == ("run", "changed: input evals (from upstream)") and
          all(plan[i] == ("skip", "up to date") for i in ORDER[:3]), "plan %s" % plan)
    r = sb.run()
    check(names(r) == downstream, "changing evaluate's params reran %s" % names(r))
    st = r.statuses()
    check(all(st[i] == "SKIPPED" for i in ORDER[:3]) and
          all(st[i] == "COMPLETED" for i in downstream), "statuses %s" % st)
    check(names(sb.run()) == [], "nothing reruns after that")


def force(sb):
    sb.run()
    plan = sb.run("--dry-run", "--force", "fmri").plan()
    expect = {"stimuli": ("skip", "up to date"), "fmri[1]": ("run", "forced"),
              "fmri[2]": ("run", "forced")}
    expect.update({i: ("run", "forced upstream") for i in ORDER[3:]})
    check(plan == expect, "plan with --force fmri: %s" % plan)
    r = sb.run("--force", "fmri")
    check(names(r) == ORDER[1:], "--force fmri reran %s" % names(r))
    check(names(sb.run()) == [], "forced reruns keep the fingerprints: nothing reruns after")
    plan = sb.run("--dry-run", "--force=summary", "--force", "stimuli").plan()
    check(plan == {i: ("run", "forced upstream" if i.startswith(("fmri", "eval")) else "forced")
                   for i in ORDER}, "plan with --force=summary --force stimuli: %s" % plan)


def delete_output(sb):
    sb.run()
    os.remove(sb.path(RUN_DIR + "/fmri/sub02.txt"))
    os.remove(sb.path(RUN_DIR + "/eval/1_1.fingerprint"))
    with open(sb.path(RUN_DIR + "/summary.txt.fingerprint"), "w") as f:
        f.write("0" * 64 + "\n")
    r = sb.run("--dry-run", expect_rc=2)
    check("error: %s:22:23: output 'scores' of 'evaluate[1,1]' (results/enginetest/eval/1_1) "
          "exists and carries no brainmclip stamp" % sb.path("wf.yaml") in r.err or
          "error: wf.yaml:22:23: output 'scores' of 'evaluate[1,1]' (results/enginetest/eval/1_1) "
          "exists and carries no brainmclip stamp" in r.err,
          "an output without its stamp is refused at its position")
    shutil.rmtree(sb.path(RUN_DIR + "/eval/1_1"))
    plan = sb.run("--dry-run").plan()
    check(plan["fmri[2]"] == ("run", "outputs missing: results/enginetest/fmri/sub02.txt") and
          plan["evaluate[1,1]"] == ("run", "outputs missing: results/enginetest/eval/1_1") and
          plan["summary"] == ("run", "fingerprint changed") and
          sum(a == "run" for a, _ in plan.values()) == 3, "plan %s" % plan)
    r = sb.run("--launcher", "")
    check(names(r) == ["fmri[2]", "evaluate[1,1]", "summary"], "reran %s" % names(r))
    check(r.ran[0]["ranks"] == 1, "--launcher '' runs the stage directly: %s" % r.ran[0])
    check(os.path.exists(sb.path(RUN_DIR + "/fmri/sub02.txt")), "fmri[2] rewrote its output")
    check(names(sb.run()) == [], "nothing reruns after that")


def inputs_and_version(sb):
    sb.run()
    with open(sb.path("design.txt"), "w") as f:
        f.write("design v2\n")
    plan = sb.run("--dry-run").plan()
    check(plan["stimuli"] == ("run", "changed: input design (content)") and
          all(plan[i][0] == "run" and "(from upstream)" in plan[i][1] for i in ORDER[1:]),
          "an external input change reruns everything: %s" % plan)
    with open(sb.path("design.txt"), "w") as f:
        f.write("design v1\n")
    check(names(sb.run()) == [], "back to the first content: nothing reruns")
    env = dict(sb.env, FAKE_STAGE_VERSION="2.0")
    plan = sb.run("--dry-run", env=env).plan()
    check(all(plan[i][0] == "run" and plan[i][1].startswith("changed: program version")
              for i in ORDER), "a new program version reruns everything: %s" % plan)


def dry_run(sb):
    before = sorted(os.listdir(sb.tmp))
    r = sb.run("--dry-run")
    plan = r.plan()
    check(list(plan) == ORDER, "plan order %s" % list(plan))
    check(plan["evaluate[2,1]"] == ("run", "outputs missing: results/enginetest/eval/2_1"),
          "plan %s" % plan)
    made = set(os.listdir(sb.tmp)) - set(before)
    check(not made or (made == {"results"} and set(os.listdir(sb.path("results"))) <=
                       {".bmc-hash-cache", ".bmc-hash-cache.lock"}),
          "--dry-run created nothing but the hash cache: %s" % sorted(made))
    check(r.ran == [], "--dry-run ran stages")
    sb.run()
    def files():
        return sorted((os.path.relpath(os.path.join(d, f), sb.tmp),
                       os.stat(os.path.join(d, f)).st_mtime_ns)
                      for d, _, fs in os.walk(sb.tmp) for f in fs
                      if f not in ("journal.jsonl", ".bmc-hash-cache"))
    snapshot = files()
    r = sb.run("--dry-run", "--results", "results", "--run", "enginetest")
    check(all(v == ("skip", "up to date") for v in r.plan().values()), "plan %s" % r.plan())
    after = files()
    check(after == snapshot, "--dry-run after a run created %s" % (set(after) - set(snapshot)))
    r = sb.run("--dry-run", "--run", "other")
    check(all(a == "run" and "results/other/" in why for a, why in r.plan().values()),
          "--run other plans into results/other: %s" % r.plan())


def failure(sb):
    sb.write_workflow(fail='"evaluate[1,2]"')
    r = sb.run(expect_rc=1)
    check(names(r) == ORDER[:5], "ran until the failure: %s" % names(r))
    lines = r.err.splitlines()
    err_at = [k for k, l in enumerate(lines) if l.startswith("error: ")]
    check(err_at and lines[err_at[0]] == "error: stage 'evaluate[1,2]' failed with exit code 3: "
          "evaluate[1,2]: failing on purpose (params.fail)",
          "the error line carries the stage's own error")
    check(err_at and lines[err_at[0] + 1] ==
          "  hint: set fail: false; see its log: results/enginetest/logs/evaluate-1-2.log",
          "the hint line carries the stage's hint and the log")
    check("fake_stage: failing on purpose" in r.err and "log line 14" in r.err and
          "log line 3\n" not in r.err, "the log's last lines are shown")
    check(not any(re.search(r"\[\d/8\] (evaluate\[2,1\]|summary)", l) for l in lines),
          "later instances were not started")
    check(not os.path.exists(sb.path(RUN_DIR + "/eval/2_1")), "later outputs absent")
    rows = r.trace()
    check([(x["instance"], x["status"], x["exit_code"]) for x in rows] ==
          [(i, "COMPLETED", "0") for i in ORDER[:4]] + [("evaluate[1,2]", "FAILED", "3")],
          "trace of the failed run: %s" % rows)
    check(not glob.glob(os.path.join(sb.info, "*.partial")), "the trace was renamed")
    check(not os.path.exists(sb.path(RUN_DIR + "/eval/1_2.fingerprint")),
          "no sidecar for a failed instance")
    sb.write_workflow()
    r = sb.run()
    check(names(r) == ORDER[3:], "after the fix, reran %s" % names(r))


def missing_output(sb):
    sb.write_workflow(skip="table")
    r = sb.run(expect_rc=1)
    check("error: stage 'summary' did not write output 'table' (results/enginetest/summary.tsv)"
          in r.err, "missing output is reported")
    rows = r.trace()
    check(rows[-1]["instance"] == "summary" and rows[-1]["status"] == "FAILED" and
          rows[-1]["exit_code"] == "0", "trace row %s" % rows[-1])
    check(read(sb.path(RUN_DIR + "/summary.txt.fingerprint")).splitlines()[0] == "pending",
          "what a failed instance wrote is stamped as its own, without a fingerprint")
    sb.write_workflow()
    check(names(sb.run()) == ["summary"], "only summary reruns")


SCENARIOS = {f.__name__: f for f in [first_run_then_skip, pipeline_info, param_change, force,
                                     delete_output, inputs_and_version, dry_run, failure,
                                     missing_output]}


def main():
    exe, scenario = os.path.abspath(sys.argv[1]), sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="bmc-engine-") as tmp:
        SCENARIOS[scenario](Sandbox(exe, tmp))
    print("%s: %s" % (scenario, "FAIL (%d)" % len(FAILURES) if FAILURES else "PASS"))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
