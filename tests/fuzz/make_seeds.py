#!/usr/bin/python3
"""make_seeds.py — writes the small seed corpora of tests/fuzz/corpus/<target>/ (committed;
rerun only to regenerate them). Each seed is a valid or near-valid input of the kind the
tests use, a few hundred bytes, so that libFuzzer starts deep in each parser.
The YAML seeds are copies of the tests' own workflow and config files; the rest are made here
with the same libraries the test references use (numpy, scipy.io, nibabel, PIL).
Usage: make_seeds.py [REPO_ROOT]
"""
import io, json, os, struct, sys

import numpy as np

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
out = os.path.join(root, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy_yaml(target, folder, limit=4096):
    for n in sorted(os.listdir(folder)):
        p = os.path.join(folder, n)
        if n.endswith(".yaml") and os.path.getsize(p) <= limit:
            put(target, n, open(p, "rb").read())


# ---- YAML: the tests' configs and workflows, plus anchors and nesting -------------------------
for target in ("config", "workflow"):
    copy_yaml(target, os.path.join(root, "tests", "bad-input", "workflows"))
    copy_yaml(target, os.path.join(root, "workflows"))
copy_yaml("config", os.path.join(root, "tests", "unit", "config_data"))
put("config", "anchors.yaml", b"a: &x {b: [1, 2.5, .inf, ~, true]}\nc: *x\n")
put("config", "nested.yaml", b"a: " + b"[" * 40 + b"1" + b"]" * 40 + b"\n")
put("config", "multi.yaml", b"a: 1\n---\nb: 2\n")
put("config", "quoted.yaml", b"k: 'x'\nm: \"y\\n\"\nn: |\n  block\n  text\ns: 0x1F\nt: 0o17\n")

# ---- safetensors ------------------------------------------------------------------------------
def safetensors(tensors, meta=None):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)

a = np.arange(6, dtype=np.float32).reshape(2, 3)
put("safetensors", "f32.safetensors", safetensors([("w", "F32", (2, 3), a.tobytes())], {"format": "pt"}))
put("safetensors", "f16_bf16.safetensors", safetensors([
    ("a", "F16", (3,), np.array([1, -2, 65504], np.float16).tobytes()),
    ("b", "BF16", (2,), b"\x80\x3f\x00\xc0"), ("c", "F64", (), np.float64(3.5).tobytes()),
    ("d", "I32", (1, 1), b"\x01\x00\x00\x00")]))
put("safetensors", "empty.safetensors", safetensors([("z", "F32", (0, 4), b"")]))
# A tiny HF-named vision tower (one layer, width 4, 2×2 patches of a 4×4 image).
W, P, I, L, PD = 4, 2, 4, 1, 3
g = (I // P) ** 2 + 1
hf = [("vision_model.embeddings.class_embedding", (W,)),
      ("vision_model.embeddings.patch_embedding.weight", (W, 3, P, P)),
      ("vision_model.embeddings.position_embedding.weight", (g, W)),
      ("vision_model.pre_layrnorm.weight", (W,)), ("vision_model.pre_layrnorm.bias", (W,)),
      ("vision_model.post_layernorm.weight", (W,)), ("vision_model.post_layernorm.bias", (W,)),
      ("visual_projection.weight", (PD, W))]
for k in range(L):
    pre = f"vision_model.encoder.layers.{k}."
    for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
        hf += [(pre + f"self_attn.{n}.weight", (W, W)), (pre + f"self_attn.{n}.bias", (W,))]
    hf += [(pre + "layer_norm1.weight", (W,)), (pre + "layer_norm1.bias", (W,)),
           (pre + "layer_norm2.weight", (W,)), (pre + "layer_norm2.bias", (W,)),
           (pre + "mlp.fc1.weight", (4 * W, W)), (pre + "mlp.fc1.bias", (4 * W,)),
           (pre + "mlp.fc2.weight", (W, 4 * W)), (pre + "mlp.fc2.bias", (W,))]
hf.sort()
put("safetensors", "tiny_hf.safetensors", safetensors(
    [(n, "F16", s, np.ones(s, np.float16).tobytes()) for n, s in hf], {"format": "pt"}))

# ---- config.json ------------------------------------------------------------------------------
cfg = os.path.join(root, "tests", "data", "clip-tiny", "config.json")
put("weights_config", "clip_tiny_config.json", open(cfg, "rb").read())
put("weights_config", "full_clipconfig.json", json.dumps({
    "projection_dim": 512, "vision_config": {"hidden_size": 768, "image_size": 224, "patch_size": 32,
    "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
    "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "model_type": "clip_vision_model"}}).encode())
put("weights_config", "partial.json", b'{"hidden_size": 64, "hidden_act": "gelu"}')

# ---- nsd_expdesign.mat ------------------------------------------------------------------------
import scipy.io
for name, compress, fmt in (("v5.mat", False, "5"), ("v7_compressed.mat", True, "5")):
    b = io.BytesIO()
    scipy.io.savemat(b, {"masterordering": np.array([[1, 2, 3, 1, 2]], dtype=np.float64),
                         "subjectim": np.array([[5, 6, 7], [8, 9, 10]], dtype=np.float64),
                         "sharedix": np.array([[1]], dtype=np.float64)},
                     do_compression=compress, format=fmt)
    put("nsd_design", name, b.getvalue())
b = io.BytesIO()
scipy.io.savemat(b, {"masterordering": np.array([1, 2], dtype=np.int32),
                     "subjectim": np.array([[3, 4]], dtype=np.uint16),
                     "sharedix": np.zeros((1, 0))})
put("nsd_design", "int_classes.mat", b.getvalue())

# ---- ctab -------------------------------------------------------------------------------------
put("ctab", "prf-visualrois.mgz.ctab",
    b"#$Id: label table\n0  Unknown 0 0 0 0\n1 V1v 10 20 30 0\n2\tV1d\t1 1 1 0\n\n7 hV4 3 3 3 0\n")
put("ctab", "negative.ctab", b"-1 outside\n  3 x\n")

# ---- NIfTI ------------------------------------------------------------------------------------
import nibabel as nib
def nii(arr, cls=nib.Nifti1Image, slope=None):
    img = cls(arr, np.eye(4))
    if slope is not None:
        img.header.set_slope_inter(slope, 1.0)
    return img.to_bytes()
vol = (np.arange(24).reshape(2, 3, 4) % 4 - 1).astype(np.int16)
put("nifti", "int16.nii", nii(vol))
put("nifti", "float32.nii", nii(vol.astype(np.float32)))
put("nifti", "uint8_scaled.nii", nii((vol + 1).astype(np.uint8), slope=2.0))
put("nifti", "nifti2.nii", nii(vol.astype(np.int32), nib.Nifti2Image))

# ---- images -----------------------------------------------------------------------------------
from PIL import Image
rgb = Image.fromarray((np.arange(4 * 5 * 3).reshape(4, 5, 3) * 7 % 256).astype(np.uint8), "RGB")
for name, kw in (("rgb.png", {"format": "PNG"}), ("rgb.jpg", {"format": "JPEG", "quality": 90}),
                 ("progressive.jpg", {"format": "JPEG", "progressive": True})):
    b = io.BytesIO(); rgb.save(b, **kw); put("image", name, b.getvalue())
b = io.BytesIO(); rgb.convert("P").save(b, format="PNG"); put("image", "palette.png", b.getvalue())
b = io.BytesIO(); rgb.convert("L").save(b, format="PNG"); put("image", "gray.png", b.getvalue())
b = io.BytesIO(); rgb.save(b, format="PNG", optimize=True); put("image", "optimized.png", b.getvalue())
