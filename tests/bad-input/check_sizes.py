#!/usr/bin/env python3
"""check_sizes.py — sizes read from a file are user input: a file whose header claims an
absurd shape (2^40 rows, 50000^3 voxels, a 60000x60000 image, 2^40 weights) is refused by
the stage with exit status 2, one error line that names the file (and dataset) and says what
it claims, before anything is allocated, and with no output or .partial left behind.

Stages run as MPI singletons (one rank) with `ulimit -v` at 4 GiB, so an attempt to allocate
what the header claims fails the test instead of the machine.
usage: check_sizes.py BMC_EXTRACT_FMRI BMC_EXTRACT_CLIP TESTDATA_DIR
"""
import gzip, json, os, resource, shutil, struct, subprocess, sys, tempfile, zlib

import h5py
import nibabel as nib
import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import nsd_tree  # noqa: E402

fmri_exe, clip_exe, testdata = sys.argv[1], sys.argv[2], sys.argv[3]
passed = failed = 0
HUGE = 1 << 40


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what, flush=True)


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run(exe, tmp, name, cfg):
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        json.dump(cfg, f)  # JSON is YAML
    env = dict(os.environ, OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader")
    # ASan reserves far more address space than RLIMIT_AS allows; sanitized builds run without.
    sanitized = b"__asan_init" in open(exe, "rb").read()
    return subprocess.run([exe, "--config", path], capture_output=True, text=True, timeout=120,
                          env=env, preexec_fn=None if sanitized else limit_memory)


def expect_refused(what, p, out, needles):
    err = p.stderr
    check(p.returncode == 2, f"{what}: exit status {p.returncode}, expected 2: {err[-1500:]}")
    check(err.count("error:") == 1, f"{what}: expected one error line: {err[-1500:]}")
    for n in needles:
        check(n in err, f"{what}: message lacks {n!r}: {err[-1500:]}")
    check(not os.path.exists(out) and not os.path.exists(out + ".partial"),
          f"{what}: an output was left behind")
    print(f"  {what}: " + next((l for l in err.splitlines() if "error:" in l), "?"), flush=True)


def huge_dataset(path, name, shape, dtype):
    """Replace (or add) dataset `name` of `path` by an unwritten chunked one of `shape`."""
    with h5py.File(path, "a") as f:
        if name in f:
            del f[name]
        f.create_dataset(name, shape=shape, dtype=dtype, chunks=(1,) + tuple(shape[1:]))


with tempfile.TemporaryDirectory() as tmp:
    # ---- bmc-extract-fmri on a small NSD tree -------------------------------------------
    root = nsd_tree.make_tree(os.path.join(tmp, "nsd"))

    def variant(name, edit):
        d = os.path.join(tmp, name)
        shutil.copytree(root, d)
        edit(d)
        return d

    betas = os.path.join("nsddata_betas", "ppdata", "subj01", "func1pt8mm",
                         "betas_fithrf_GLMdenoise_RR", "betas_session02.hdf5")
    stimuli = os.path.join("nsddata_stimuli", "stimuli", "nsd", "nsd_stimuli.hdf5")
    roi = os.path.join("nsddata", "ppdata", "subj01", "func1pt8mm", "roi", "prf-visualrois.nii.gz")
    design = os.path.join("nsddata", "experiments", "nsd", "nsd_expdesign.mat")

    def betas_rows(d):
        p = os.path.join(d, betas)
        with h5py.File(p, "r") as f:
            shape = f["betas"].shape
        huge_dataset(p, "betas", (HUGE,) + shape[1:], np.int16)

    def betas_rows_moderate(d):  # 36 GB: under the absolute cap, far above the file's size
        p = os.path.join(d, betas)
        with h5py.File(p, "r") as f:
            shape = f["betas"].shape
        huge_dataset(p, "betas", (1 << 24,) + shape[1:], np.int16)

    def stimuli_rows(d):
        p = os.path.join(d, stimuli)
        with h5py.File(p, "r") as f:
            shape = f["imgBrick"].shape
        huge_dataset(p, "imgBrick", (HUGE,) + shape[1:], np.uint8)

    def roi_voxels(d):
        p = os.path.join(d, roi)
        img = nib.load(p)
        hdr = img.header.copy()
        raw = bytearray(hdr.binaryblock)
        struct.pack_into("<8h", raw, 40, 3, 30000, 30000, 30000, 1, 1, 1, 1)  # dim[0..7]
        data = np.asarray(img.dataobj).tobytes(order="F")
        with gzip.open(p, "wb") as f:
            f.write(bytes(raw) + b"\0" * 4 + data)

    def design_dims(d):
        p = os.path.join(d, design)
        raw = bytearray(open(p, "rb").read())
        k = raw.find(b"masterordering")
        # The dims sub-element (miINT32, 8 bytes: rows, cols) sits just before the name's tag.
        dims_at = k - 8 - 8
        assert struct.unpack_from("<2I", raw, dims_at - 8) == (5, 8), "dims tag"
        struct.pack_into("<2i", raw, dims_at, 1, 2**31 - 1)
        open(p, "wb").write(raw)

    cases = [
        ("betas claim 2^40 trials", betas_rows, ["betas_session02.hdf5:/betas", "claims"]),
        ("betas claim 2^24 trials", betas_rows_moderate,
         ["betas_session02.hdf5:/betas", "claims", "but the file holds only"]),
        ("stimuli claim 2^40 images", stimuli_rows, ["nsd_stimuli.hdf5:/imgBrick", "claims"]),
        ("ROI claims 30000^3 voxels", roi_voxels, ["prf-visualrois.nii.gz", "claims"]),
        ("design matrix claims 2^31 entries", design_dims, ["nsd_expdesign.mat", "claims"]),
    ]
    for i, (what, edit, needles) in enumerate(cases):
        r = variant(f"fmri{i}", edit)
        out = os.path.join(tmp, f"fmri{i}.h5")
        p = run(fmri_exe, tmp, f"fmri{i}", {"inputs": {"nsd_root": r}, "outputs": {"fmri": out},
                                            "params": {"subject": 1}})
        expect_refused(what, p, out, needles)
        shutil.rmtree(r)

    # ---- bmc-extract-clip -----------------------------------------------------------------
    weights = os.path.join(testdata, "clip-tiny", "model.safetensors")
    pngs = os.path.join(tmp, "pngs")
    os.mkdir(pngs)
    shutil.copy(os.path.join(testdata, "clip-tiny", "images", "img1_64x64.png"), pngs)

    stack = os.path.join(tmp, "stack.h5")
    with h5py.File(stack, "w") as f:
        f.create_dataset("imgBrick", shape=(HUGE, 8, 8, 3), dtype=np.uint8, chunks=(1, 8, 8, 3))

    def png_claiming(folder, w, h):
        os.mkdir(folder)
        src = open(os.path.join(pngs, "img1_64x64.png"), "rb").read()
        ihdr = bytearray(src[16:29])  # width, height, depth, colour, ...
        struct.pack_into(">II", ihdr, 0, w, h)
        chunk = b"IHDR" + bytes(ihdr)
        patched = src[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + src[33:]
        open(os.path.join(folder, "big.png"), "wb").write(patched)
        return folder

    big_png = png_claiming(os.path.join(tmp, "bigpng"), 60000, 60000)
    mid_png = png_claiming(os.path.join(tmp, "midpng"), 20000, 10000)  # under the pixel cap

    st_dir = os.path.join(tmp, "bigst")
    os.mkdir(st_dir)
    raw = open(weights, "rb").read()
    hlen = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + hlen])
    name = "vision_model.post_layernorm.bias"
    header[name]["shape"] = [HUGE]
    header[name]["data_offsets"] = [header[name]["data_offsets"][0], 4 * HUGE]
    h = json.dumps(header).encode()
    h += b" " * (-(8 + len(h)) % 8)
    open(os.path.join(st_dir, "model.safetensors"), "wb").write(
        struct.pack("<Q", len(h)) + h + raw[8 + hlen:])
    shutil.copy(os.path.join(testdata, "clip-tiny", "config.json"), st_dir)

    cases = [
        ("image stack claims 2^40 images", stack, weights, ["stack.h5", "imgBrick", "claims"]),
        ("PNG claims 60000x60000 pixels", big_png, weights, ["big.png", "60000x60000"]),
        ("PNG claims 20000x10000 pixels in 7 KB", mid_png, weights,
         ["big.png", "20000x10000", "more than its"]),
        ("weights claim 2^40 values", pngs, os.path.join(st_dir, "model.safetensors"),
         ["model.safetensors", name]),
    ]
    for i, (what, images, w, needles) in enumerate(cases):
        out = os.path.join(tmp, f"clip{i}.h5")
        p = run(clip_exe, tmp, f"clip{i}", {"inputs": {"images": images, "weights": w},
                                            "outputs": {"features": out}, "params": {}})
        expect_refused(what, p, out, needles)

print(f"{passed} checks passed, {failed} failed")
sys.exit(1 if failed else 0)
