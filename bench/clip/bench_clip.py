#!/usr/bin/env python3
"""bench_clip.py — bmc-extract-clip's ViT forward pass against PyTorch on the CPU, side by side.

For each model shape (a ViT-B/16- and a ViT-L/14-shaped random CLIP made by
`bmc-synth clip-weights`) and each thread count, in the same script and on the same weights
and pixels: images/s and GFLOP/s of brainmclip's C forward (bench_vit, OpenBLAS threads = t)
and of PyTorch (Debian's python3-torch, torch.set_num_threads(t), inference mode, the same
layers as OpenAI CLIP's VisionTransformer), this machine's sgemm rate at t threads, the
ratios, and the largest difference of the image embeddings (a parity check).

usage: bench_clip.py --build BUILD_DIR [--shapes b16,l14] [--threads 1,2] [--seconds 10]
                     [--out results.md]
"""
import argparse, json, math, os, struct, subprocess, sys, tempfile, time

import numpy as np
import torch
import torch.nn.functional as F

SHAPES = {
    "b16": dict(name="ViT-B/16", image_size=224, patch_size=16, hidden_size=768, num_layers=12,
                num_heads=12, projection_dim=512, batch=8),
    "l14": dict(name="ViT-L/14", image_size=224, patch_size=14, hidden_size=1024, num_layers=24,
                num_heads=16, projection_dim=768, batch=4),
}


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b0, b1 = v["data_offsets"]
        dt = {"F32": np.float32, "F16": np.float16}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(raw, dt, (b1 - b0) // np.dtype(dt).itemsize,
                                                8 + n + b0).reshape(v["shape"]).astype(np.float32))
    return out


class TorchClipVision(torch.nn.Module):
    """OpenAI CLIP's VisionTransformer forward with Hugging Face weight names."""

    def __init__(self, w, cfg):
        super().__init__()
        self.w, self.cfg = w, cfg
        p = "vision_model."
        self.patch = torch.nn.Conv2d(3, cfg["hidden_size"], cfg["patch_size"], cfg["patch_size"], bias=False)
        self.patch.weight.data = w[p + "embeddings.patch_embedding.weight"]
        self.blocks = []
        W = cfg["hidden_size"]
        for i in range(cfg["num_layers"]):
            q = f"{p}encoder.layers.{i}."
            attn = torch.nn.MultiheadAttention(W, cfg["num_heads"])
            attn.in_proj_weight.data = torch.cat([w[q + f"self_attn.{n}_proj.weight"] for n in "qkv"])
            attn.in_proj_bias.data = torch.cat([w[q + f"self_attn.{n}_proj.bias"] for n in "qkv"])
            attn.out_proj.weight.data = w[q + "self_attn.out_proj.weight"]
            attn.out_proj.bias.data = w[q + "self_attn.out_proj.bias"]
            self.blocks.append((q, attn))

    def ln(self, x, name):
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"], 1e-5)

    def forward(self, pixels):
        w, p = self.w, "vision_model."
        x = self.patch(pixels).flatten(2).transpose(1, 2)  # [B, g², W]
        cls = w[p + "embeddings.class_embedding"].expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], 1) + w[p + "embeddings.position_embedding.weight"]
        x = self.ln(x, p + "pre_layrnorm").transpose(0, 1)  # [T, B, W] as OpenAI's module
        for q, attn in self.blocks:
            a = self.ln(x, q + "layer_norm1")
            x = x + attn(a, a, a, need_weights=False)[0]
            a = self.ln(x, q + "layer_norm2")
            m = F.linear(a, w[q + "mlp.fc1.weight"], w[q + "mlp.fc1.bias"])
            m = m * torch.sigmoid(1.702 * m)
            x = x + F.linear(m, w[q + "mlp.fc2.weight"], w[q + "mlp.fc2.bias"])
        x = x.transpose(0, 1)
        tok = F.linear(self.ln(x, p + "post_layernorm"), w["visual_projection.weight"])
        return tok[:, 0], tok / tok[:, :1].norm(dim=-1, keepdim=True)


def flops_per_image(c):
    T = 1 + (c["image_size"] // c["patch_size"]) ** 2
    W, M, D = c["hidden_size"], 4 * c["hidden_size"], c["projection_dim"]
    g2, cpp = T - 1, 3 * c["patch_size"] ** 2
    layer = 2 * T * W * 3 * W + 4 * T * T * W + 2 * T * W * W + 4 * T * W * M
    return 2 * g2 * cpp * W + c["num_layers"] * layer + 2 * T * W * D


def torch_bench(model, pixels, threads, seconds):
    torch.set_num_threads(threads)
    x = torch.from_numpy(pixels)
    with torch.inference_mode():
        emb, _ = model(x)  # warm-up
        n, t0 = 0, time.perf_counter()
        while True:
            model(x)
            n += 1
            t = time.perf_counter() - t0
            if t >= seconds and n >= 2:
                break
    return n * pixels.shape[0] / t, emb.numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--shapes", default="b16,l14")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--out")
    a = ap.parse_args()
    rows = []
    env0 = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    with tempfile.TemporaryDirectory() as tmp:
        for key in a.shapes.split(","):
            c = SHAPES[key]
            cfg = os.path.join(tmp, key + ".yaml")
            with open(cfg, "w") as f:
                params = {k: v for k, v in c.items() if k not in ("name", "batch")}
                json.dump({"outputs": {"weights": f"{tmp}/{key}/model.safetensors",
                                       "config": f"{tmp}/{key}/config.json"},
                           "params": dict(params, seed=1)}, f)
            os.makedirs(f"{tmp}/{key}", exist_ok=True)
            subprocess.run([f"{a.build}/bmc-synth", "clip-weights", "--config", cfg], check=True,
                           capture_output=True, env=env0)
            w = read_safetensors(f"{tmp}/{key}/model.safetensors")
            model = TorchClipVision(w, c).eval()
            R, B = c["image_size"], c["batch"]
            pixels = np.random.default_rng(0).standard_normal((B, 3, R, R)).astype(np.float32)
            pix_path = f"{tmp}/{key}/pixels.f32"
            pixels.tofile(pix_path)
            gflop = flops_per_image(c) / 1e9
            for t in [int(x) for x in a.threads.split(",")]:
                env = dict(env0, OPENBLAS_NUM_THREADS=str(t))
                dump = f"{tmp}/{key}/dump.f32"
                p = subprocess.run([f"{a.build}/bench/bench_vit", "--weights", f"{tmp}/{key}/model.safetensors",
                                    "--pixels", pix_path, "--batch", str(B), "--seconds", str(a.seconds),
                                    "--dump", dump], capture_output=True, text=True, env=env, check=True)
                cres = json.loads(p.stdout)
                c_emb = np.fromfile(dump, np.float32, B * c["projection_dim"]).reshape(B, -1)
                t_ips, t_emb = torch_bench(model, pixels, t, a.seconds)
                diff = float(np.abs(c_emb - t_emb).max())
                row = dict(model=c["name"], threads=t, batch=B, c_ips=cres["images_per_s"],
                           torch_ips=t_ips, ratio=cres["images_per_s"] / t_ips,
                           c_gflops=cres["gflops"], torch_gflops=t_ips * gflop,
                           sgemm=cres["sgemm_gflops"], c_frac=cres["fraction_of_sgemm"],
                           torch_frac=t_ips * gflop / cres["sgemm_gflops"], max_abs_diff=diff)
                rows.append(row)
                print(json.dumps(row), flush=True)
    hdr = ("| model | threads | batch | brainmclip img/s | PyTorch img/s | ratio | brainmclip GFLOP/s "
           "| PyTorch GFLOP/s | sgemm GFLOP/s | brainmclip % of sgemm | PyTorch % of sgemm | max abs diff |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    body = "".join(f"| {r['model']} | {r['threads']} | {r['batch']} | {r['c_ips']:.2f} | {r['torch_ips']:.2f} | "
                   f"{r['ratio']:.2f}x | {r['c_gflops']:.1f} | {r['torch_gflops']:.1f} | {r['sgemm']:.1f} | "
                   f"{100 * r['c_frac']:.0f}% | {100 * r['torch_frac']:.0f}% | {r['max_abs_diff']:.1e} |\n"
                   for r in rows)
    print(hdr + body)
    if a.out:
        with open(a.out, "w") as f:
            f.write(hdr + body)


if __name__ == "__main__":
    main()
