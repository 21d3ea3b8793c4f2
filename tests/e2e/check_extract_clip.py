#!/usr/bin/env python3
"""check_extract_clip.py — bmc-extract-clip end to end, through its command line.

1. Golden: the clip-tiny PNGs + weights give every hidden state, pooled output, image and
   token embedding, semantic (÷‖CLS‖) and detail (mean over a layer range) within 1e-4 of
   the reference; the OpenAI-named weights give identical outputs; float16 output rounds
   the same values.
2. Rank count: 1, 2 and 4 ranks give the same features.
3. Kill and resume: a run aborted after two batches leaves a .partial and no final file;
   the rerun resumes it and the result equals an uninterrupted run.
4. Bad inputs each give one clear error, exit status 2, and no output (no .partial).

usage: check_extract_clip.py BMC_EXTRACT_CLIP BMC_SYNTH TESTDATA_DIR
"""
import json, os, shutil, struct, subprocess, sys, tempfile

import h5py
import numpy as np
from PIL import Image

exe, synth, golden_dir = sys.argv[1], sys.argv[2], sys.argv[3]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what, flush=True)


def stage(tmp, name, inputs, outputs, params, np_=1, env=None):
    cfg = os.path.join(tmp, name + ".yaml")
    with open(cfg, "w") as f:
        json.dump({"inputs": inputs, "outputs": outputs, "params": params}, f)  # JSON is YAML
    e = dict(os.environ, **(env or {}))
    return subprocess.run(["mpiexec", "-n", str(np_), exe, "--config", cfg], capture_output=True,
                          text=True, timeout=300, env=e)


def read_all(path):
    with h5py.File(path, "r") as f:
        out = {}
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        return out, dict(f.attrs)


g = h5py.File(os.path.join(golden_dir, "golden.h5"), "r")
gh = g["hidden_states"][()]  # [N, L+1, T, W]
L = gh.shape[1] - 1
images = os.path.join(golden_dir, "images")
weights = os.path.join(golden_dir, "model.safetensors")

with tempfile.TemporaryDirectory() as tmp:
    # Only the PNGs (the folder also holds .raw files, which the lister ignores anyway).
    pngs = os.path.join(tmp, "pngs")
    os.mkdir(pngs)
    for fn in sorted(os.listdir(images)):
        if fn.endswith(".png"):
            shutil.copy(os.path.join(images, fn), pngs)
    params = {"outputs": ["detail", "semantic", "pooled", "token_embeds", "pooler_output"],
              "hidden_states": list(range(L + 1)), "detail_layers": [1, L - 1], "batch_size": 3}

    # ---- 1. golden ----
    out = os.path.join(tmp, "golden_hf.h5")
    p = stage(tmp, "hf", {"images": pngs, "weights": weights}, {"features": out}, params)
    check(p.returncode == 0, f"golden run: {p.stderr[-2000:]}")
    d, attrs = read_all(out)
    check(attrs["format"] == "bmc.clip" and list(d["image_ids"]) == [0, 1, 2, 3], "format, ids")
    errs = {}
    for l in range(L + 1):
        errs[f"hidden_states[{l}]"] = np.abs(d[f"hidden_states/{l:02d}"] - gh[:, l]).max()
    errs["pooler_output"] = np.abs(d["pooler_output"] - g["pooled"][()]).max()
    errs["pooled (image_embeds)"] = np.abs(d["pooled"] - g["image_embeds"][()]).max()
    errs["token_embeds"] = np.abs(d["token_embeds"] - g["token_embeds"][()]).max()
    errs["semantic (token_embeds_vd)"] = np.abs(d["semantic"] - g["token_embeds_vd"][()]).max()
    errs["detail"] = np.abs(d["detail"] - gh[:, 1:L].mean(axis=1)).max()
    for k, v in errs.items():
        print(f"  max abs error {k}: {v:.2e}")
        check(v <= 1e-4, f"{k}: max abs error {v:.3g} > 1e-4")
    check(attrs["detail_first"] == 1 and attrs["detail_last"] == L - 1, "detail range attrs")

    out_oa = os.path.join(tmp, "golden_openai.h5")
    p = stage(tmp, "oa", {"images": pngs, "weights": os.path.join(golden_dir, "openai_visual.safetensors"),
                          "config": os.path.join(golden_dir, "config.json")}, {"features": out_oa}, params)
    check(p.returncode == 0, f"openai run: {p.stderr[-2000:]}")
    d2, _ = read_all(out_oa)
    check(all(np.array_equal(d[k], d2[k]) for k in d), "OpenAI naming gives identical outputs")

    out16 = os.path.join(tmp, "golden_f16.h5")
    p = stage(tmp, "f16", {"images": pngs, "weights": weights}, {"features": out16},
              dict(params, dtype="float16"))
    check(p.returncode == 0, f"float16 run: {p.stderr[-2000:]}")
    d3, _ = read_all(out16)
    check(d3["semantic"].dtype == np.float16 and
          np.array_equal(d3["semantic"], d["semantic"].astype(np.float16)), "float16 = rounded float32")

    # ---- 2. rank count, 3. kill and resume (on bmc-synth stimuli, 30 images) ----
    stim = os.path.join(tmp, "stim.h5")
    with open(os.path.join(tmp, "stim.yaml"), "w") as f:
        json.dump({"outputs": {"images": stim},
                   "params": {"n_images": 30, "height": 64, "width": 80, "seed": 4}}, f)
    subprocess.run(["mpiexec", "-n", "2", synth, "stimuli", "--config", os.path.join(tmp, "stim.yaml")],
                   check=True, capture_output=True, timeout=120)
    small = {"outputs": ["detail", "semantic", "pooled"], "batch_size": 4}
    runs = {}
    for np_ in (1, 2, 4):
        o = os.path.join(tmp, f"ranks{np_}.h5")
        p = stage(tmp, f"r{np_}", {"images": stim, "weights": weights}, {"features": o}, small, np_)
        check(p.returncode == 0, f"np={np_}: {p.stderr[-2000:]}")
        runs[np_], _ = read_all(o)
    for np_ in (2, 4):
        diff = max(np.abs(runs[np_][k].astype(np.float64) - runs[1][k]).max()
                   for k in ("detail", "semantic", "pooled"))
        print(f"  np={np_} vs np=1: max abs difference {diff:.2e}")
        check(diff == 0, f"np={np_} differs from np=1 by {diff}")

    o = os.path.join(tmp, "resume.h5")
    p = stage(tmp, "kill", {"images": stim, "weights": weights}, {"features": o}, small, 2,
              env={"BMC_TEST_ABORT_AFTER_BATCHES": "2"})
    check(p.returncode != 0, "the aborted run fails")
    check(os.path.exists(o + ".partial") and not os.path.exists(o), "aborted: .partial, no final file")
    if os.path.exists(o + ".partial"):
        with h5py.File(o + ".partial", "r") as f:
            ndone = int(f["done"][()].sum())
        check(0 < ndone < 30, f"aborted run finished some rows ({ndone})")
    p = stage(tmp, "kill", {"images": stim, "weights": weights}, {"features": o}, small, 2)
    check(p.returncode == 0 and "resuming" in p.stderr, f"resume: {p.stderr[-1500:]}")
    dr, _ = read_all(o)
    check(all(np.array_equal(dr[k], runs[2][k]) for k in ("detail", "semantic", "pooled")),
          "resumed output equals an uninterrupted run")
    check(not os.path.exists(o + ".partial"), "no .partial after the resume")

    # ---- 4. bad inputs ----
    raw = open(weights, "rb").read()
    hlen = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + hlen])

    def write_st(path, hdr, data):
        h = json.dumps(hdr).encode()
        h += b" " * (-(8 + len(h)) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + data)

    body = raw[8 + hlen:]
    bad = {}
    bad["truncated"] = raw[: len(raw) // 2]
    hb = json.loads(json.dumps(header))
    name = "vision_model.encoder.layers.0.mlp.fc1.weight"
    hb[name]["data_offsets"] = [hb[name]["data_offsets"][0], len(body) + 64]
    bad["offsets"] = hb
    # Drop a tensor together with its bytes (the others re-packed), so only the name is missing.
    hm, parts, pos = {}, [], 0
    for k, v in sorted(((k, v) for k, v in header.items() if k != "__metadata__"),
                       key=lambda kv: kv[1]["data_offsets"][0]):
        if k == "vision_model.post_layernorm.weight":
            continue
        b0, b1 = v["data_offsets"]
        parts.append(body[b0:b1])
        hm[k] = dict(v, data_offsets=[pos, pos + b1 - b0])
        pos += b1 - b0
    bad["missing"] = (hm, b"".join(parts))
    hs = json.loads(json.dumps(header))
    hs["vision_model.pre_layrnorm.bias"]["shape"] = [16, 4]
    bad["shape"] = hs
    hd = json.loads(json.dumps(header))
    hd["vision_model.pre_layrnorm.bias"]["dtype"] = "I32"
    bad["dtype"] = hd
    # A NaN weight (F32 or F16 bit pattern) would make every feature NaN.
    nan_name = "vision_model.post_layernorm.weight"
    nb0 = header[nan_name]["data_offsets"][0]
    nan_bits = struct.pack("<f", float("nan")) if header[nan_name]["dtype"] == "F32" else b"\x00\x7e"
    bad["nan"] = (header, body[:nb0] + nan_bits + body[nb0 + len(nan_bits):])
    expect = {"nan": nan_name + "' element 0 is nan",
              "truncated": "model.safetensors", "offsets": name, "missing": "vision_model.post_layernorm.weight",
              "shape": "vision_model.pre_layrnorm.bias", "dtype": "vision_model.pre_layrnorm.bias"}
    for case, content in bad.items():
        wdir = os.path.join(tmp, "bad_" + case)
        os.mkdir(wdir)
        wpath = os.path.join(wdir, "model.safetensors")
        if isinstance(content, bytes):
            open(wpath, "wb").write(content)
        elif isinstance(content, tuple):
            write_st(wpath, content[0], content[1])
        else:
            write_st(wpath, content, body)
        shutil.copy(os.path.join(golden_dir, "config.json"), wdir)
        o = os.path.join(tmp, f"bad_{case}.h5")
        p = stage(tmp, "bad", {"images": pngs, "weights": wpath}, {"features": o}, params, 2)
        check(p.returncode == 2, f"bad weights '{case}': exit {p.returncode}")
        check(p.stderr.count("error:") == 1 and expect[case] in p.stderr,
              f"bad weights '{case}': message {p.stderr[-800:]!r}")
        check(not os.path.exists(o) and not os.path.exists(o + ".partial"), f"bad '{case}': no output")

    gray = os.path.join(tmp, "gray")
    os.mkdir(gray)
    Image.new("L", (40, 30), 128).save(os.path.join(gray, "a.png"))
    rgba = os.path.join(tmp, "rgba")
    os.mkdir(rgba)
    Image.new("RGBA", (40, 30), (1, 2, 3, 4)).save(os.path.join(rgba, "b.png"))
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    four = os.path.join(tmp, "four.h5")
    with h5py.File(four, "w") as f:
        f["imgBrick"] = np.zeros((3, 20, 20, 4), np.uint8)
    none = os.path.join(tmp, "none.h5")
    with h5py.File(none, "w") as f:
        f["imgBrick"] = np.zeros((0, 20, 20, 3), np.uint8)
    for case, src, text in [("grayscale", gray, "a.png"), ("rgba", rgba, "b.png"),
                            ("empty folder", empty, "no PNG/JPEG images"),
                            ("4-channel hdf5", four, "channels"), ("empty hdf5", none, "empty")]:
        o = os.path.join(tmp, "bad_img.h5")
        p = stage(tmp, "badimg", {"images": src, "weights": weights}, {"features": o}, params, 2)
        check(p.returncode == 2, f"{case}: exit {p.returncode}")
        check(p.stderr.count("error:") == 1 and text in p.stderr, f"{case}: message {p.stderr[-800:]!r}")
        check(not os.path.exists(o) and not os.path.exists(o + ".partial"), f"{case}: no output")
    # A layer the model does not have: error at the YAML position, before any output.
    o = os.path.join(tmp, "bad_layer.h5")
    p = stage(tmp, "badlayer", {"images": pngs, "weights": weights}, {"features": o},
              dict(params, hidden_states=[L + 1]), 2)
    check(p.returncode == 2 and f"not a layer in [0, {L}]" in p.stderr, f"bad layer: {p.stderr[-500:]!r}")
    check(not os.path.exists(o), "bad layer: no output")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
