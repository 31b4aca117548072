"""An independent forward pass of a GPT-2 or Llama decoder in numpy (float64), written
from Hugging Face's modelling code rather than from the TypeScript reference, to check it.

It reads what a model directory holds on disk (as `writeTestModel` writes it, or a real
model), Hugging Face's `config.json` and `model.safetensors` (F32 or F16), not Tabswarm's normalised config, and recomputes the
whole prefix for every token (no KV cache), so the cache, the layer ranges and the config
parser of the TypeScript side are all under test.

Usage: python3 numpy-decoder.py MODEL_DIR '[prompt token ids]' GREEDY_STEPS
Prints JSON: {"logits": [[vocab floats] per prompt position], "greedy": [ids],
"margins": [top-1 minus top-2 logit at each greedy step]}.
"""

import json
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": "<f4", "F16": "<f2"}[info["dtype"]]
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start : base + end], dtype=dtype)
        tensors[name.removeprefix("transformer.")] = array.reshape(info["shape"]).astype(np.float64)
    return tensors


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def causal_attention(q, k, v):
    # q: [heads, T, d]; k, v: [heads, T, d] (already repeated for grouped queries).
    t = q.shape[1]
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[2])
    scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    return softmax(scores) @ v


def gpt2_logits(cfg, w, tokens):
    t = len(tokens)
    hidden, heads = cfg["n_embd"], cfg["n_head"]
    d = hidden // heads
    eps = cfg.get("layer_norm_epsilon", 1e-5)

    def layer_norm(x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

    def gelu_new(x):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))

    x = w["wte.weight"][tokens] + w["wpe.weight"][np.arange(t)]
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        h = layer_norm(x, p + "ln_1")
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (a.reshape(t, heads, d).transpose(1, 0, 2) for a in np.split(qkv, 3, axis=-1))
        o = causal_attention(q, k, v).transpose(1, 0, 2).reshape(t, hidden)
        x = x + o @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = layer_norm(x, p + "ln_2")
        m = gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, "ln_f")
    lm_head = w.get("lm_head.weight", w["wte.weight"])
    return x @ lm_head.T


def llama_logits(cfg, w, tokens):
    t = len(tokens)
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads", heads)
    d = cfg.get("head_dim", hidden // heads)
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)

    def rms_norm(x, name):
        return x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * w[name]

    # LlamaRotaryEmbedding and apply_rotary_pos_emb: cos/sin of cat(freqs, freqs).
    inv_freq = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    freqs = np.outer(np.arange(t, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb), np.sin(emb)

    def rotate_half(x):
        return np.concatenate([-x[..., d // 2 :], x[..., : d // 2]], axis=-1)

    def rope(x):
        return x * cos + rotate_half(x) * sin

    def silu(x):
        return x / (1 + np.exp(-x))

    x = w["model.embed_tokens.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, p + "input_layernorm.weight")
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(t, heads, d).transpose(1, 0, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(t, kv_heads, d).transpose(1, 0, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(t, kv_heads, d).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        # repeat_kv: each key/value head serves heads // kv_heads consecutive query heads.
        k = np.repeat(k, heads // kv_heads, axis=0)
        v = np.repeat(v, heads // kv_heads, axis=0)
        o = causal_attention(q, k, v).transpose(1, 0, 2).reshape(t, heads * d)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, p + "post_attention_layernorm.weight")
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, "model.norm.weight")
    lm_head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ lm_head.T


def main():
    model_dir, prompt, steps = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    w = load_safetensors(f"{model_dir}/model.safetensors")
    forward = {"gpt2": gpt2_logits, "llama": llama_logits}[cfg["model_type"]]
    logits = forward(cfg, w, np.array(prompt))
    tokens, greedy, margins = list(prompt), [], []
    for _ in range(steps):
        last = forward(cfg, w, np.array(tokens))[-1]
        top2 = np.sort(last)[-2:]
        token = int(np.argmax(last))
        greedy.append(token)
        margins.append(float(top2[1] - top2[0]))
        tokens.append(token)
    json.dump({"logits": logits.tolist(), "greedy": greedy, "margins": margins}, sys.stdout)


main()
