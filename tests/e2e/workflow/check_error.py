#!/usr/bin/python3
"""check_error.py — run bmc-workflow on a bad workflow and check that it fails cleanly.

usage: check_error.py BMC_WORKFLOW BAD.yaml

BAD.yaml states what must happen in header comments:
  # expect: LINE:COL: fragment   (required; {file} stands for the workflow's path)
  # hint: fragment               (optional; must appear in the hint line)
  # args: --force x              (optional; extra arguments for `bmc-workflow run`)
Checks: exit status 2; stderr's first line is `error: BAD.yaml:LINE:COL: ...` containing the
fragment; the next line is `  hint: ...`; nothing printed on stdout; nothing created (the
--results folder does not exist and the working folder stays empty).
Not here: the behaviour of valid workflows (engine_test.py).
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile


def main():
    exe, workflow = sys.argv[1], os.path.abspath(sys.argv[2])
    expect = hint = None
    args = []
    with open(workflow) as f:
        for line in f:
            if line.startswith("# expect:"):
                expect = line[len("# expect:"):].strip()
            elif line.startswith("# hint:"):
                hint = line[len("# hint:"):].strip()
            elif line.startswith("# args:"):
                args = shlex.split(line[len("# args:"):])
    if not expect:
        print("FAIL: %s has no '# expect: LINE:COL: fragment' line" % workflow)
        return 1
    m = re.match(r"(\d+):(\d+): (.*)$", expect)
    line_no, col, fragment = m.group(1), m.group(2), m.group(3).replace("{file}", workflow)
    failures = []
    with tempfile.TemporaryDirectory(prefix="bmc-bad-") as tmp:
        results = os.path.join(tmp, "results")
        cmd = [exe, "run", workflow, "--results", results] + args
        p = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=60)
        err_lines = p.stderr.splitlines()
        print("$ " + " ".join(shlex.quote(c) for c in cmd))
        print("exit status: %d\n--- stderr ---\n%s--- stdout ---\n%s" % (p.returncode, p.stderr,
                                                                       p.stdout))
        if p.returncode != 2:
            failures.append("exit status %d, expected 2" % p.returncode)
        first = err_lines[0] if err_lines else ""
        prefix = "error: %s:%s:%s: " % (workflow, line_no, col)
        if not first.startswith(prefix):
            failures.append("first stderr line does not start with %r" % prefix)
        if fragment not in first:
            failures.append("first stderr line lacks %r" % fragment)
        if len(err_lines) < 2 or not err_lines[1].startswith("  hint: "):
            failures.append("second stderr line is not '  hint: ...'")
        elif hint and hint not in err_lines[1]:
            failures.append("hint line lacks %r" % hint)
        if p.stdout:
            failures.append("something was printed on stdout")
        if os.path.exists(results):
            failures.append("the results folder %s was created" % results)
        leftovers = os.listdir(tmp)
        if leftovers:
            failures.append("files were created in the working folder: %s" % leftovers)
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print("PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
