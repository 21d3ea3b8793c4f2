#!/usr/bin/env python3
"""clip_weights_ref.py — independent numpy references for test_clip_weights.c.

Parses safetensors by hand (8-byte length, JSON, raw bytes) and never uses the C reader.

  fixtures OUTDIR MODEL   write into OUTDIR:
      convert.safetensors   F16 "h" and BF16 "b" with all 65536 bit patterns, F64 "d"
      convert_h.f32, convert_b.f32, convert_d.f32   numpy's float32 conversions (raw LE)
      mixed.safetensors     MODEL's tensors stored as F16/BF16/F64/F32 in turn, in reverse
                            name order, plus unused text-tower tensors, logit_scale and
                            an I64 position_ids (a "full checkpoint")
      mixed_as_f32.safetensors   the same values upcast to F32 by numpy, HF names only
      spot.txt              "name index float32-bits-hex" for 5 positions of every tensor
  check_f16 F32FILE F16FILE  every tensor of F16FILE must equal numpy's float16 rounding of
                            the same tensor of F32FILE (bitwise; NaN stays NaN)
"""
import json, os, struct, sys
import numpy as np

DT = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I64": np.int64, "U16": np.uint16}


def read_st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    data = b[8 + n:]
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        raw = data[s:e]
        if v["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, np.dtype(DT[v["dtype"]]).newbyteorder("<"))
        out[k] = (v["dtype"], a.reshape(v["shape"]) if v["shape"] else a.reshape(()))
    return out, meta


def write_st(path, tensors, meta=None):
    """tensors: list of (name, dtype string, shape, raw bytes), stored in that order."""
    h, off, blobs = {}, 0, []
    if meta:
        h["__metadata__"] = meta
    for name, dt, shape, raw in tensors:
        h[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    hj = json.dumps(h).encode()
    hj += b" " * ((8 - (8 + len(hj)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))


def bf16_round(x32):
    """float32 → bfloat16 bits, round to nearest even (NaN kept quiet)."""
    u = x32.view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x32), np.uint16(0x7FC0), r)


def fixtures(outdir, model):
    allbits = np.arange(65536, dtype=np.uint16)
    rng = np.random.default_rng(7)
    d = np.concatenate([
        np.array([0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e-46, -1e-40, 1.4e-45, 3.5e38, -1e39,
                  3.4028235677973366e38, 1.0 + 2.0 ** -24, 1.0 + 3 * 2.0 ** -24, 1e300, 5e-324]),
        rng.standard_normal(200) * 10.0 ** rng.integers(-40, 38, 200)])
    write_st(os.path.join(outdir, "convert.safetensors"), [
        ("h", "F16", [256, 256], allbits.astype("<u2").tobytes()),
        ("b", "BF16", [65536], allbits.astype("<u2").tobytes()),
        ("d", "F64", [len(d)], d.astype("<f8").tobytes())])
    allbits.view(np.float16).astype(np.float32).astype("<f4").tofile(os.path.join(outdir, "convert_h.f32"))
    (allbits.astype(np.uint32) << 16).view(np.float32).astype("<f4").tofile(os.path.join(outdir, "convert_b.f32"))
    with np.errstate(over="ignore"):
        d.astype(np.float32).astype("<f4").tofile(os.path.join(outdir, "convert_d.f32"))

    tensors, _ = read_st(model)
    names = sorted(tensors)
    mixed, as_f32 = [], []
    for i, name in enumerate(reversed(names)):
        x = tensors[name][1].astype(np.float32)
        kind = ["F16", "BF16", "F64", "F32"][i % 4]
        if kind == "F16":
            raw, up = x.astype("<f2").tobytes(), x.astype(np.float16).astype(np.float32)
        elif kind == "BF16":
            bits = bf16_round(x.ravel())
            raw, up = bits.astype("<u2").tobytes(), (bits.astype(np.uint32) << 16).view(np.float32).reshape(x.shape)
        elif kind == "F64":
            raw, up = x.astype("<f8").tobytes(), x
        else:
            raw, up = x.astype("<f4").tobytes(), x
        mixed.append((name, kind, x.shape, raw))
        as_f32.append((name, "F32", x.shape, up.astype("<f4").tobytes()))
    t = int(tensors["vision_model.embeddings.position_embedding.weight"][1].shape[0])
    mixed.insert(3, ("vision_model.embeddings.position_ids", "I64", [1, t], np.arange(t, dtype="<i8").tobytes()))
    mixed.insert(0, ("text_model.embeddings.token_embedding.weight", "F32", [10, 8],
                     rng.standard_normal(80).astype("<f4").tobytes()))
    mixed.append(("logit_scale", "F32", [], np.float32(4.6).astype("<f4").tobytes()))
    mixed.append(("text_projection.weight", "I8", [2, 3], bytes(6)))
    write_st(os.path.join(outdir, "mixed.safetensors"), mixed, {"format": "pt", "note": "full checkpoint"})
    write_st(os.path.join(outdir, "mixed_as_f32.safetensors"), as_f32, {"format": "pt"})

    with open(os.path.join(outdir, "spot.txt"), "w") as f:
        for name in names:
            a = tensors[name][1].astype(np.float32).ravel()
            for idx in sorted({0, a.size - 1, *rng.integers(0, a.size, 3).tolist()}):
                f.write(f"{name} {idx} {int(a[idx:idx + 1].view(np.uint32)[0]):08x}\n")


def check_f16(f32_path, f16_path):
    a, _ = read_st(f32_path)
    b, _ = read_st(f16_path)
    bad = 0
    if sorted(a) != sorted(b):
        print("tensor names differ:", sorted(a), sorted(b))
        bad += 1
    for name in sorted(set(a) & set(b)):
        if b[name][0] != "F16" or a[name][0] != "F32":
            print(name, "dtypes", a[name][0], b[name][0])
            bad += 1
            continue
        with np.errstate(over="ignore"):
            want = a[name][1].astype(np.float16)
        got = b[name][1]
        same = (want.view(np.uint16) == got.view(np.uint16)) | (np.isnan(want) & np.isnan(got))
        if want.shape != got.shape or not same.all():
            idx = np.flatnonzero(~same)[:5]
            print(name, "differs at", idx.tolist(), a[name][1].ravel()[idx].tolist(),
                  want.ravel()[idx].view(np.uint16).tolist(), got.ravel()[idx].view(np.uint16).tolist())
            bad += 1
    print(f"f16 mismatching tensors: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "fixtures":
        fixtures(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check_f16":
        sys.exit(check_f16(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
