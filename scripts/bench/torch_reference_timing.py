"""PyTorch eager CPU timing of a checkpoint, as a reference for the TypeScript benchmark.

Same model folder and same token ids as the TypeScript benchmark; attention weights are returned
(eager attention, output_attentions=True) because the extension always computes them. For each
length T:

  * prefill: a forward of ids[:T] with the KV cache on; one warm-up, then --repeats timed runs;
  * step: one cached step of the single token ids[T] on top of the cache of a T-token prefill;
    one warm-up, then --repeats timed runs, each on a fresh copy of that cache (length T).

Prints one JSON object to stdout (everything else goes to stderr):

    {"torch": "...", "threads": N, "model": "<folder name>",
     "results": [{"tokens": T, "prefill_ms": [...], "step_ms": [...]}], "peak_rss_bytes": N}

    .venv/bin/python scripts/bench/torch_reference_timing.py --model DIR --ids-file F \\
        --lengths 128,512,1024 --repeats 3 [--threads 1]

The ids file is JSON: {"ids": [int, ...]} with at least max(lengths) + 1 ids.
"""

import argparse
import contextlib
import copy
import json
import resource
import sys
import time
from pathlib import Path


def fail(message):
    print(f"torch_reference_timing: {message}", file=sys.stderr)
    sys.exit(1)


def parse_lengths(text):
    try:
        lengths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}")
    if not lengths or min(lengths) < 1:
        raise argparse.ArgumentTypeError(f"lengths must be positive integers: {text!r}")
    return lengths


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def read_ids(path, needed):
    if not path.is_file():
        fail(f"ids file not found: {path}")
    try:
        ids = json.loads(path.read_text())["ids"]
    except (ValueError, KeyError, TypeError) as error:
        fail(f'ids file is not JSON of the form {{"ids": [int, ...]}}: {path} ({error})')
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        fail(f'"ids" in {path} must be a list of integers')
    if len(ids) < needed:
        fail(f"ids file too short: {len(ids)} ids in {path}, need at least max(lengths) + 1 = {needed}")
    return ids


def peak_rss_bytes():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def ms_since(start):
    return (time.perf_counter() - start) * 1000.0


def time_model(model, ids, lengths, repeats, torch):
    input_ids = torch.tensor([ids], dtype=torch.long)
    results = []
    for T in lengths:
        prompt = input_ids[:, :T]
        new_token = input_ids[:, T : T + 1]

        def prefill():
            return model(prompt, output_attentions=True, use_cache=True)

        def step(cache):
            return model(new_token, past_key_values=cache, output_attentions=True, use_cache=True)

        prefill()  # warm-up
        prefill_ms = []
        for _ in range(repeats):
            start = time.perf_counter()
            output = prefill()
            prefill_ms.append(ms_since(start))
        cache = output.past_key_values
        del output

        step(copy.deepcopy(cache))  # warm-up
        step_ms = []
        for _ in range(repeats):
            fresh = copy.deepcopy(cache)  # cache length T for every run
            start = time.perf_counter()
            step(fresh)
            step_ms.append(ms_since(start))
            del fresh
        del cache
        results.append({"tokens": T, "prefill_ms": prefill_ms, "step_ms": step_ms})
        print(f"T={T}: prefill {prefill_ms} ms, step {step_ms} ms", file=sys.stderr, flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="Hugging Face checkpoint folder")
    parser.add_argument("--ids-file", required=True, type=Path, help='JSON file {"ids": [int, ...]}')
    parser.add_argument("--lengths", type=parse_lengths, default=[128, 512, 1024], help="comma-separated prompt lengths")
    parser.add_argument("--repeats", type=positive_int, default=3, help="timed runs per measurement")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch.set_num_threads")
    args = parser.parse_args()

    if not (args.model / "config.json").is_file():
        fail(f"no checkpoint folder (config.json missing): {args.model}")
    if not any(args.model.glob("*.safetensors")) and not any(args.model.glob("*.bin")):
        fail(f"no weights (*.safetensors) in {args.model}")
    ids = read_ids(args.ids_file, max(args.lengths) + 1)

    # Nothing but the JSON on stdout: library output during the run goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        config = AutoConfig.from_pretrained(args.model)
        used = ids[: max(args.lengths) + 1]
        vocab = getattr(config, "vocab_size", None)
        if min(used) < 0 or (vocab is not None and max(used) >= vocab):
            fail(f"ids must lie in [0, vocab_size = {vocab}) of {args.model}")
        positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        if positions is not None and max(args.lengths) + 1 > positions:
            fail(f"max(lengths) + 1 = {max(args.lengths) + 1} positions exceed the model's {positions}")

        torch.set_num_threads(args.threads)
        model = AutoModelForCausalLM.from_pretrained(args.model, attn_implementation="eager", dtype=torch.float32)
        model.eval()
        with torch.inference_mode():
            results = time_model(model, ids, args.lengths, args.repeats, torch)

    report = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": args.model.resolve().name,
        "results": results,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
