#!/usr/bin/env python3
"""layout_check.py — the layout rule (cmake/BmcLayout.cmake) on a miniature tree.

Configures tests/unit/layout/ once per case in a fresh build folder: the legal tree must
configure, build and run; each deliberate violation (a stage linking or including another
stage, a path include, a private engine header, a foreign source file, a common library that
reaches into a stage) must stop configuration with the message that names it.
Usage: layout_check.py SOURCE_DIR WORK_DIR [CMAKE]
"""
import os
import shutil
import subprocess
import sys

CASES = {
    "stage_links_stage": "links 'bmc_stage_a', which is not a library of common/",
    "stage_links_path": "which is not a known target",
    "stage_includes_stage": "includes \"a.h\", which is neither in its own folder nor in a common/ library",
    "stage_private_header": "includes \"engine_private.h\", which is neither in its own folder",
    "stage_path_include": "includes \"../../common/engine/engine_private.h\": includes name a bare header",
    "stage_foreign_source": "which is not in its own folder",
    "common_links_stage": "common library 'engine' links 'bmc_stage_a', which is not a library of common/",
    "common_includes_stage": "common library 'engine':",
    "stage_links_unknown": "links 'nosuchlib', which is not a known target",
}


def configure(src, work, cmake, case):
    build = os.path.join(work, case)
    shutil.rmtree(build, ignore_errors=True)
    r = subprocess.run([cmake, "-S", os.path.join(src, "tests/unit/layout"), "-B", build,
                        f"-DBMC_SOURCE_DIR={src}", f"-DBMC_LAYOUT_CASE={case}"],
                       capture_output=True, text=True)
    return build, r.returncode, r.stdout + r.stderr


def main():
    src, work = sys.argv[1], sys.argv[2]
    cmake = sys.argv[3] if len(sys.argv) > 3 else "cmake"
    passed = failed = 0

    def check(ok, what, detail=""):
        nonlocal passed, failed
        print(("PASSED " if ok else "FAILED ") + what + ("" if ok else "\n" + detail))
        passed, failed = passed + ok, failed + (not ok)

    build, rc, out = configure(src, work, cmake, "ok")
    check(rc == 0, "legal tree configures", out)
    if rc == 0:
        r = subprocess.run([cmake, "--build", build], capture_output=True, text=True)
        check(r.returncode == 0, "legal tree builds", r.stdout + r.stderr)
        for exe in ("fixture-a", "fixture-b"):
            r = subprocess.run([os.path.join(build, exe)])
            check(r.returncode == 0, f"{exe} runs")
    for case, expect in CASES.items():
        _, rc, out = configure(src, work, cmake, case)
        flat = " ".join(out.split())
        check(rc != 0 and expect in flat, f"{case} stops configuration naming the violation",
              f"rc={rc}, expected {expect!r} in:\n{out}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
