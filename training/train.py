"""Trains the three bundled models: identical Llama-style decoders that differ ONLY in the number of
key/value heads (8 = multi-head, 2 = grouped-query, 1 = multi-query), on the same data in the same
order, with the same seed, steps and schedule. Comparing them compares the attention variants.

The architecture is Hugging Face's LlamaForCausalLM (RMSNorm, RoPE, SwiGLU, tied embeddings), the
same one the TypeScript decoder in src/model implements, so the saved folder is a plain Hugging Face
checkpoint that loads in `transformers` and in the extension alike.

Data: the corpus from training/corpus (documents separated by "\\x1e"), tokenized with the project's
tokenizer (training/tokenizer), each document starting with <|bos|>. Training windows of `context`
tokens are cut at seeded random offsets of the token stream: the same windows, in the same order,
for every variant.

Resumable: every `--checkpoint-every` steps the weights, optimizer and scheduler state, the step and
the random state go to training/checkpoints/<variant>/latest.pt (out of git); running the same
command again continues from there, on this machine or another.

    .venv/bin/python training/train.py --variant gqa            # one variant
    .venv/bin/python training/train.py --variant all            # mha, gqa, mqa one after another
    .venv/bin/python training/train.py --variant mha --steps 200 --output /tmp/try   # a quick try
"""

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "training" / "corpus" / "out"
CHECKPOINTS = ROOT / "training" / "checkpoints"
MODELS = ROOT / "media" / "models"
DOCUMENT_SEPARATOR = "\x1e"

VARIANTS = {"mha": 8, "gqa": 2, "mqa": 1}

# Sizes chosen to train on two CPU cores in well under an hour per model (see the model cards).
ARCHITECTURE = dict(
    hidden_size=128,
    intermediate_size=384,
    num_hidden_layers=3,
    num_attention_heads=8,
    max_position_embeddings=512,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    tie_word_embeddings=True,
)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=[*VARIANTS, "all"], required=True)
    parser.add_argument("--tokenizer", type=Path, default=ROOT / "training" / "tokenizer" / "out" / "tokenizer.json")
    parser.add_argument("--steps", type=int, default=14000)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--warmup-steps", type=int, default=300)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--evaluate-every", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=MODELS)
    parser.add_argument("--continue-from", type=int, default=None,
                        help="a second phase: from this step on, warm up again to --continue-peak and decay over the remaining steps")
    parser.add_argument("--continue-peak", type=float, default=1.5e-3)
    parser.add_argument("--repeat-fraction", type=float, default=0.0,
                        help="in the phase that --continue-from starts, the share of training rows whose text is a span followed by the same span again")
    parser.add_argument("--dense-repeat-fraction", type=float, default=0.0,
                        help="in the phase that --continue-from starts, the share of training rows whose text is read in short pieces, each piece twice")
    parser.add_argument("--start-from-folder", type=Path, default=None,
                        help="with no checkpoint to resume, start from a saved model folder (its weights, steps and history; a fresh optimizer)")
    parser.add_argument("--export-only", action="store_true", help="save the latest checkpoint as a model folder and stop (to try an unfinished run)")
    return parser.parse_args()


def read_documents(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [document.strip("\n") for document in text.split(DOCUMENT_SEPARATOR) if document.strip()]


def tokenize_corpus(tokenizer: Tokenizer, path: Path, cache: Path) -> np.ndarray:
    """All documents of a file as one uint16 token stream, <|bos|> before each; cached on disk."""
    if cache.exists() and cache.stat().st_mtime > max(path.stat().st_mtime, tokenizer_path_mtime):
        return np.fromfile(cache, dtype=np.uint16)
    bos = tokenizer.token_to_id("<|bos|>")
    documents = read_documents(path)
    stream = []
    for start in range(0, len(documents), 512):
        for encoding in tokenizer.encode_batch(documents[start : start + 512]):
            stream.append(bos)
            stream.extend(encoding.ids)
    tokens = np.asarray(stream, dtype=np.uint16)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tokens.tofile(cache)
    return tokens


def learning_rate_at(step: int, arguments) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak. With --continue-from, a second
    phase of the same shape (a shorter warm-up to --continue-peak) over the steps after it."""
    if arguments.continue_from is not None and step >= arguments.continue_from:
        local, length, warmup = step - arguments.continue_from, arguments.steps - arguments.continue_from, 200
        start = arguments.learning_rate * 0.1
        if local < warmup:
            return start + (arguments.continue_peak - start) * (local + 1) / warmup
        progress = (local - warmup) / max(1, length - warmup)
        return arguments.continue_peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
    if step < arguments.warmup_steps:
        return arguments.learning_rate * (step + 1) / arguments.warmup_steps
    progress = (step - arguments.warmup_steps) / max(1, arguments.steps - arguments.warmup_steps)
    return arguments.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def window_offsets(token_count: int, arguments) -> np.ndarray:
    """The start of every training window, fixed by the seed: identical for every variant."""
    generator = np.random.default_rng(arguments.seed)
    return generator.integers(0, token_count - arguments.context - 1, size=(arguments.steps, arguments.batch_size))


def repeated_span_lengths(arguments) -> np.ndarray:
    """For every (step, row): 0 for an ordinary window, or the length of a span of corpus text that
    the row holds twice in a row (span, span, then the text after it). Natural text read a second
    time rewards copying from context, the job of induction heads; the corpus alone repeats too
    little within 512 tokens for them to form in a small budget. Fixed by the seed, like the windows."""
    lengths = np.zeros((arguments.steps, arguments.batch_size), dtype=np.int64)
    if arguments.repeat_fraction <= 0 or arguments.continue_from is None:
        return lengths
    generator = np.random.default_rng(arguments.seed + 1)
    chosen = generator.random(size=lengths.shape) < arguments.repeat_fraction
    spans = generator.integers(16, arguments.context // 2, size=lengths.shape)
    lengths[arguments.continue_from :] = np.where(chosen, spans, 0)[arguments.continue_from :]
    return lengths


def dense_repeat_rows(arguments) -> np.ndarray:
    """For every (step, row): whether the row reads its window in short pieces, each piece twice
    (see dense_repeat_row). Chosen by the seed, from the phase --continue-from starts; such a row
    replaces a span row there."""
    chosen = np.zeros((arguments.steps, arguments.batch_size), dtype=bool)
    if arguments.dense_repeat_fraction <= 0 or arguments.continue_from is None:
        return chosen
    generator = np.random.default_rng(arguments.seed + 2)
    drawn = generator.random(size=chosen.shape) < arguments.dense_repeat_fraction
    chosen[arguments.continue_from :] = drawn[arguments.continue_from :]
    return chosen


def dense_row_seed(seed: int, step: int, batch_size: int, index: int) -> int:
    """The seed of the piece lengths of row `index` of `step`'s batch: one per row of a run."""
    return seed * 1_000_003 + step * batch_size + index


def dense_repeat_row(tokens: np.ndarray, offset: int, context: int, seed: int) -> np.ndarray:
    """context + 1 tokens: the text from `offset` cut into pieces of 8-64 tokens, each piece followed
    by itself. Half the row can be predicted by copying the token after the earlier occurrence of the
    current one, so the gradient toward an induction head is far stronger than with one long span.
    The piece lengths come from `seed`, so a row is the same wherever and whenever it is made."""
    generator = np.random.default_rng(seed)
    pieces, length, start = [], 0, offset
    while length < context + 1:
        size = int(generator.integers(8, 65))
        piece = tokens[start : start + size]
        pieces += [piece, piece]
        length, start = length + 2 * size, start + size
    return np.concatenate(pieces)[: context + 1].astype(np.int64)


def training_row(tokens: np.ndarray, offset: int, span: int, context: int) -> np.ndarray:
    """context + 1 tokens from `offset`; with a span, the first `span` of them twice, then onwards."""
    if span == 0:
        return tokens[offset : offset + context + 1].astype(np.int64)
    first = tokens[offset : offset + span]
    rest = tokens[offset + span : offset + span + context + 1 - 2 * span]
    return np.concatenate([first, first, rest]).astype(np.int64)


@torch.no_grad()
def validation_loss(model, tokens: np.ndarray, context: int, windows: int = 48) -> float:
    model.eval()
    count = min(windows, (len(tokens) - 1) // context)
    losses = []
    for index in range(count):
        chunk = torch.from_numpy(tokens[index * context : index * context + context + 1].astype(np.int64))
        output = model(input_ids=chunk[:-1].unsqueeze(0), labels=chunk[:-1].unsqueeze(0))
        losses.append(output.loss.item())
    model.train()
    return float(np.mean(losses))


@torch.no_grad()
def head_scores(model, vocab_size: int, bos: int, seed: int, repeat_length: int = 50) -> dict:
    """Best previous-token and induction scores over all heads, to watch them form while training.
    (The model cards use the TypeScript implementation, src/model/head-metrics.ts.)"""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(3, vocab_size, (repeat_length,), generator=generator)
    sequence = torch.cat([torch.tensor([bos]), tokens, tokens]).unsqueeze(0)
    model.eval()
    model.set_attn_implementation("eager")
    attentions = model(input_ids=sequence, output_attentions=True).attentions  # L x (1, nh, T, T)
    model.set_attn_implementation("sdpa")
    model.train()
    queries = torch.arange(1 + repeat_length, 2 * repeat_length)  # the second copy, but its last token
    best_induction, best_previous = 0.0, 0.0
    for layer_map in attentions:
        weights = layer_map[0]  # (nh, T, T)
        induction = weights[:, queries, queries - repeat_length + 1].mean(-1)
        all_queries = torch.arange(1, sequence.shape[1])
        previous = weights[:, all_queries, all_queries - 1].mean(-1)
        best_induction = max(best_induction, induction.max().item())
        best_previous = max(best_previous, previous.max().item())
    return {"best_induction": round(best_induction, 4), "best_previous_token": round(best_previous, 4)}


def build_model(variant: str, vocab_size: int, special_ids: dict, seed: int) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        num_key_value_heads=VARIANTS[variant],
        bos_token_id=special_ids["bos"],
        eos_token_id=special_ids["eos"],
        pad_token_id=special_ids["pad"],
        attn_implementation="sdpa",
        **ARCHITECTURE,
    )
    return LlamaForCausalLM(config)


def train_variant(variant: str, arguments, tokenizer: Tokenizer, streams: dict) -> None:
    special_ids = {name: tokenizer.token_to_id(f"<|{name}|>") for name in ("bos", "eos", "pad")}
    model = build_model(variant, tokenizer.get_vocab_size(), special_ids, arguments.seed)
    optimizer = make_optimizer(model, arguments.learning_rate, arguments.weight_decay)
    checkpoint_path = CHECKPOINTS / variant / "latest.pt"
    history = []
    phases = []
    step = 0
    started_from_folder = False
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
        phases = state.get("phases") or earlier_phase(state.get("arguments", {}))
        torch.set_rng_state(state["torch_rng"])
        print(f"[{variant}] resumed at step {step}")
    elif arguments.start_from_folder is not None:
        step, history, phases = start_from_folder(model, arguments.start_from_folder, variant)
        started_from_folder = True
        print(f"[{variant}] started from {arguments.start_from_folder} at step {step}")

    if arguments.export_only:
        if not checkpoint_path.exists():
            raise SystemExit(f"no checkpoint to export at {checkpoint_path}")
        save_final(variant, model, arguments, history, phases, special_ids, steps_done=step)
        return

    if arguments.continue_from is not None and not any(phase["from_step"] == arguments.continue_from for phase in phases):
        phases.append({"from_step": arguments.continue_from, "to_step": arguments.steps, "peak_learning_rate": arguments.continue_peak,
                       "warmup_steps": 200, "repeat_fraction": arguments.repeat_fraction,
                       "dense_repeat_fraction": arguments.dense_repeat_fraction,
                       "optimizer_restarted": started_from_folder})
    offsets = window_offsets(len(streams["train"]), arguments)
    spans = repeated_span_lengths(arguments)
    dense = dense_repeat_rows(arguments)
    train_tokens = streams["train"]
    model.train()
    started = time.time()
    tokens_per_step = arguments.batch_size * arguments.context
    while step < arguments.steps:
        rows = [
            dense_repeat_row(train_tokens, offset, arguments.context, dense_row_seed(arguments.seed, step, arguments.batch_size, index))
            if dense[step, index] else training_row(train_tokens, offset, span, arguments.context)
            for index, (offset, span) in enumerate(zip(offsets[step], spans[step]))
        ]
        loss = training_step(model, optimizer, rows, learning_rate_at(step, arguments))
        step += 1
        if step % 100 == 0:
            elapsed = time.time() - started
            print(f"[{variant}] step {step}/{arguments.steps} loss {loss.item():.3f} lr {learning_rate_at(step, arguments):.2e} {tokens_per_step * 100 / max(elapsed, 1e-9):.0f} tokens/s", flush=True)
            started = time.time()
        if step % arguments.evaluate_every == 0 or step == arguments.steps:
            entry = {
                "step": step,
                "tokens_seen": step * tokens_per_step,
                "train_loss": loss.item(),
                "validation_loss_prose": validation_loss(model, streams["validation-prose"], arguments.context),
                "validation_loss_code": validation_loss(model, streams["validation-code"], arguments.context),
                **head_scores(model, model.config.vocab_size, special_ids["bos"], arguments.seed),
            }
            history.append(entry)
            print(f"[{variant}] {json.dumps(entry)}", flush=True)
        if step % arguments.checkpoint_every == 0 or step == arguments.steps:
            checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
            temporary = checkpoint_path.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                        "history": history, "phases": phases, "torch_rng": torch.get_rng_state(), "arguments": vars(arguments) | {"tokenizer": str(arguments.tokenizer), "output": str(arguments.output)}}, temporary)
            os.replace(temporary, checkpoint_path)

    save_final(variant, model, arguments, history, phases, special_ids)


def make_optimizer(model, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices only (not on norms' gains or biases)."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=learning_rate, betas=(0.9, 0.95),
    )


def training_step(model, optimizer, rows: list, learning_rate: float) -> torch.Tensor:
    """One step on a batch of `rows` (each context + 1 tokens): next-token loss, gradients clipped at 1."""
    batch = torch.from_numpy(np.stack(rows))
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
    loss = model(input_ids=batch[:, :-1], labels=batch[:, :-1]).loss
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss


def start_from_folder(model: LlamaForCausalLM, folder: Path, variant: str) -> tuple[int, list, list]:
    """A saved model folder as the starting point of a longer run: its (float16) weights, its step,
    history and phases. The optimizer starts afresh (the phase that follows warms up again, and its
    record says so)."""
    training = json.loads((folder / "training.json").read_text())
    if training["variant"] != variant:
        raise SystemExit(f"{folder} holds the {training['variant']} model, not {variant}")
    saved = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.load_state_dict(saved.state_dict())
    return training["steps"], training.get("history", []), training.get("phases", [])


def earlier_phase(saved_arguments: dict) -> list:
    """The phase record of a checkpoint written before phases were recorded: its own --continue-from."""
    if saved_arguments.get("continue_from") is None:
        return []
    return [{"from_step": saved_arguments["continue_from"], "to_step": saved_arguments["steps"],
             "peak_learning_rate": saved_arguments["continue_peak"], "warmup_steps": 200,
             "repeat_fraction": saved_arguments.get("repeat_fraction", 0.0)}]


def save_final(variant: str, model: LlamaForCausalLM, arguments, history: list, phases: list, special_ids: dict, steps_done: int | None = None) -> None:
    """A Hugging Face checkpoint folder: config.json, model.safetensors (float16), tokenizer.json,
    generation_config.json, and training.json (the numbers the model card reports)."""
    steps = arguments.steps if steps_done is None else steps_done
    folder = arguments.output / f"attention-lens-{variant}"
    folder.mkdir(parents=True, exist_ok=True)
    model.config.use_cache = True
    model.half().save_pretrained(folder, safe_serialization=True)
    model.float()
    (folder / "tokenizer.json").write_bytes(arguments.tokenizer.read_bytes())
    record_path = folder / "training.json"
    earlier = json.loads(record_path.read_text()) if record_path.exists() else {}
    # What was written into the record by hand (runs tried and not kept, wall-clock time) stays.
    kept = {key: earlier[key] for key in ("experiments", "wall_minutes") if key in earlier and earlier.get("variant") == variant}
    record_path.write_text(json.dumps({
        "variant": variant,
        "num_key_value_heads": VARIANTS[variant],
        "steps": steps,
        "scheduled_steps": arguments.steps,
        "batch_size": arguments.batch_size,
        "context": arguments.context,
        "tokens_seen": steps * arguments.batch_size * arguments.context,
        "learning_rate": arguments.learning_rate,
        "warmup_steps": arguments.warmup_steps,
        "weight_decay": arguments.weight_decay,
        "seed": arguments.seed,
        "torch_version": torch.__version__,
        "phases": phases,
        "history": history,
        **kept,
    }, indent=2) + "\n")
    print(f"[{variant}] saved {folder}")


tokenizer_path_mtime = 0.0


def main():
    global tokenizer_path_mtime
    arguments = parse_arguments()
    torch.set_num_threads(arguments.threads)
    tokenizer_path_mtime = arguments.tokenizer.stat().st_mtime
    tokenizer = Tokenizer.from_file(str(arguments.tokenizer))
    if arguments.export_only:
        streams = {}
    else:
        streams = {
        name: tokenize_corpus(tokenizer, CORPUS / f"{name}.txt", CHECKPOINTS / "tokens" / f"{name}.bin")
        for name in ("train", "validation-prose", "validation-code")
        }
        print({name: len(tokens) for name, tokens in streams.items()}, "tokens")
    for variant in VARIANTS if arguments.variant == "all" else [arguments.variant]:
        train_variant(variant, arguments, tokenizer, streams)


if __name__ == "__main__":
    main()
