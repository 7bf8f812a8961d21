#!/usr/bin/env python3
"""The PyTorch peer of `mledger bench finetune --peer pytorch`.

Trains a plain Llama of the model directory's config.json shape (RMSNorm, rotary in HF's rotate-half layout,
SwiGLU, tied embeddings, attention with an additive [B, 1, T, P+T] mask as ours builds for packed rows) with
full fine-tuning, LoRA (r=8, alpha 16, on all 7 projections) or P-Tuning v2 (16 prefix key/values per layer,
no projection), AdamW (torch's default implementation), global-norm clipping at 1.0 and loss.item() each step,
as the HF Trainer does. Weights are randomly initialised: throughput does not depend on their values.
Prints one JSON object: tokens/s after the first (warm-up) step, parameters, final loss, peak RSS.
"""
import argparse
import json
import math
import os
import resource
import time


def _openblas_core():
    """Debian's OpenBLAS 0.3.21 does not recognise newer Xeons under a VM and falls back to its SSE3 'Prescott'
    kernels (several times slower than its AVX-512 ones); name the core from the CPU flags unless the user did. Must
    run before torch loads OpenBLAS."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    if "avx512f" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "SKYLAKEX"
    elif "avx2" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "HASWELL"


_openblas_core()
import torch  # noqa: E402  (after the OpenBLAS core is named)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class RmsNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class LoraLinear(nn.Module):
    """y = base(x) + B(A(x)) * alpha / r, base frozen, B zero-initialised (PEFT's LoRA)."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        self.lora_a = nn.Linear(base.in_features, rank, bias=False)
        self.lora_b = nn.Linear(rank, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_a.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_b.weight)
        self.scaling = alpha / rank

    def forward(self, x):
        return self.base(x) + self.lora_b(self.lora_a(x)) * self.scaling


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, f = c["hidden_size"], c["intermediate_size"]
        self.heads = c["num_attention_heads"]
        self.head_dim = h // self.heads
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(h, h, bias=False) for _ in range(4))
        self.gate_proj, self.up_proj = nn.Linear(h, f, bias=False), nn.Linear(h, f, bias=False)
        self.down_proj = nn.Linear(f, h, bias=False)
        self.input_layernorm = RmsNorm(h, c["rms_norm_eps"])
        self.post_attention_layernorm = RmsNorm(h, c["rms_norm_eps"])

    def attention(self, x, cos, sin, mask, prefix):
        b, t, _ = x.shape
        q, k, v = (p(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if prefix is not None:
            k, v = torch.cat([prefix[0], k], 2), torch.cat([prefix[1], v], 2)
        # torch 1.13 has no scaled_dot_product_attention: the math path HF's LlamaAttention used then
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + mask
        out = torch.softmax(scores, -1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))

    def forward(self, x, cos, sin, mask, prefix):
        h = x + self.attention(self.input_layernorm(x), cos, sin, mask, prefix)
        g = self.post_attention_layernorm(h)
        return h + self.down_proj(F.silu(self.gate_proj(g)) * self.up_proj(g))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        nn.init.normal_(self.embed_tokens.weight, std=c.get("initializer_range", 0.02))
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RmsNorm(c["hidden_size"], c["rms_norm_eps"])
        self.prefix = None   # P-Tuning v2: an Embedding [P, layers * 2 * hidden]

    def forward(self, ids):
        c = self.config
        b, t = ids.shape
        heads, layers = c["num_attention_heads"], c["num_hidden_layers"]
        head_dim = c["hidden_size"] // heads
        p = 0 if self.prefix is None else self.prefix.num_embeddings
        inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, head_dim, 2).float() / head_dim))
        freqs = torch.outer(torch.arange(p, p + t).float(), inv)   # real tokens follow the prefix, as PEFT's
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        allowed = torch.cat([torch.ones(t, p, dtype=torch.bool), causal], -1)
        mask = torch.zeros(b, 1, t, p + t).masked_fill(~allowed, torch.finfo(torch.float32).min)
        prefixes = [None] * layers
        if self.prefix is not None:
            kv = self.prefix.weight.view(p, layers, 2, heads, head_dim).permute(1, 2, 3, 0, 4)
            prefixes = [(kv[i, 0].expand(b, -1, -1, -1), kv[i, 1].expand(b, -1, -1, -1)) for i in range(layers)]
        h = self.embed_tokens(ids)
        for layer, prefix in zip(self.layers, prefixes):
            h = layer(h, cos, sin, mask, prefix)
        return F.linear(self.norm(h), self.embed_tokens.weight)   # tied lm_head


def prepare(model, method):
    if method == "full":
        return [p for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    if method == "lora":
        for layer in model.layers:
            for name in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
                setattr(layer, name, LoraLinear(getattr(layer, name), 8, 16.0))
        return [p for n, p in model.named_parameters() if "lora_" in n]
    if method == "ptuning":
        c = model.config
        model.prefix = nn.Embedding(16, c["num_hidden_layers"] * 2 * c["hidden_size"])
        return list(model.prefix.parameters())
    raise SystemExit(f"unknown method '{method}' (full, lora, ptuning)")


def blas():
    """The BLAS library this process loaded (Debian's torch links libblas.so.3, whichever alternative is set)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
    names = ", ".join(sorted(os.path.basename(os.path.dirname(l)) + "/" + os.path.basename(l) for l in libs)) or "?"
    core = os.environ.get("OPENBLAS_CORETYPE")
    return f"{names} (OPENBLAS_CORETYPE {core})" if core and "openblas" in names else names


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--model", required=True, help="HF model directory (its config.json gives the shape)")
    args.add_argument("--method", required=True, choices=["full", "lora", "ptuning"])
    args.add_argument("--steps", type=int, default=5)
    args.add_argument("--seq", type=int, default=256)
    args.add_argument("--batch", type=int, default=4)
    a = args.parse_args()
    with open(os.path.join(a.model, "config.json")) as f:
        config = json.load(f)
    # one thread per core, as libtorch does for ours (Debian's build starts with 1 here)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    model = Llama(config)
    trainable = prepare(model, a.method)
    model.train()
    lr = {"full": 1e-4, "lora": 1e-3, "ptuning": 2e-2}[a.method]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.0)
    data = torch.randint(0, config["vocab_size"], (a.steps, a.batch, a.seq))
    starts, loss = [], float("nan")
    for step in range(a.steps):
        starts.append(time.perf_counter())
        logits = model(data[step])
        out = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), data[step][:, 1:].reshape(-1))
        out.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss = out.item()
    end = time.perf_counter()
    measured = a.steps - 1 if a.steps > 1 else 1
    seconds = end - (starts[1] if a.steps > 1 else starts[0])
    print(json.dumps({
        "peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas(),
        "method": a.method,
        "tokens_per_second": measured * a.batch * a.seq / seconds,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "final_train_loss": loss, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
