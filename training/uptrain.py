"""Uptrains grouped-query (2 K/V heads) and multi-query (1) models from the bundled multi-head model,
as Ainslie et al. (2023) do: pool the key and value heads of each group into one (their mean), then
continue training on the original data for a small fraction of the original tokens, with the same
schedule shape (linear warm-up, cosine decay to a tenth of the peak). Both variants get exactly the
same windows, in the same order, steps and schedule: only the number of groups differs.

The multi-head model, its numbers before conversion, the converted model's right after it (no
training) and the uptraining's history all go into the output folder's training.json, for the
model cards (training/model-cards.ts).

Data: the training stream of training/train.py (same corpus and tokenizer), windows at seeded random
offsets of their own, and rows holding a span twice (train.py's --repeat-fraction) or read in short
pieces, each twice (--dense-repeat-fraction), as the multi-head model saw them: with --data-mix phased (the default) its run compressed into the
uptraining's steps (step s of n stands for its step s/n of its run, and takes that phase's shares of
such rows); with --data-mix overall its share over the whole run, on every step.

Resumable like train.py: every --checkpoint-every steps the state goes to
training/checkpoints/uptrain-<variant>-<recipe>/latest.pt; running the same command again continues.

    .venv/bin/python training/uptrain.py --variant all                 # gqa then mqa, 10% of the tokens
    .venv/bin/python training/uptrain.py --variant gqa --fraction 0.05 --output /tmp/try
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train  # noqa: E402  (the data pipeline and the evaluation of the from-scratch runs)
from key_value_conversion import convert_llama_state  # noqa: E402

ROOT = train.ROOT
VARIANTS = {"gqa": 2, "mqa": 1}


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=[*VARIANTS, "all"], required=True)
    parser.add_argument("--source", type=Path, default=train.MODELS / "attention-lens-mha")
    parser.add_argument("--method", choices=["mean", "first"], default="mean")
    parser.add_argument("--fraction", type=float, default=0.10, help="share of the source model's training tokens to train on")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="the peak (the source's later phases used 1e-3)")
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--data-mix", choices=["phased", "overall"], default="phased")
    parser.add_argument("--seed", type=int, default=4321)
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--evaluate-every", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=train.MODELS)
    return parser.parse_args()


ROW_KINDS = ("repeat_fraction", "dense_repeat_fraction")  # span rows (train.py --repeat-fraction), dense rows (--dense-repeat-fraction)


def overall_share(source_training: dict, kind: str) -> float:
    """The share of the source's training rows of one kind (ROW_KINDS), over its whole run."""
    steps = source_training["steps"]
    rows = sum((phase["to_step"] - phase["from_step"]) * phase.get(kind, 0.0) for phase in source_training.get("phases", []))
    return rows / steps


def row_shares(source_training: dict, steps: int, data_mix: str) -> dict[str, np.ndarray]:
    """Per uptraining step and per row kind (ROW_KINDS), the share of rows of that kind."""
    if data_mix == "overall":
        return {kind: np.full(steps, overall_share(source_training, kind)) for kind in ROW_KINDS}
    source_steps = (np.arange(steps) + 0.5) / steps * source_training["steps"]
    shares = {kind: np.zeros(steps) for kind in ROW_KINDS}
    for phase in source_training.get("phases", []):
        inside = (source_steps >= phase["from_step"]) & (source_steps < phase["to_step"])
        for kind in ROW_KINDS:
            shares[kind][inside] = phase.get(kind, 0.0)
    return shares


def learning_rate_at(step: int, steps: int, arguments) -> float:
    if step < arguments.warmup_steps:
        return arguments.learning_rate * (step + 1) / arguments.warmup_steps
    progress = (step - arguments.warmup_steps) / max(1, steps - arguments.warmup_steps)
    return arguments.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def load_source(source: Path) -> tuple[dict, dict, dict]:
    config = json.loads((source / "config.json").read_text())
    state = {name: tensor.float() for name, tensor in load_file(source / "model.safetensors").items()}
    training = json.loads((source / "training.json").read_text())
    return config, state, training


def converted_model(source_config: dict, state: dict, groups: int, method: str) -> LlamaForCausalLM:
    fields = {key: value for key, value in source_config.items() if key not in ("architectures", "dtype", "transformers_version")}
    config = LlamaConfig(**{**fields, "num_key_value_heads": groups})
    config._attn_implementation = "sdpa"
    model = LlamaForCausalLM(config)
    converted = convert_llama_state(state, source_config["num_key_value_heads"], groups, method)
    if "lm_head.weight" not in converted and config.tie_word_embeddings:
        converted["lm_head.weight"] = converted["model.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(converted, strict=False)
    if unexpected or [name for name in missing if name != "lm_head.weight"]:
        raise SystemExit(f"the converted weights do not fit: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    return model


def evaluate(model, streams: dict, context: int, special_ids: dict, seed: int) -> dict:
    return {
        "validation_loss_prose": train.validation_loss(model, streams["validation-prose"], context),
        "validation_loss_code": train.validation_loss(model, streams["validation-code"], context),
        **train.head_scores(model, model.config.vocab_size, special_ids["bos"], seed),
    }


def uptrain_variant(variant: str, arguments, tokenizer: Tokenizer, streams: dict) -> None:
    groups = VARIANTS[variant]
    source_config, source_state, source_training = load_source(arguments.source)
    special_ids = {name: tokenizer.token_to_id(f"<|{name}|>") for name in ("bos", "eos", "pad")}
    batch_size, context = source_training["batch_size"], source_training["context"]
    steps = round(source_training["steps"] * arguments.fraction)
    shares = row_shares(source_training, steps, arguments.data_mix)

    model = converted_model(source_config, source_state, groups, arguments.method)
    optimizer = train.make_optimizer(model, arguments.learning_rate, arguments.weight_decay)
    # One folder per recipe, so that a run with other settings never resumes from this one.
    recipe = f"{arguments.method}-{arguments.fraction:g}-{arguments.data_mix}-seed{arguments.seed}-from-step{source_training['steps']}"
    checkpoint_path = train.CHECKPOINTS / f"uptrain-{variant}-{recipe}" / "latest.pt"
    step, history, before, after = 0, [], None, None
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history, before, after = state["step"], state["history"], state["before"], state["after"]
        torch.set_rng_state(state["torch_rng"])
        print(f"[{variant}] resumed at step {step}", flush=True)
    else:
        torch.manual_seed(arguments.seed)
        source = LlamaForCausalLM.from_pretrained(arguments.source, dtype=torch.float32, attn_implementation="sdpa")
        before = evaluate(source, streams, context, special_ids, source_training["seed"])
        after = evaluate(model, streams, context, special_ids, source_training["seed"])
        print(f"[{variant}] before conversion {json.dumps(before)}\n[{variant}] right after {json.dumps(after)}", flush=True)

    generator = np.random.default_rng(arguments.seed)
    train_tokens = streams["train"]
    offsets = generator.integers(0, len(train_tokens) - context - 1, size=(steps, batch_size))
    chosen = generator.random(size=(steps, batch_size)) < shares["repeat_fraction"][:, None]
    spans = np.where(chosen, generator.integers(16, context // 2, size=(steps, batch_size)), 0)
    # Drawn after the span rows, so that a source without dense rows gives the windows and spans it always gave.
    dense = generator.random(size=(steps, batch_size)) < shares["dense_repeat_fraction"][:, None]

    model.train()
    started = time.time()
    tokens_per_step = batch_size * context
    while step < steps:
        rows = [
            train.dense_repeat_row(train_tokens, offset, context, train.dense_row_seed(arguments.seed, step, batch_size, index))
            if dense[step, index] else train.training_row(train_tokens, offset, span, context)
            for index, (offset, span) in enumerate(zip(offsets[step], spans[step]))
        ]
        loss = train.training_step(model, optimizer, rows, learning_rate_at(step, steps, arguments))
        step += 1
        if step % 100 == 0:
            elapsed = time.time() - started
            print(f"[{variant}] step {step}/{steps} loss {loss.item():.3f} {tokens_per_step * 100 / max(elapsed, 1e-9):.0f} tokens/s", flush=True)
            started = time.time()
        if step % arguments.evaluate_every == 0 or step == steps:
            entry = {"step": step, "tokens_seen": step * tokens_per_step, "train_loss": loss.item(),
                     **evaluate(model, streams, context, special_ids, source_training["seed"])}
            history.append(entry)
            print(f"[{variant}] {json.dumps(entry)}", flush=True)
        if step % arguments.checkpoint_every == 0 or step == steps:
            checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
            temporary = checkpoint_path.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "history": history,
                        "before": before, "after": after, "torch_rng": torch.get_rng_state()}, temporary)
            os.replace(temporary, checkpoint_path)

    folder = arguments.output / f"attention-lens-{variant}-uptrained"
    folder.mkdir(parents=True, exist_ok=True)
    model.config.use_cache = True
    model.half().save_pretrained(folder, safe_serialization=True)
    (folder / "tokenizer.json").write_bytes((arguments.source / "tokenizer.json").read_bytes())
    (folder / "training.json").write_text(json.dumps({
        "variant": f"{variant}-uptrained",
        "num_key_value_heads": groups,
        "uptrained_from": arguments.source.name,
        "conversion": arguments.method,
        "fraction_of_source_tokens": arguments.fraction,
        "source_tokens_seen": source_training["tokens_seen"],
        "steps": steps,
        "batch_size": batch_size,
        "context": context,
        "tokens_seen": steps * tokens_per_step,
        "learning_rate": arguments.learning_rate,
        "warmup_steps": arguments.warmup_steps,
        "weight_decay": arguments.weight_decay,
        "seed": arguments.seed,
        "data_mix": arguments.data_mix,
        "repeat_fraction": round(float(shares["repeat_fraction"].mean()), 4),
        "dense_repeat_fraction": round(float(shares["dense_repeat_fraction"].mean()), 4),
        "torch_version": torch.__version__,
        "before_conversion": before,
        "after_conversion": after,
        "history": history,
    }, indent=2) + "\n")
    print(f"[{variant}] saved {folder}", flush=True)


def main():
    arguments = parse_arguments()
    torch.set_num_threads(arguments.threads)
    tokenizer_path = arguments.source / "tokenizer.json"
    train.tokenizer_path_mtime = tokenizer_path.stat().st_mtime
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    streams = {
        name: train.tokenize_corpus(tokenizer, train.CORPUS / f"{name}.txt", train.CHECKPOINTS / "tokens" / f"{name}.bin")
        for name in ("train", "validation-prose", "validation-code")
    }
    print({name: len(tokens) for name, tokens in streams.items()}, "tokens", flush=True)
    for variant in VARIANTS if arguments.variant == "all" else [arguments.variant]:
        uptrain_variant(variant, arguments, tokenizer, streams)


if __name__ == "__main__":
    main()
