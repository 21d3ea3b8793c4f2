#!/usr/bin/python3
"""check_aggregate.py — bmc-aggregate end to end.

--only fixture  (a run written by aggregate_fixture.py; no other stage runs)
  * every row of summary.csv equals the NumPy recomputation of aggregate_reference.py
    (bootstrap with the documented resampling; values and intervals to 1e-9 relative);
    summary.json holds the same rows; pandas reads the CSV with numeric columns;
  * 1, 2, 3 and 4 ranks give byte-identical summary.{md,csv,json}, index.html and figures;
  * every figure is a valid PNG with content (size, not blank, not one colour);
  * the page in headless Chromium: loads, every image loads, no console message, no broken
    link or anchor; a screenshot is kept in ARTEFACT_DIR.
--only bad      the same run with a missing, duplicated (path and pair), foreign (not of the
  run, tampered fingerprint) or older-version eval file, another image set, a foreign model, a
  missing predictions file, a foreign figures folder, no pipeline_info: exit 2, one message
  naming the file, nothing written (no output, no .partial).
--only demo     the demo workflow through bmc-workflow (label pipeline): the same parity and
  rank checks on its real outputs, the retrieval columns' direction and way, the fusion
  verdicts, the page in Chromium (screenshot kept), and the time aggregation added; every
  retrieval draw of every eval recomputed from its stored image subset alone (the exported
  predictions and the real features of those images, MindEye-style argmax per image / per
  prediction, no random numbers) against the stored per-item hits.

usage: check_aggregate.py BMC_AGGREGATE [BMC_WORKFLOW DEMO_YAML] --only MODE --artefacts DIR
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import yaml
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aggregate_fixture as fixture            # noqa: E402
import aggregate_reference as reference        # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("aggregate")
ap.add_argument("workflow", nargs="?")
ap.add_argument("demo_yaml", nargs="?")
ap.add_argument("--only", required=True, choices=("fixture", "bad", "demo"))
ap.add_argument("--artefacts", default=".")
args = ap.parse_args()
EXE = os.path.abspath(args.aggregate)
ENV = dict(os.environ, OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader")
if ENV.get("LSAN_OPTIONS"):          # cairo's dynamic TLS, as in check_evaluate.py
    ENV["LSAN_OPTIONS"] += ":use_tls=0"
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what, flush=True)
    return cond


def run_stage(cfg_path, np_=1):
    cmd = ([EXE] if np_ == 1 else ["mpiexec", "-n", str(np_), EXE]) + ["--config", cfg_path]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENV)
    r.wall = time.monotonic() - t0
    return r


# ---- parity with the NumPy reference ----------------------------------------------------------

NUM = ("value", "sd", "ci_lo", "ci_hi")
INT = ("train_subject", "test_subject", "higher_is_better", "way", "draws", "n_images",
       "n_subjects", "resamples")
KEY = ("section", "scope", "train_subject", "test_subject", "decoder", "rescale", "metric")


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def close(a, b, tol=1e-9):
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return a == ""
    return a != "" and abs(float(a) - b) <= tol * max(abs(b), 1e-3)


def parity(tag, cfg, out_dir=None):
    got = read_csv(cfg["outputs"]["csv"] if out_dir is None else os.path.join(out_dir, "summary.csv"))
    want = reference.rows(cfg["inputs"], cfg["params"])
    check(len(got) == len(want), f"{tag}: {len(got)} rows, reference {len(want)}")
    worst, bad = 0.0, 0
    for g, w in zip(got, want):
        key = tuple("" if w.get(k) is None else str(w.get(k)) for k in KEY)
        gkey = tuple(g[k] for k in KEY)
        if not check(gkey == key, f"{tag}: row {gkey} in the reference's order is {key}"):
            break
        for c in INT:
            v = w.get(c)
            if not check(g[c] == ("" if v is None else str(v)), f"{tag}: {key} {c} = {g[c]!r}, "
                         f"reference {v!r}"):
                bad += 1
        for c in NUM:
            v = w.get(c)
            ok = close(g[c], v)
            if not ok and bad < 10:
                print(f"  {key} {c}: got {g[c]} want {v}")
            bad += not ok
            check(ok, f"{tag}: {key} {c}")
            if ok and g[c] != "":
                worst = max(worst, abs(float(g[c]) - v) / max(abs(v), 1e-3))
        check(g["verdict"] == (w.get("verdict") or ""), f"{tag}: {key} verdict")
    print(f"{tag}: {len(got)} rows recomputed with NumPy, largest relative difference "
          f"{worst:.1e}", flush=True)
    return got


def json_matches_csv(tag, json_path, rows):
    doc = json.load(open(json_path))
    check(doc["format"] == "bmc.summary" and doc["format_version"] == 1, f"{tag}: JSON format")
    jr = doc["rows"]
    ok = len(jr) == len(rows)
    for j, c in zip(jr, rows):
        for k in doc["columns"]:
            v = j[k]
            s = "" if v is None else (str(int(v)) if k in INT else repr(v) if isinstance(v, float)
                                      else str(v))
            if k in NUM and v is not None:
                ok &= close(c[k], float(v), 1e-15)
            else:
                ok &= s == c[k]
    check(ok, f"{tag}: summary.json rows equal summary.csv")
    return doc


def pandas_reads(tag, path):
    import pandas as pd
    df = pd.read_csv(path)
    check(all(df[c].dtype.kind == "f" for c in NUM), f"{tag}: pandas reads numeric columns "
          f"{[str(df[c].dtype) for c in NUM]}")
    check(df["train_subject"].dtype.kind in "if", f"{tag}: pandas reads train_subject as numbers")
    return df


# ---- figures and page --------------------------------------------------------------------------

def figures_ok(tag, folder):
    pngs = sorted(glob.glob(os.path.join(folder, "*.png")))
    check(len(pngs) > 0, f"{tag}: figures written")
    for p in pngs:
        with open(p, "rb") as f:
            sig = f.read(8)
        im = Image.open(p)
        im.load()
        a = np.asarray(im.convert("RGB"))
        colours = len(np.unique(a.reshape(-1, 3), axis=0))
        check(sig == b"\x89PNG\r\n\x1a\n" and a.shape[0] >= 20 and a.shape[1] >= 30 and
              colours > 4 and (a < 250).any(), f"{tag}: {os.path.basename(p)} is a PNG with "
              f"content ({a.shape[1]}x{a.shape[0]}, {colours} colours)")
    return pngs


def chromium():
    for c in ("chromium", "chromium-browser"):
        p = shutil.which(c)
        if p:
            return p
    return None


def page_ok(tag, html, shot):
    exe = chromium()
    if not exe:
        print(f"{tag}: SKIPPED the browser check: chromium is not installed "
              "(apt-get install chromium; scripts/install-deps.sh test installs it)")
        return "skipped"
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
            "--no-first-run", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"]
    url = "file://" + os.path.abspath(html)
    env = dict(os.environ, HOME=tempfile.mkdtemp())
    r = subprocess.run(base + ["--window-size=1280,2400", "--screenshot=" + shot, url],
                       capture_output=True, text=True, timeout=120, env=env)
    console = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    check(r.returncode == 0 and os.path.getsize(shot) > 10000, f"{tag}: Chromium renders the "
          f"page (screenshot {shot})")
    check(not console, f"{tag}: no console message: {console[:3]}")
    # Every image loads: the same page with a checker appended, its DOM dumped after load.
    probe = os.path.join(os.path.dirname(html), ".probe_" + os.path.basename(html))
    text = open(html, encoding="utf-8").read()
    script = ("<script>window.addEventListener('load',()=>{const im=[...document.images];"
              "document.body.setAttribute('data-images',im.length);document.body.setAttribute("
              "'data-broken',JSON.stringify(im.filter(i=>!(i.complete&&i.naturalWidth>0))"
              ".map(i=>i.getAttribute('src'))));});</script>")
    with open(probe, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", script + "</body>"))
    r = subprocess.run(base + ["--dump-dom", "file://" + os.path.abspath(probe)],
                       capture_output=True, text=True, timeout=120, env=env)
    os.remove(probe)
    n = re.search(r'data-images="(\d+)"', r.stdout)
    broken = re.search(r'data-broken="([^"]*)"', r.stdout)
    n_img = int(n.group(1)) if n else -1
    check(n_img > 0 and broken and broken.group(1) == "[]",
          f"{tag}: all {n_img} images load in Chromium (broken: {broken and broken.group(1)})")
    # No broken link: every href/src resolves to a file or folder; anchors exist.
    ids = set(re.findall(r'id="([^"]+)"', text))
    links = re.findall(r'(?:href|src)="([^"]+)"', text)
    bad = []
    for l in links:
        if l.startswith("data:"):
            continue
        if l.startswith("#"):
            if l[1:] not in ids:
                bad.append(l)
            continue
        if re.match(r"^[a-z]+://", l) or not os.path.exists(os.path.join(os.path.dirname(html), l)):
            bad.append(l)
    check(len(links) > 10 and not bad, f"{tag}: {len(links)} links, none broken or remote: {bad[:5]}")
    check("<script" not in text and "http://" not in text and "https://" not in text,
          f"{tag}: the page is static and needs no network")
    print(f"{tag}: page checked in Chromium ({n_img} images, {len(links)} links), screenshot "
          f"{shot}", flush=True)
    return "ok"


# ---- ranks ------------------------------------------------------------------------------------------

def outputs_of(d):
    files = {}
    for p in sorted(glob.glob(os.path.join(d, "**"), recursive=True)):
        if os.path.isfile(p):
            files[os.path.relpath(p, d)] = open(p, "rb").read()
    return files


def ranks_identical(tag, cfg, work, pipeline_info):
    """Run the stage by hand at 1, 2, 3 and 4 ranks into sibling folders; compare every byte."""
    seen = None
    for np_ in (1, 2, 3, 4):
        d = os.path.join(work, "ranks%d" % np_)
        c = dict(cfg, outputs=dict(md=f"{d}/summary.md", csv=f"{d}/summary.csv",
                                   json=f"{d}/summary.json", html=f"{d}/index.html",
                                   figures=f"{d}/figures"),
                 params=dict(cfg["params"], pipeline_info=pipeline_info))
        path = os.path.join(work, "ranks%d.yaml" % np_)
        fixture.write_stage(c, path)
        r = run_stage(path, np_)
        if not check(r.returncode == 0, f"{tag}: {np_} rank(s) succeed"):
            print(r.stdout[-3000:], r.stderr[-3000:])
            return None
        out = outputs_of(d)
        if seen is None:
            seen = out
            parity(f"{tag} (1 rank, by hand)", c, d)
        else:
            diff = [k for k in set(seen) | set(out) if seen.get(k) != out.get(k)]
            check(not diff, f"{tag}: {np_} ranks give byte-identical outputs (differ: {diff[:5]})")
    print(f"{tag}: 1, 2, 3 and 4 ranks wrote {len(seen)} identical files", flush=True)
    return seen


# ---- modes ------------------------------------------------------------------------------------------

def mode_fixture(tmp):
    os.chdir(tmp)
    cfg = fixture.make_run("run", np.random.default_rng(7))
    stage = "run/pipeline_info/stages/aggregate.yaml"
    fixture.write_stage(cfg, stage)
    r = run_stage(stage, 2)
    if not check(r.returncode == 0, "fixture: bmc-aggregate succeeds"):
        print(r.stdout[-4000:], r.stderr[-4000:])
        return
    rows = parity("fixture", cfg)
    json_matches_csv("fixture", cfg["outputs"]["json"], rows)
    pandas_reads("fixture", cfg["outputs"]["csv"])
    figures_ok("fixture", cfg["outputs"]["figures"])
    check(not glob.glob("run/*.partial"), "fixture: no .partial left")
    md = open(cfg["outputs"]["md"], encoding="utf-8").read()
    check("Retrieval brain→image ↑ (10-way, 5 draws; MindEye bwd)" in md and
          "Retrieval image→brain ↑ (10-way, 5 draws; MindEye fwd)" in md,
          "fixture: retrieval columns name their direction and the way used")
    check("Published results (not this run)" in md, "fixture: published table separate")
    ranks_identical("fixture", cfg, tmp, "run/pipeline_info")
    return page_ok("fixture", cfg["outputs"]["html"], os.path.join(args.artefacts, "index_fixture.png"))


def expect_error(tag, cfg_path, outputs, needles):
    r = run_stage(cfg_path, 2)
    msg = r.stderr
    lines = [l for l in msg.splitlines() if l.startswith("error:")]
    ok = r.returncode == 2 and len(lines) == 1 and all(n in lines[0] for n in needles)
    if not check(ok, f"bad: {tag}: exit 2 with one error naming {needles}"):
        print(f"  exit {r.returncode}: {msg[-1500:]}")
    left = [p for o in outputs.values() for p in (o, o + ".partial") if os.path.exists(p)]
    check(not left, f"bad: {tag}: nothing written ({left})")
    if ok:
        print(f"bad: {tag}: {lines[0][:160]}", flush=True)


def mode_bad(tmp):
    os.chdir(tmp)
    cfg = fixture.make_run("run", np.random.default_rng(8))
    info = "run/pipeline_info"
    out = cfg["outputs"]
    ev = cfg["inputs"]["evals"]

    def variant(name, **changes):
        c = json.loads(json.dumps(cfg))
        for k, v in changes.items():
            c["inputs"][k] = v
        p = f"{info}/stages/{name}.yaml"
        fixture.write_stage(c, p)
        return p

    expect_error("missing eval", variant("missing", evals=ev[:-1]), out, ["missing eval file", ev[-1]])
    expect_error("duplicated path", variant("dup", evals=ev + [ev[0]]), out,
                 ["duplicated eval file", ev[0]])
    shutil.copy(ev[0], "run/eval/copy.h5")
    expect_error("foreign (not of the run)", variant("foreign", evals=ev + ["run/eval/copy.h5"]),
                 out, ["foreign eval file", "run/eval/copy.h5"])
    # The same pair twice, both outputs of the run: a second instance writes the copy.
    resolved = f"{info}/config_resolved.yaml"
    saved = open(resolved).read()
    doc = yaml.safe_load(saved)
    fpc = fixture.fp("evaluate_copy")
    doc["instances"].append(dict(instance="evaluate_copy", stage="evaluate_copy", fingerprint=fpc,
                                 outputs={"eval": "run/eval/copy.h5"}))
    with open(resolved, "w") as f:
        yaml.safe_dump(doc, f)
    with h5py.File("run/eval/copy.h5", "r+") as f:
        f.attrs["stage_fingerprint"] = fpc
    expect_error("duplicated pair", variant("dup_pair", evals=ev + ["run/eval/copy.h5"]), out,
                 ["duplicated eval", "run/eval/copy.h5", ev[0]])
    with open(resolved, "w") as f:
        f.write(saved)
    stage = variant("plain")

    def tampered(tag, path, attr, value, needles, dataset=None):
        backup = path + ".bak"
        shutil.copy(path, backup)
        with h5py.File(path, "r+") as f:
            if dataset:
                f[dataset][0] = f[dataset][0] + 1
            else:
                f.attrs[attr] = value
        expect_error(tag, stage, out, needles)
        shutil.move(backup, path)

    tampered("foreign fingerprint", ev[1], "stage_fingerprint", "0" * 64,
             ["foreign eval file", ev[1], "fingerprint"])
    tampered("older bmc.eval version", ev[2], "format_version", np.int64(1), [ev[2], "version 1"])
    tampered("another image set", ev[3], None, None, [ev[3], "/images/eval_ids"],
             dataset="images/eval_ids")
    tampered("another metric setting", ev[3], "fusion_weight", 0.3, [ev[3], "fusion_weight"])
    m0 = cfg["inputs"]["models"][0]
    tampered("foreign model", m0, "stage_fingerprint", "1" * 64, ["foreign model file", m0])
    expect_error("missing predictions", variant("nopred",
                 predictions=cfg["inputs"]["predictions"][1:]), out,
                 ["missing predictions file", ev[0]])
    os.makedirs(out["figures"])
    open(os.path.join(out["figures"], "mine.txt"), "w").write("not the stage's")
    r = run_stage(stage, 1)
    if not check(r.returncode == 2 and "carries no brainmclip stamp" in r.stderr and
                 os.path.exists(os.path.join(out["figures"], "mine.txt")) and
                 not os.path.exists(out["csv"]), "bad: a foreign figures folder is kept, nothing written"):
        print(f"  exit {r.returncode}: {r.stderr[-1500:]}")
    shutil.rmtree(out["figures"])
    c = json.loads(json.dumps(cfg))
    fixture.write_stage(c, "elsewhere/aggregate.yaml")
    expect_error("no pipeline_info", "elsewhere/aggregate.yaml", out, ["pipeline_info"])
    r = run_stage(stage, 2)             # and the unchanged run still works
    check(r.returncode == 0 and os.path.exists(out["csv"]), "bad: the restored run succeeds")


def _unit_rows(a):
    a = a.reshape(len(a), -1).astype(np.float64)
    n = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(n > 0, n, 1.0)


def draws_recomputed(tag, cfg):
    """Each eval's draws from /images/retrieval_draws alone: for draw d, the predictions and the
    real features of its w images give sim[i, j] = cos(pred_i, real_j) (fused: the weighted
    sum); brain→image asks row i (a prediction) to have its argmax at its own image, image→brain
    asks column j (an image) to have its argmax at its own prediction (MindEye's topk on the
    transposed matrix). Hits must equal the stored ones except at near-ties (|margin| < 1e-6,
    float32 predictions), and the stored accuracies must be the hit means."""
    feats = cfg["inputs"]["features"]
    by_pair = {}
    for path in cfg["inputs"]["predictions"]:
        with h5py.File(path, "r") as f:
            by_pair[(int(f.attrs["train_subject"]), int(f.attrs["test_subject"]))] = path
    n_draws = bad = 0
    for ev_path in cfg["inputs"]["evals"]:
        with h5py.File(ev_path, "r") as e:
            pair = (int(e.attrs["train_subject"]), int(e.attrs["test_subject"]))
            w_fused = float(e.attrs["fusion_weight"])
            draws = e["images/retrieval_draws"][:]
            stored = {b: (e[b]["retrieval_image_hits"][:], e[b]["retrieval_brain_hits"][:],
                          e[b]["retrieval_image"][:], e[b]["retrieval_brain"][:])
                      for b in ("detail", "semantic", "fused")}
        sims = {}
        with h5py.File(by_pair[pair], "r") as pf, h5py.File(feats, "r") as ff:
            pred_row = {int(i): k for k, i in enumerate(pf["image_ids"][:])}
            feat_row = {int(i): k for k, i in enumerate(ff["image_ids"][:])}
            for b in ("detail", "semantic"):
                ds = pf[b]
                tok = ds.attrs["token_index"][:]
                real_all = ff[ds.attrs["y_dataset"].decode() if isinstance(ds.attrs["y_dataset"], bytes)
                              else ds.attrs["y_dataset"]][:]
                pred_all = ds[:]
                per = []
                for ids in draws:
                    P = pred_all[[pred_row[int(i)] for i in ids]]
                    R = real_all[[feat_row[int(i)] for i in ids]]
                    if R.ndim == 3:
                        R = R[:, tok, :]
                    per.append(_unit_rows(P) @ _unit_rows(R).T)
                sims[b] = per
        sims["fused"] = [w_fused * a + (1 - w_fused) * c for a, c in zip(sims["detail"], sims["semantic"])]
        for b, (h_img, h_brn, acc_img, acc_brn) in stored.items():
            for d, S in enumerate(sims[b]):
                n_draws += 1
                k = np.arange(len(S))
                got_img = S.argmax(1) == k          # a prediction picks its image
                got_brn = S.argmax(0) == k          # an image picks its prediction
                off = S.copy()
                np.fill_diagonal(off, -np.inf)
                near = (np.abs(np.diag(S) - off.max(1)) < 1e-6) | (np.abs(np.diag(S) - off.max(0)) < 1e-6)
                if (((got_img != h_img[d].astype(bool)) | (got_brn != h_brn[d].astype(bool))) & ~near).any():
                    bad += 1
                if not (np.isclose(acc_img[d], h_img[d].mean()) and np.isclose(acc_brn[d], h_brn[d].mean())):
                    bad += 1
    check(n_draws > 0 and bad == 0,
          f"{tag}: {n_draws} retrieval draws recomputed from the stored image subsets ({bad} differ)")
    print(f"{tag}: {n_draws} retrieval draws (eval × decoder) recomputed from stored subsets", flush=True)


def mode_demo(tmp):
    results = os.path.join(tmp, "results")
    t0 = time.monotonic()
    r = subprocess.run([args.workflow, "run", args.demo_yaml, "--results", results],
                       capture_output=True, text=True, timeout=800, env=ENV)
    wall = time.monotonic() - t0
    if not check(r.returncode == 0, "demo: the workflow succeeds"):
        print(r.stdout[-3000:], r.stderr[-3000:])
        return
    run_dir = os.path.join(results, yaml.safe_load(open(args.demo_yaml))["workflow"])
    trace = sorted(glob.glob(os.path.join(run_dir, "pipeline_info", "execution_trace_*.tsv")))[-1]
    with open(trace) as f:
        t = {row["instance"]: float(row["wall_s"]) for row in csv.DictReader(f, delimiter="\t")}
    print(f"demo: workflow {wall:.1f} s wall; stages {sum(t.values()):.1f} s, of which "
          f"aggregate {t.get('aggregate', float('nan')):.2f} s", flush=True)
    stage_file = os.path.join(run_dir, "pipeline_info", "stages", "aggregate.yaml")
    cfg = yaml.safe_load(open(stage_file))
    rows = parity("demo", cfg)
    doc = json_matches_csv("demo", cfg["outputs"]["json"], rows)
    pandas_reads("demo", cfg["outputs"]["csv"])
    way = doc["settings"]["way"]
    md = open(cfg["outputs"]["md"], encoding="utf-8").read()
    check(f"Retrieval brain→image ↑ ({way}-way" in md and f"Retrieval image→brain ↑ ({way}-way" in md,
          f"demo: retrieval columns name their direction and the {way}-way used")
    verdict = {(r["metric"]): r["verdict"] for r in rows
               if r["section"] == "fused_minus_semantic" and r["scope"] == "within_subject"}
    for m in ("pixcorr", "ssim"):
        check(verdict.get(m) == "fused_higher", f"demo: fusion helps {m} (within-subject, "
              f"paired bootstrap): {verdict.get(m)}")
    figures_ok("demo", cfg["outputs"]["figures"])
    draws_recomputed("demo", cfg)
    ranks_identical("demo", cfg, os.path.join(run_dir, "check"), os.path.join(run_dir, "pipeline_info"))
    return page_ok("demo", cfg["outputs"]["html"], os.path.join(args.artefacts, "index_demo.png"))


os.makedirs(args.artefacts, exist_ok=True)
args.artefacts = os.path.abspath(args.artefacts)
with tempfile.TemporaryDirectory() as tmp:
    here = os.getcwd()
    try:
        outcome = {"fixture": mode_fixture, "bad": mode_bad, "demo": mode_demo}[args.only](tmp)
    finally:
        os.chdir(here)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 77 if outcome == "skipped" else 0)
