#!/usr/bin/python3
"""clip_preprocess_ref.py OUTDIR MODE — reference data for test_clip_preprocess.c, from Pillow.

MODE resize: random images (noise, hard saturated edges, smooth gradients) of many sizes,
resized with Pillow's Image.resize(BICUBIC), and the whole CLIP transform (torchvision's
Resize → CenterCrop → ToTensor → Normalize, re-stated with Pillow + numpy float32).
MODE io: PNG/JPEG files in many encodings with Pillow's decoded RGB bytes, plus files the
loader must refuse (grayscale, RGBA, 16-bit, palette+alpha, truncated, not an image).
Writes OUTDIR/manifest.tsv (one tab-separated line per case) and the files it names.
Not here: comparing anything (the C test does that).
"""
import struct
import sys
import zlib

import numpy as np
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def make_image(rng, w, h, c, kind):
    """uint8 [h, w, c]: 'noise', 'edges' (saturated blocks, 1-px checkerboard) or 'smooth'."""
    if kind == "noise":
        return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.empty((h, w, c))
    for ch in range(c):
        base[..., ch] = 127.5 + 100 * np.sin(xx / (3.0 + 2 * ch) + yy / 5.0 + ch)
    base += rng.normal(0, 10, size=base.shape)
    img = np.clip(np.rint(base), 0, 255).astype(np.uint8)
    if kind == "edges":
        for _ in range(6):
            x0, y0 = rng.integers(0, w), rng.integers(0, h)
            x1, y1 = x0 + rng.integers(1, max(2, w // 2)), y0 + rng.integers(1, max(2, h // 2))
            img[y0:y1, x0:x1] = rng.choice([0, 255], size=c)
        cw, ch_ = max(1, w // 4), max(1, h // 4)
        checker = ((np.add.outer(np.arange(ch_), np.arange(cw)) % 2) * 255).astype(np.uint8)
        img[:ch_, :cw] = checker[..., None]
    return img


def pil_image(arr):
    if arr.shape[2] == 1:
        return Image.fromarray(arr[..., 0], "L")
    return Image.fromarray(arr, "RGB")


def clip_transform(arr, R):
    """torchvision 0.14 Resize(R, BICUBIC) → CenterCrop(R) → ToTensor → Normalize."""
    h, w = arr.shape[:2]
    short, long_ = (w, h) if w <= h else (h, w)
    new_short, new_long = R, int(R * long_ / short)
    w2, h2 = (new_short, new_long) if w <= h else (new_long, new_short)
    im = Image.fromarray(arr, "RGB")
    if (w2, h2) != (w, h):
        im = im.resize((w2, h2), Image.BICUBIC)
    top, left = int(round((h2 - R) / 2.0)), int(round((w2 - R) / 2.0))
    cropped = np.asarray(im.crop((left, top, left + R, top + R)), dtype=np.uint8)
    x = cropped.astype(np.float32) / np.float32(255)
    x = (x - MEAN) / STD  # float32 elementwise, like tensor.sub_(mean).div_(std)
    return w2, h2, top, left, cropped, np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)


def mode_resize(out, rng, lines):
    cases = [  # (w, h, w2, h2, channels)
        (1, 1, 1, 1, 3), (1, 1, 5, 7, 3), (1, 1, 224, 3, 3), (7, 1, 3, 1, 3), (1, 9, 1, 4, 3),
        (2, 2, 1, 1, 3), (3, 2, 224, 149, 3), (80, 60, 74, 56, 3), (64, 64, 56, 56, 3),
        (50, 91, 56, 101, 3), (120, 100, 67, 56, 3), (425, 425, 224, 224, 3),
        (500, 375, 298, 224, 3), (37, 23, 101, 13, 3), (13, 101, 37, 23, 3),
        (1000, 4, 56, 1, 3), (4, 1000, 2, 448, 3), (640, 3, 9, 11, 3), (2, 500, 300, 7, 3),
        (255, 1, 256, 1, 3), (300, 300, 299, 301, 3), (31, 47, 31, 200, 3), (100, 17, 3, 17, 3),
        (45, 67, 123, 89, 1), (123, 89, 45, 67, 1), (1, 1, 3, 3, 1),
    ]
    for _ in range(24):
        w, h = int(rng.integers(1, 260)), int(rng.integers(1, 260))
        cases.append((w, h, int(rng.integers(1, 260)), int(rng.integers(1, 260)), 3))
    for i, (w, h, w2, h2, c) in enumerate(cases):
        kind = ("noise", "edges", "smooth")[i % 3]
        arr = make_image(rng, w, h, c, kind)
        res = np.asarray(pil_image(arr).resize((w2, h2), Image.BICUBIC), dtype=np.uint8)
        arr.tofile(f"{out}/r{i}_in.raw")
        res.tofile(f"{out}/r{i}_out.raw")
        lines.append(["resize", f"r{i}_in.raw", w, h, c, w2, h2, f"r{i}_out.raw", kind])
    clip_cases = [(80, 60, 56), (64, 64, 56), (50, 91, 56), (120, 100, 56), (425, 425, 224),
                  (500, 375, 224), (13, 9, 56), (1, 40, 16), (300, 2, 24), (57, 56, 56),
                  (56, 59, 56), (58, 61, 56), (224, 224, 224), (97, 33, 37)]
    for _ in range(12):
        clip_cases.append((int(rng.integers(1, 300)), int(rng.integers(1, 300)),
                           int(rng.choice([14, 37, 56, 101]))))
    for i, (w, h, R) in enumerate(clip_cases):
        arr = make_image(rng, w, h, 3, ("edges", "noise", "smooth")[i % 3])
        w2, h2, top, left, cropped, pix = clip_transform(arr, R)
        arr.tofile(f"{out}/c{i}_in.raw")
        cropped.tofile(f"{out}/c{i}_crop.raw")
        pix.tofile(f"{out}/c{i}_pix.f32")
        lines.append(["clip", f"c{i}_in.raw", w, h, R, w2, h2, top, left, f"c{i}_crop.raw",
                      f"c{i}_pix.f32"])


def png_bytes(w, h, depth, color, raw_rows, extra_chunks=(), interlace=0):
    """A minimal PNG: IHDR, extra chunks, one IDAT of filter-0 rows, IEND."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    body = b"".join(b"\x00" + r for r in raw_rows)
    extra = b"".join(chunk(t, d) for t, d in extra_chunks)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
            + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))


def adam7_rows(arr):
    """Rows of the 7 Adam7 passes of an 8-bit RGB image, in file order."""
    rows = []
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                           (1, 0, 2, 2), (0, 1, 1, 2)):
        sub = arr[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            rows.extend(bytes(r) for r in sub)
    return rows


def mode_io(out, rng, lines):
    def save_expect(name):
        im = Image.open(f"{out}/{name}")
        im.load()
        exp = np.asarray(im.convert("RGB"), dtype=np.uint8)
        exp.tofile(f"{out}/{name}.expect")
        lines.append(["load", name, exp.shape[1], exp.shape[0], f"{name}.expect"])

    # PNGs that must load, decoded by Pillow.
    for name, (w, h) in (("rgb_a.png", (80, 60)), ("rgb_b.png", (1, 1)), ("rgb_c.png", (333, 7))):
        Image.fromarray(make_image(rng, w, h, 3, "edges"), "RGB").save(f"{out}/{name}")
        save_expect(name)
    arr = make_image(rng, 29, 19, 3, "noise")
    open(f"{out}/interlaced.png", "wb").write(png_bytes(29, 19, 8, 2, adam7_rows(arr), interlace=1))
    save_expect("interlaced.png")
    trns_rgb = [(b"tRNS", struct.pack(">HHH", 1, 2, 3))]  # RGB with a transparent colour key
    rows = [bytes(r) for r in arr]
    open(f"{out}/rgb_trns.png", "wb").write(png_bytes(29, 19, 8, 2, rows, trns_rgb))
    save_expect("rgb_trns.png")
    pal = rng.integers(0, 256, size=(16, 3), dtype=np.uint8)
    idx = rng.integers(0, 16, size=(21, 13), dtype=np.uint8)
    packed = [bytes((r[0::2] << 4) | np.append(r[1::2], 0)[: len(r[0::2])]) for r in idx]  # 4-bit
    plte = [(b"PLTE", pal.tobytes())]
    open(f"{out}/palette4.png", "wb").write(png_bytes(13, 21, 4, 3, packed, plte))
    save_expect("palette4.png")
    p8 = Image.fromarray(make_image(rng, 40, 30, 3, "smooth"), "RGB").quantize(200)
    p8.save(f"{out}/palette8.png")
    save_expect("palette8.png")
    # JPEGs: subsampling 4:4:4, 4:2:2, 4:2:0, progressive, odd sizes; decoded by Pillow.
    for name, (w, h), opts in (("q90_420.jpg", (80, 60), dict(quality=90, subsampling=2)),
                               ("q75_444.jpeg", (37, 23), dict(quality=75, subsampling=0)),
                               ("q95_422.JPG", (101, 55), dict(quality=95, subsampling=1)),
                               ("prog.jpg", (64, 49), dict(quality=85, progressive=True)),
                               ("tiny.jpg", (1, 1), dict(quality=90))):
        Image.fromarray(make_image(rng, w, h, 3, "edges"), "RGB").save(f"{out}/{name}", **opts)
        save_expect(name)

    # Files that must be refused: name, then substrings the error must contain.
    gray = make_image(rng, 20, 10, 1, "smooth")[..., 0]
    Image.fromarray(gray, "L").save(f"{out}/gray.png")
    lines.append(["reject", "gray.png", "grayscale", "1 channel", "8-bit RGB"])
    Image.fromarray(np.stack([gray, gray], -1), "LA").save(f"{out}/gray_alpha.png")
    lines.append(["reject", "gray_alpha.png", "2 channels", "8-bit RGB"])
    rgba = make_image(rng, 20, 10, 4, "noise")
    Image.fromarray(rgba, "RGBA").save(f"{out}/rgba.png")
    lines.append(["reject", "rgba.png", "RGBA", "4 channels", "8-bit RGB"])
    rows16 = [bytes(r) for r in rng.integers(0, 256, size=(10, 20 * 6), dtype=np.uint8)]
    open(f"{out}/rgb16.png", "wb").write(png_bytes(20, 10, 16, 2, rows16))
    lines.append(["reject", "rgb16.png", "16-bit", "8-bit RGB"])
    Image.fromarray((gray.astype(np.uint16) * 257), "I;16").save(f"{out}/gray16.png")
    lines.append(["reject", "gray16.png", "16-bit", "1 channel"])
    pa = [(b"PLTE", pal.tobytes()), (b"tRNS", bytes([0, 255, 128]))]
    open(f"{out}/palette_alpha.png", "wb").write(png_bytes(13, 21, 4, 3, packed, pa))
    lines.append(["reject", "palette_alpha.png", "transparency", "4 channels"])
    Image.fromarray(gray, "L").save(f"{out}/gray.jpg", quality=90)
    lines.append(["reject", "gray.jpg", "grayscale", "1 channel"])
    Image.fromarray(rgba, "CMYK").save(f"{out}/cmyk.jpg", quality=90)
    lines.append(["reject", "cmyk.jpg", "CMYK", "4 channels"])
    good_png = open(f"{out}/rgb_a.png", "rb").read()
    open(f"{out}/trunc.png", "wb").write(good_png[: len(good_png) // 2])
    lines.append(["reject", "trunc.png", "cannot decode PNG", "damaged or incomplete"])
    open(f"{out}/trunc_header.png", "wb").write(good_png[:20])
    lines.append(["reject", "trunc_header.png", "cannot decode PNG"])
    bad_crc = bytearray(good_png)
    bad_crc[60] ^= 0xFF  # inside the IDAT data: CRC error
    open(f"{out}/corrupt.png", "wb").write(bytes(bad_crc))
    lines.append(["reject", "corrupt.png", "cannot decode PNG"])
    good_jpg = open(f"{out}/q90_420.jpg", "rb").read()
    open(f"{out}/trunc.jpg", "wb").write(good_jpg[: len(good_jpg) * 2 // 3])
    lines.append(["reject", "trunc.jpg", "cannot decode JPEG", "damaged or incomplete"])
    open(f"{out}/trunc_header.jpg", "wb").write(good_jpg[:30])
    lines.append(["reject", "trunc_header.jpg", "cannot decode JPEG"])
    open(f"{out}/notes.png", "wb").write(b"just some text, not an image\n")
    lines.append(["reject", "notes.png", "not a PNG or JPEG"])
    open(f"{out}/empty.jpg", "wb").close()
    lines.append(["reject", "empty.jpg", "empty"])
    lines.append(["reject", "missing.png", "cannot open"])


def main():
    out, mode = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(20251119)
    lines = []
    {"resize": mode_resize, "io": mode_io}[mode](out, rng, lines)
    with open(f"{out}/manifest.tsv", "w") as f:
        for line in lines:
            f.write("\t".join(str(v) for v in line) + "\n")


if __name__ == "__main__":
    main()
