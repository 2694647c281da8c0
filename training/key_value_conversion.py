"""Grouping the key/value heads of a checkpoint: multi-head attention to grouped-query attention
(Ainslie et al. 2023, "GQA: Training Generalized Multi-Query Transformer Models from Multi-Head
Checkpoints", section 2.1), in PyTorch, on the tensors of a Hugging Face state dict.

The nkv key heads become `groups` key heads: group g holds the nkv / groups consecutive heads
g * size .. (g + 1) * size - 1, and its one key head is either their mean ("mean", the paper's
method) or the first of them ("first", the paper's ablation). Values the same way. Query heads keep
their index: query head h now reads group h // (nh / groups), which holds the head it read before.

    key projection (nkv * hs, C) -> (groups, size, hs, C) -> mean or [:, 0] over size -> (groups * hs, C)

Used by training/uptrain.py (the bundled uptrained models) and by
scripts/fixtures/make_conversion_fixture.py (the reference the TypeScript conversion,
src/model/key-value-conversion.ts, is checked against).
"""

import torch


def group_heads(tensor: torch.Tensor, heads: int, groups: int, method: str) -> torch.Tensor:
    """(heads * hs, ...) -> (groups * hs, ...): each group's heads pooled along dim 0."""
    if heads % groups != 0:
        raise ValueError(f"{heads} key/value heads cannot be split into {groups} equal groups")
    head_size = tensor.shape[0] // heads
    grouped = tensor.reshape(groups, heads // groups, head_size, *tensor.shape[1:])
    if method == "mean":
        pooled = grouped.float().mean(dim=1).to(tensor.dtype)
    elif method == "first":
        pooled = grouped[:, 0]
    else:
        raise ValueError(f"unknown method {method!r}: 'mean' or 'first'")
    return pooled.reshape(groups * head_size, *tensor.shape[1:]).contiguous()


def convert_llama_state(state: dict, key_value_heads: int, groups: int, method: str) -> dict:
    """A Llama/Mistral/Qwen state dict with its k_proj and v_proj (weights and biases) grouped."""
    converted = {}
    for name, tensor in state.items():
        if any(part in name for part in (".self_attn.k_proj.", ".self_attn.v_proj.")):
            converted[name] = group_heads(tensor, key_value_heads, groups, method)
        else:
            converted[name] = tensor
    return converted


def convert_gpt2_attention(c_attn_weight: torch.Tensor, c_attn_bias: torch.Tensor, heads: int, groups: int, method: str):
    """GPT-2's fused c_attn (C, 3C) Conv1D weight and (3C) bias -> the query (C, C), and the grouped
    key and value (C, groups * hs) weights with their biases, still in Conv1D's (in, out) layout."""
    width = c_attn_weight.shape[1] // 3
    query, key, value = c_attn_weight.split(width, dim=1)
    query_bias, key_bias, value_bias = c_attn_bias.split(width)
    key = group_heads(key.t(), heads, groups, method).t()
    value = group_heads(value.t(), heads, groups, method).t()
    key_bias = group_heads(key_bias, heads, groups, method)
    value_bias = group_heads(value_bias, heads, groups, method)
    return (query, key, value), (query_bias, key_bias, value_bias)
