#!/usr/bin/env python3
"""check_stimuli_ranks.py — bmc-synth stimuli writes identical bytes on 1, 2 and 4 ranks,
and a file that h5py reads as NSD's layout (/imgBrick uint8 [N,H,W,3]) with provenance.
Also: a bad parameter gives a file:line:col error on every rank and leaves no output.

usage: check_stimuli_ranks.py BMC_SYNTH_EXE
"""
import os, subprocess, sys, tempfile

import h5py
import numpy as np

exe = sys.argv[1]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what)


def run(np_, cfg):
    return subprocess.run(["mpiexec", "-n", str(np_), exe, "stimuli", "--config", cfg],
                          capture_output=True, text=True, timeout=120)


with tempfile.TemporaryDirectory() as d:
    bricks = {}
    for np_ in (1, 2, 4):
        out = os.path.join(d, f"stim{np_}.h5")
        cfg = os.path.join(d, f"stage{np_}.yaml")
        with open(cfg, "w") as f:
            f.write(f'outputs: {{images: "{out}"}}\n'
                    "params: {n_images: 23, height: 40, width: 56, n_categories: 5, seed: 7}\n"
                    'fingerprint: "abc123"\n')
        p = run(np_, cfg)
        check(p.returncode == 0, f"np={np_} exit {p.returncode}: {p.stderr}")
        check(not os.path.exists(out + ".partial"), "no .partial left")
        with h5py.File(out, "r") as f:
            b = f["imgBrick"]
            check(b.dtype == np.uint8 and b.shape == (23, 40, 56, 3), f"shape {b.shape} {b.dtype}")
            bricks[np_] = b[:]
            cat = f["category"][:]
            check(list(cat) == [i % 5 for i in range(23)], "categories")
            a = f.attrs
            check(a["format"] == "bmc.stimuli" and int(a["format_version"]) == 1, "format attrs")
            check(a["stage_fingerprint"] == "abc123", "stage_fingerprint attribute")
            check(int(a["mpi_size"]) == np_, "mpi_size")
            check(str(a["created_by"]).startswith("bmc-synth stimuli "), "created_by")
            check(len(a["config_sha256"]) == 64, "config_sha256")
    check(np.array_equal(bricks[1], bricks[2]) and np.array_equal(bricks[1], bricks[4]),
          "identical images for 1, 2 and 4 ranks")
    img = bricks[1].astype(float)
    check(img.std() > 20 and len(np.unique(bricks[1])) > 100, "images are not flat")
    # Images of different categories differ on average more than the same category.
    means = [img[i::5].mean(axis=0) for i in range(5)]
    check(min(np.abs(means[i] - means[j]).mean() for i in range(5) for j in range(i)) > 1.0,
          "category means differ")

    # Bad parameter: clear error with position, all ranks exit 2, no output left.
    out = os.path.join(d, "bad.h5")
    cfg = os.path.join(d, "bad.yaml")
    with open(cfg, "w") as f:
        f.write(f'outputs: {{images: "{out}"}}\nparams:\n  n_images: 10\n  heigth: 40\n')
    p = run(2, cfg)
    check(p.returncode == 2, f"bad param exit {p.returncode}")
    check(f"{cfg}:4:3: unknown key 'heigth'" in p.stderr and "did you mean 'height'" in p.stderr,
          f"message: {p.stderr}")
    check(p.stderr.count("error:") == 1, "one error line, not one per rank")
    check(not os.path.exists(out) and not os.path.exists(out + ".partial"), "no output")
    with open(cfg, "w") as f:
        f.write(f'outputs: {{images: "{out}"}}\nparams: {{n_images: 0}}\n')
    p = run(2, cfg)
    check(p.returncode == 2 and "'n_images' must be an integer in [1, 10000000]" in p.stderr,
          f"range message: {p.stderr}")
    # Output folder that does not exist: error names the file.
    out2 = os.path.join(d, "nope", "x.h5")
    with open(cfg, "w") as f:
        f.write(f'outputs: {{images: "{out2}"}}\nparams: {{n_images: 3, height: 8, width: 8}}\n')
    p = run(2, cfg)
    check(p.returncode == 2 and out2 in p.stderr, f"missing folder message: {p.stderr}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
