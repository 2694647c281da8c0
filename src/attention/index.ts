/**
 * The attention library: pure TypeScript, no VS Code, no DOM. Read it in this order:
 *
 *   tensor.ts -> tensor-operations.ts -> masks.ts, left-padding.ts, seeded-random.ts -> dropout.ts
 *   -> scaled-dot-product-attention.ts -> rms-norm.ts -> self-attention.ts -> multi-head-attention.ts
 *   -> grouped-query-attention.ts -> kv-cache.ts, rotary-embedding.ts -> sliding-window-attention.ts
 *
 * Reading trained maps: attention-rollout.ts (the layers chained), value-weighted-attention.ts
 * (each weight times the length of what it moves).
 */

export * from "./tensor";
export * from "./tensor-operations";
export * from "./masks";
export * from "./left-padding";
export * from "./seeded-random";
export * from "./dropout";
export * from "./heads";
export * from "./rotary-embedding";
export * from "./kv-cache";
export * from "./scaled-dot-product-attention";
export * from "./rms-norm";
export * from "./self-attention";
export * from "./multi-head-attention";
export * from "./grouped-query-attention";
export * from "./sliding-window-attention";
export * from "./attention-rollout";
export * from "./value-weighted-attention";
export * from "./stage-trace";
export * from "./stage-formulas";
export * from "./query-key-breakdown";
export * from "./scaling-demonstration";
export * from "./padded-batch";
export * from "./source-anchors";
