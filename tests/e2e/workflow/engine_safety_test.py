#!/usr/bin/python3
"""engine_safety_test.py — bmc-workflow at study scale, with the fake stage (fake_stage.py):
validation before anything runs, cached fingerprints, precise reruns, and no data destroyed.

usage: engine_safety_test.py BMC_WORKFLOW SCENARIO

Scenarios (each in a fresh temporary folder, on engine_test.py's Sandbox):
  stage_typo       a params typo fails before any stage runs, at the workflow's line:col
  speed_only       a speed-only param changes nothing; a result param reruns
  force_instance   --force fmri[1] reruns that instance and what depends on it
  exe_hash         an edited stage script reruns what uses it, and says so
  hash_cache       a second plan reads no file; a changed byte (same size and mtime) is seen
  folder_reads     only the files a stage declares it reads of a folder input count
  symlink_loop     a link loop in a folder input is an error, not an endless walk
  subjects_added   a new subject adds its instances and reruns only what lists all subjects
  user_files       outputs over a user's file or folder, inside an output folder, under
                   another spelling (link, ./, ..) of an input, of another instance's output
                   or of the workflow: refused, files intact
  names_inside     run, workflow and subject names that would lead out of the results
                   folder ('..', '../x', 'a/b') are refused before anything is made
  lock             a second run on a run directory refuses; a killed run's stale lock is
                   reported and cleared with `bmc-workflow unlock`
  race             two runs started together on one run directory, 20 times: never a
                   committed torn output
  records          pipeline_info/instances/*.json after a run and after a failure
Not here: the engine's basic behaviour (engine_test.py), real stages (stages_test.py).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engine_test as et  # noqa: E402
from engine_test import FAKE, ORDER, PYTHON, RUN_DIR, check, names, read  # noqa: E402


def edit(sb, old, new):
    """Replace text in the sandbox's workflow (once, checked)."""
    text = read(sb.path("wf.yaml"))
    check(old in text, "workflow holds %r" % old)
    with open(sb.path("wf.yaml"), "w") as f:
        f.write(text.replace(old, new, 1))


def line_col(sb, needle):
    """1-based line and column of needle's first occurrence in the workflow."""
    for k, line in enumerate(read(sb.path("wf.yaml")).splitlines()):
        if needle in line:
            return k + 1, line.index(needle) + 1
    return 0, 0


def first_error(result):
    lines = result.err.splitlines()
    at = [k for k, l in enumerate(lines) if l.startswith("error: ")]
    return (lines[at[0]], lines[at[0] + 1] if at[0] + 1 < len(lines) else "") if at else ("", "")


def output_ok(path):
    """A fake stage output is whole: its last line is the SHA-256 of the lines before."""
    if os.path.isdir(path):
        path = os.path.join(path, "result.txt")
    text = read(path)
    body, _, last = text.rstrip("\n").rpartition("\n")
    import hashlib
    return last == "sha256 " + hashlib.sha256((body + "\n").encode()).hexdigest()


# ---- scenarios ----------------------------------------------------------------------------

def stage_typo(sb):
    edit(sb, "params: {noise: 0.5,", "params: {noize: 0.5,")
    line, col = line_col(sb, "noize")
    for args in (["--dry-run"], []):
        r = sb.run(*args, expect_rc=2)
        err, hint = first_error(r)
        check(err == "error: wf.yaml:%d:%d: unknown key 'noize' in fake params (fmri[1])"
              % (line, col), "the typo is reported at the workflow's key: %r" % err)
        check(hint == "  hint: did you mean 'noise'?", "nearest key as hint: %r" % hint)
        check(r.ran == [], "no stage ran")
        check(not os.path.exists(sb.path(RUN_DIR)), "nothing created")


def speed_only(sb):
    sb.run()
    edit(sb, "metric: top1,", "metric: top1, batch: 64,")
    plan = sb.run("--dry-run").plan()
    check(all(a == "skip" for a, _ in plan.values()), "a speed-only param reruns nothing: %s" % plan)
    check(names(sb.run()) == [], "and the run runs nothing")
    resolved = yaml.safe_load(read(os.path.join(sb.info, "config_resolved.yaml")))
    check(resolved["instances"][3]["speed_only"] == ["batch", "slow"] and
          resolved["instances"][3]["params"]["batch"] == 64,
          "config_resolved lists the speed-only keys and keeps the value")
    edit(sb, "noise: 0.5,", "noise: 0.25,")
    plan = sb.run("--dry-run").plan()
    check(plan["fmri[1]"] == ("run", "changed: param noise: 0.5 → 0.25"), "plan %s" % plan)


def force_instance(sb):
    sb.run()
    plan = sb.run("--dry-run", "--force", "fmri[1]").plan()
    want = {"fmri[1]": "forced", "evaluate[1,1]": "forced upstream",
            "evaluate[1,2]": "forced upstream", "evaluate[2,1]": "forced upstream",
            "summary": "forced upstream"}
    check({i: why for i, (a, why) in plan.items() if a == "run"} == want, "plan %s" % plan)
    r = sb.run("--force", "fmri[1]")
    check(names(r) == [i for i in ORDER if i in want], "ran %s" % names(r))
    r = sb.run("--dry-run", "--force", "fmri[3]", expect_rc=2)
    err, hint = first_error(r)
    check("--force names 'fmri[3]'" in err and "did you mean 'fmri[1]'" in hint,
          "an unknown instance: %r %r" % (err, hint))


def exe_hash(sb):
    script = sb.path("stage.py")
    shutil.copy(FAKE, script)
    edit(sb, "run: %s %s --mode stimuli" % (PYTHON, FAKE), "run: %s %s --mode stimuli" % (PYTHON, script))
    sb.run()
    with open(script, "a") as f:
        f.write("# an edit that changes no version\n")
    plan = sb.run("--dry-run").plan()
    check(plan["stimuli"] == ("run", "changed: program %s changed" % script) and
          all(plan[i] == ("run", "changed: input images (from upstream)") for i in ("fmri[1]", "fmri[2]")),
          "an edited script reruns its stage and what follows: %s" % plan)


def hash_cache(sb):
    time.sleep(2.1)  # older than the cache's 2 s window: remembered from now on
    r = sb.run("--dry-run")
    r = sb.run("--dry-run")
    check(re.search(r"fingerprints: 0 files read \(0\.0 MB", r.err),
          "a second plan reads no file: %s" % re.findall(r"fingerprints: .*", r.err))
    sb.run()
    st = os.stat(sb.path("design.txt"))
    with open(sb.path("design.txt"), "r+") as f:
        f.write("D")  # same size
    os.utime(sb.path("design.txt"), ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    r = sb.run("--dry-run")
    check(r.plan()["stimuli"] == ("run", "changed: input design (content)"),
          "a changed byte is seen although size and mtime are the same: %s" % (r.plan()["stimuli"],))
    check(re.search(r"fingerprints: 1 file read", r.err), "only that file is read again")
    cache = read(sb.path("results/.bmc-hash-cache"))
    check(cache.startswith("bmc-hash-cache 1\n") and os.path.realpath(sb.path("design.txt")) in cache,
          "the cache is a text file in the results folder")


FOLDER_WF = """\
workflow: enginetest
subjects: [A, B]
stages:
  ingest:
    run: @PY@ @FAKE@
    foreach: subjects
    inputs: {data: ./nsd}
    outputs: {out: "{run_dir}/ingest_{subject}.txt"}
    params: {read_prefix: "sub{subject}/"}
"""


def folder_reads(sb):
    for s in "AB":
        os.makedirs(sb.path("nsd/sub%s" % s))
        with open(sb.path("nsd/sub%s/betas.dat" % s), "w") as f:
            f.write("subject %s\n" % s)
    with open(sb.path("wf.yaml"), "w") as f:
        f.write(FOLDER_WF.replace("@PY@", PYTHON).replace("@FAKE@", FAKE))
    sb.run()
    with open(sb.path("nsd/subB/betas.dat"), "a") as f:
        f.write("more\n")
    plan = sb.run("--dry-run").plan()
    check(plan == {"ingest[A]": ("skip", "up to date"),
                   "ingest[B]": ("run", "changed: input data: file subB/betas.dat changed")},
          "only the subject whose files changed reruns, naming the file: %s" % plan)
    with open(sb.path("nsd/unrelated.bin"), "w") as f:
        f.write("x")
    plan = sb.run("--dry-run").plan()
    check(plan["ingest[A]"] == ("skip", "up to date"), "a file no stage reads changes nothing")


def symlink_loop(sb):
    os.makedirs(sb.path("nsd/sub"))
    with open(sb.path("nsd/sub/a.dat"), "w") as f:
        f.write("a\n")
    os.symlink("..", sb.path("nsd/sub/loop"))
    with open(sb.path("wf.yaml"), "w") as f:
        f.write(FOLDER_WF.replace("@PY@", PYTHON).replace("@FAKE@", FAKE))
    env = dict(sb.env, FAKE_STAGE_NO_CHECK="1")  # no declared reads: the whole folder is hashed
    r = sb.run("--dry-run", expect_rc=2, env=env)
    err, _ = first_error(r)
    check("symbolic link loop: 'nsd/sub/loop' leads back to 'nsd'" in err and "wf.yaml:7:" in err,
          "the loop is named: %r" % err)


SUBJECTS_WF = """\
workflow: enginetest
subjects: @SUBJECTS@
stages:
  fmri:
    run: @PY@ @FAKE@
    foreach: subjects
    outputs: {betas: "{run_dir}/sub{subject}.txt"}
    params: {subject: "{subject}"}
  cohort:
    run: @PY@ @FAKE@
    inputs: {all: {foreach: subjects, path: "{run_dir}/sub{subject}.txt"}}
    outputs: {table: "{run_dir}/cohort.txt"}
    params: {subjects: "{subjects}"}
"""


def subjects_added(sb):
    def write(subjects):
        with open(sb.path("wf.yaml"), "w") as f:
            f.write(SUBJECTS_WF.replace("@PY@", PYTHON).replace("@FAKE@", FAKE)
                    .replace("@SUBJECTS@", subjects))
    write("[1, 2]")
    r = sb.run()
    check(names(r) == ["fmri[1]", "fmri[2]", "cohort"], "ran %s" % names(r))
    cfg = yaml.safe_load(read(os.path.join(sb.info, "stages", "cohort.yaml")))
    check(cfg["inputs"]["all"] == [RUN_DIR + "/sub1.txt", RUN_DIR + "/sub2.txt"] and
          cfg["params"]["subjects"] == [1, 2], "the lists over subjects: %s" % cfg)
    write("[1, 2, 3]")
    r = sb.run()
    check(names(r) == ["fmri[3]", "cohort"], "adding a subject ran %s" % names(r))


def user_files(sb):
    # A user's folder (with a file) where an output folder goes: refused, kept.
    os.makedirs(sb.path(RUN_DIR + "/eval/1_2"))
    with open(sb.path(RUN_DIR + "/eval/1_2/mine.txt"), "w") as f:
        f.write("mine\n")
    r = sb.run("--dry-run", expect_rc=2)
    err, hint = first_error(r)
    check("output 'scores' of 'evaluate[1,2]' (results/enginetest/eval/1_2) exists and carries "
          "no brainmclip stamp" in err and "move it away" in hint, "refused: %r" % err)
    check(sb.run(expect_rc=2).ran == [], "a run refuses it too, before any stage")
    check(read(sb.path(RUN_DIR + "/eval/1_2/mine.txt")) == "mine\n", "the user's file survives")
    shutil.rmtree(sb.path(RUN_DIR))
    # A user's file put into one of our output folders stops the rerun that would replace it.
    sb.run()
    with open(sb.path(RUN_DIR + "/eval/1_2/notes.txt"), "w") as f:
        f.write("my notes\n")
    r = sb.run("--force", "evaluate", expect_rc=2)
    err, _ = first_error(r)
    check("holds 'results/enginetest/eval/1_2/notes.txt', which brainmclip did not write there"
          in err and r.ran == [], "an extra file in an output folder: %r" % err)
    check(read(sb.path(RUN_DIR + "/eval/1_2/notes.txt")) == "my notes\n", "the notes survive")
    os.remove(sb.path(RUN_DIR + "/eval/1_2/notes.txt"))
    # Another spelling of an input, of another instance's output, the workflow file, the
    # run's own folders.
    os.symlink("design.txt", sb.path("alias.txt"))
    os.symlink(RUN_DIR, sb.path("runlink"))
    for old, new, what in [
            ('"{run_dir}/summary.txt"', '"runlink/fmri/sub01.txt"', "is output 'betas' of 'fmri[1]'"),
            ('"{run_dir}/summary.txt"', '"./results/x/../enginetest/eval/1_1"',
             "is output 'scores' of 'evaluate[1,1]'"),
            ('"{run_dir}/summary.txt"', '"./alias.txt"', "is input 'design' of 'stimuli'"),
            ('"{run_dir}/summary.txt"', '"results/../wf.yaml"', "is the workflow file"),
            ('"{run_dir}/summary.txt"', '"{run_dir}/logs/x.txt"', "lies in the run's logs/"),
            ('"{run_dir}/summary.txt"', '"{run_dir}/../.."', "would replace the run directory"),
            ('"{run_dir}/summary.txt"', '"{run_dir}/eval/1_1/x"',
             "lies inside output 'scores' of 'evaluate[1,1]'")]:
        sb.write_workflow()
        edit(sb, old, new)
        r = sb.run("--dry-run", expect_rc=2)
        check(what in first_error(r)[0], "%s: %r" % (new, first_error(r)[0]))
    check(read(sb.path("design.txt")) == "design v1\n" and os.path.exists(sb.path("wf.yaml")),
          "inputs and workflow intact")


def names_inside(sb):
    outside = os.path.dirname(sb.tmp)
    for args, old, new, what in [
            (["--run", ".."], None, None, "invalid run name '..' (--run)"),
            (["--run", "../escape"], None, None, "invalid run name '../escape' (--run)"),
            ([], "workflow: enginetest", "workflow: ../escape", "invalid workflow name '../escape'"),
            ([], "subjects: [1, 2]", 'subjects: [1, "../2"]', "invalid subject '../2'"),
            ([], "subjects: [1, 2]", 'subjects: [1, "a/b"]', "invalid subject 'a/b'")]:
        sb.write_workflow()
        if old:
            edit(sb, old, new)
        r = sb.run("--dry-run", *args, expect_rc=2)
        check(what in first_error(r)[0], "%s %s: %r" % (args, new, first_error(r)[0]))
        r = sb.run(*args, expect_rc=2)
        check(r.ran == [] and not os.path.exists(sb.path("results")), "nothing ran or was made")
    check(not os.path.exists(os.path.join(outside, "escape")), "nothing made outside the results")


def lock(sb):
    edit(sb, "params: {seed: 1}", "params: {seed: 1, slow: 3}")
    first = subprocess.Popen([sb.exe, "run", "wf.yaml"], cwd=sb.tmp, env=sb.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock_file = sb.path(RUN_DIR + "/pipeline_info/lock")
    record = sb.path(RUN_DIR + "/pipeline_info/instances/stimuli.json")
    # Wait until the first run holds the lock AND has started its first stage:
    # on a loaded CI machine the gap between the two can exceed a second.
    for _ in range(400):
        if (os.path.exists(lock_file) and read(lock_file) and os.path.exists(record)
                and '"running"' in read(record)):
            break
        time.sleep(0.05)
    r = sb.run(expect_rc=3)
    err, hint = first_error(r)
    check(re.match(r"error: run directory results/enginetest is in use by bmc-workflow pid %d "
                   r"on host \S+ since \d{4}-" % first.pid, err) and "--run NAME" in hint,
          "a second run names the holder: %r" % err)
    check(r.ran == [], "and runs nothing")
    first.send_signal(signal.SIGKILL)  # no chance to release the lock
    first.wait()
    time.sleep(3.5)  # the orphaned stage finishes on its own
    r = sb.run(expect_rc=3)
    err, hint = first_error(r)
    check("has a stale lock: bmc-workflow pid %d" % first.pid in err and
          "bmc-workflow unlock results/enginetest" in hint, "a stale lock is reported: %r %r" % (err, hint))
    rec = json.loads(read(record))
    check(rec["state"] == "running", "the killed run left its instance running")
    u = subprocess.run([sb.exe, "unlock", RUN_DIR], cwd=sb.tmp, capture_output=True, text=True)
    check(u.returncode == 0 and "cleared the stale lock" in u.stderr, "unlock: %s" % u.stderr)
    rec = json.loads(read(record))
    check(rec["state"] == "interrupted", "unlock marks its running instances interrupted")
    r = sb.run()
    check(names(r) == ORDER, "the next run works: %s" % names(r))


RACE_WF = """\
workflow: race
stages:
  one:
    run: @PY@ @FAKE@
    outputs: {a: "{run_dir}/a.txt", b: "{run_dir}/b"}
    params: {slow: 0.2, folders: [b], label: "@LABEL@"}
"""


def race(sb):
    for rep in range(20):
        run = "race%02d" % rep
        with open(sb.path("race.yaml"), "w") as f:
            f.write(RACE_WF.replace("@PY@", PYTHON).replace("@FAKE@", FAKE)
                    .replace("@LABEL@", "x" * 4000))
        cmd = [sb.exe, "run", "race.yaml", "--run", run, "--launcher", ""]
        procs = [subprocess.Popen(cmd, cwd=sb.tmp, env=sb.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=60) for p in procs]
        codes = sorted(p.returncode for p in procs)
        check(codes in ([0, 3], [0, 0]), "rep %d: exit codes %s: %s" % (rep, codes, outs))
        if codes == [0, 3]:
            loser = outs[[p.returncode for p in procs].index(3)][1]
            check("is in use by bmc-workflow pid" in loser, "rep %d: the loser says why" % rep)
        base = sb.path("results/" + run)
        resolved = yaml.safe_load(read(base + "/pipeline_info/config_resolved.yaml"))
        fp = resolved["instances"][0]["fingerprint"]
        for out in ("a.txt", "b"):
            p = os.path.join(base, out)
            side = read(p + ".fingerprint").splitlines()[0]
            check(output_ok(p) and side == fp, "rep %d: %s is whole and stamped" % (rep, out))
        check(not [f for f in os.listdir(base) if "partial" in f or "replaced" in f],
              "rep %d: no leftovers" % rep)


def records(sb):
    r = sb.run()
    trace = {row["instance"]: row for row in r.trace()}
    for inst in ORDER:
        fname = inst.replace("[", "-").replace(",", "-").replace("]", "")
        rec = json.loads(read(os.path.join(sb.info, "instances", fname + ".json")))
        want_ranks = 2 if inst.startswith("fmri") else 1
        check(rec["format"] == "bmc.instance-state" and rec["instance"] == inst and
              rec["state"] == "completed" and rec["exit_code"] == 0 and
              rec["fingerprint"] == trace[inst]["fingerprint"] and rec["ranks"] == want_ranks and
              rec["log"] == RUN_DIR + "/logs/%s.log" % fname and rec["error"] is None and
              rec["wall_s"] > 0 and rec["start"] == trace[inst]["start"],
              "record of %s: %s" % (inst, {k: rec[k] for k in rec if k != "fingerprint_of"}))
    sb.write_workflow(fail='"evaluate[1,2]"')
    sb.run(expect_rc=1)
    rec = json.loads(read(os.path.join(sb.info, "instances", "evaluate-1-2.json")))
    check(rec["state"] == "failed" and rec["exit_code"] == 3 and
          rec["error"] == "evaluate[1,2]: failing on purpose (params.fail)",
          "record of the failure: %s" % rec.get("error"))
    plan = sb.run("--dry-run").plan()
    check(plan["evaluate[1,2]"] == ("run", "its last run failed"), "plan %s" % (plan["evaluate[1,2]"],))


SCENARIOS = {f.__name__: f for f in [stage_typo, speed_only, force_instance, exe_hash, hash_cache,
                                     folder_reads, symlink_loop, subjects_added, user_files,
                                     names_inside, lock, race, records]}


def main():
    exe, scenario = os.path.abspath(sys.argv[1]), sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="bmc-engine-") as tmp:
        SCENARIOS[scenario](et.Sandbox(exe, tmp))
    print("%s: %s" % (scenario, "FAIL (%d)" % len(et.FAILURES) if et.FAILURES else "PASS"))
    return 1 if et.FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
