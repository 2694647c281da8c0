"""Random-weight checkpoints with the exact shapes of three real models, for benchmarks.

The benchmarks time the extension's decoder at real model sizes (SmolLM2-135M, Qwen2.5-0.5B,
GPT-2 small). Only the shapes matter for timing, and real weights are not part of the repository
(nor downloadable here), so this builds each model with Hugging Face transformers from a config
written below, fills it with seeded random weights and saves a plain checkpoint folder:

    DIR/<name>/config.json, model.safetensors (float32), generation_config.json

Biases (which transformers initialises to 0) get small noise and the norm gains are moved off 1,
so that a bias or a norm that is not applied changes the result.

A folder that already holds config.json and model.safetensors is skipped, and each model is
written into a temporary sibling folder that is renamed at the end, so the script is resumable
and an interrupted run never leaves a half-written folder.

    .venv/bin/python scripts/bench/make_bench_checkpoints.py --out DIR [--only NAME]
"""

import argparse
import gc
import os
import shutil
import sys
import time
from pathlib import Path

# name -> (transformers model class, config class, config fields); the classes are looked up
# lazily so that a run with nothing to make does not import torch.
MODELS = {
    "smollm2-135m-shape": (
        "LlamaForCausalLM",
        "LlamaConfig",
        dict(
            vocab_size=49152,
            hidden_size=576,
            intermediate_size=1536,
            num_hidden_layers=30,
            num_attention_heads=9,
            num_key_value_heads=3,
            max_position_embeddings=8192,
            rope_theta=100000.0,
            rms_norm_eps=1e-5,
            tie_word_embeddings=True,
            bos_token_id=1,
            eos_token_id=2,
        ),
    ),
    "qwen2.5-0.5b-shape": (
        "Qwen2ForCausalLM",
        "Qwen2Config",
        dict(
            vocab_size=151936,
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            max_position_embeddings=32768,
            rope_theta=1000000.0,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
            use_sliding_window=False,
            bos_token_id=151643,
            eos_token_id=151643,
        ),
    ),
    "gpt2-small-shape": (
        "GPT2LMHeadModel",
        "GPT2Config",
        dict(
            vocab_size=50257,
            n_positions=1024,
            n_embd=768,
            n_layer=12,
            n_head=12,
            n_inner=3072,
            activation_function="gelu_new",
            tie_word_embeddings=True,
        ),
    ),
}


def perturb(model):
    """Norm gains to 1 + 0.1*randn, every bias (norm biases included) to 0.02*randn."""
    import torch

    done = set()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm) or type(module).__name__.endswith("RMSNorm"):
                if getattr(module, "weight", None) is not None:
                    module.weight.copy_(1 + 0.1 * torch.randn_like(module.weight))
                    done.add(id(module.weight))
                if getattr(module, "bias", None) is not None:
                    module.bias.normal_(0.0, 0.02)
                    done.add(id(module.bias))
        for name, parameter in model.named_parameters():
            if id(parameter) not in done and name.endswith(".bias"):
                parameter.normal_(0.0, 0.02)


def folder_mb(path):
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file()) / 1e6


def make(name, out):
    """Builds, perturbs and saves one model into out/<name>/; skips a complete folder."""
    target = out / name
    start = time.perf_counter()
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        print(f"{name}: skipped (exists), {folder_mb(target):.1f} MB, {time.perf_counter() - start:.1f} s", flush=True)
        return
    import torch
    import transformers

    model_name, config_name, fields = MODELS[name]
    temporary = out / f".{name}.partial"
    shutil.rmtree(temporary, ignore_errors=True)
    torch.manual_seed(0)
    model = getattr(transformers, model_name)(getattr(transformers, config_name)(**fields)).to(torch.float32).eval()
    perturb(model)
    parameters = sum(p.numel() for p in model.parameters())
    model.save_pretrained(temporary, safe_serialization=True)
    del model
    gc.collect()
    if target.exists():  # an incomplete folder left by something else
        shutil.rmtree(target)
    os.replace(temporary, target)
    print(
        f"{name}: made, {parameters / 1e6:.1f}M parameters, {folder_mb(target):.1f} MB, "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder that receives one sub-folder per model")
    parser.add_argument("--only", choices=sorted(MODELS), help="make this model only")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in [args.only] if args.only else MODELS:
        make(name, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
