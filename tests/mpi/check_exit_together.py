#!/usr/bin/env python3
"""check_exit_together.py — runs an MPI program that must fail and checks that every rank
exits (no hang) within a time limit, with the expected status and message.

usage: check_exit_together.py --np N --status S --expect TEXT [--count C] -- mpiexec-args...
"""
import argparse, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--np", type=int, required=True)
ap.add_argument("--status", type=int, required=True, help="expected exit status; -1 = any non-zero")
ap.add_argument("--expect", required=True, help="text that stderr must contain")
ap.add_argument("--count", type=int, default=0, help="exact number of occurrences (0 = at least one)")
ap.add_argument("--limit", type=float, default=60.0, help="seconds before it counts as a hang (sanitized runs on a loaded 2-core machine take up to ~20 s)")
ap.add_argument("cmd", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = [c for c in a.cmd if c != "--"]
t0 = time.monotonic()
try:
    p = subprocess.run(["mpiexec", "-n", str(a.np)] + cmd, capture_output=True, text=True, timeout=a.limit)
except subprocess.TimeoutExpired:
    print(f"FAILED: hang: no exit within {a.limit} s\n0 passed, 1 failed")
    sys.exit(1)
dt = time.monotonic() - t0
checks = []
ok_status = p.returncode == a.status if a.status >= 0 else p.returncode != 0
checks.append((ok_status, f"exit status {p.returncode} (expected {a.status})"))
n = p.stderr.count(a.expect)
checks.append((n == a.count if a.count else n >= 1, f"'{a.expect}' found {n} times in stderr"))
checks.append((dt < a.limit, f"all ranks exited in {dt:.2f} s"))
failed = [m for ok, m in checks if not ok]
for ok, m in checks:
    print(("ok: " if ok else "FAILED: ") + m)
if failed:
    print("--- stderr ---\n" + p.stderr)
print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
