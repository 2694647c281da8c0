/**
 * Step-through cached decoding: a prompt's prefill, then one generated token per step, each step
 * feeding only the newest token with the keys and values cached so far.
 *
 *   prefill: prompt (P tokens) -> cache of P slots, logits of the last position
 *   step n:  choose token n from the previous logits (greedy or seeded sampling, see
 *            model/sampling.ts), run it alone with the cache: the cache grows to P + n slots, its
 *            query row attends over all of them, and its logits choose token n + 1
 *
 * Every step is recorded for the visualiser: the token and the candidates it was chosen from, per
 * layer the attention of the new query row over every cached key (nh, S), the cache itself (per
 * layer K and V, (nkv, S, hs)), which slots the step appended, how long it took, and a recompute
 * check: the same tokens run again from scratch, without a cache, and the largest absolute
 * difference of the last logits and of the attention rows. For a correct cache that difference is
 * float32 rounding, about 1e-6.
 *
 * The decoder is stateless (`compute(ids, { past })`), so the panel's other runs can share it. The
 * session keeps its cache twice: in the runtime (runtime-key-values.ts; on the GPU under WebGPU),
 * fed to the next step as it is, and as library Tensors on the CPU, for the cache view and for
 * stepping back. Stepping back cuts the CPU cache to its earlier length and drops the runtime's:
 * the slots that stay are the very bits they were (a step's present is the past concatenated with
 * the new slots), so back then forward repeats the same step bit for bit, with no recompute drift.
 *
 * Calls are serialised: a `step` asked for while another runs waits for it. Every runtime call goes
 * through the runtime's page-wide queue (ModelRuntime.run).
 *
 * Shape legend: P prompt tokens, S cached slots, V vocabulary, nh query heads, nkv key/value heads,
 * hs head size, L layers.
 */

import type { KeyValue } from "../attention/kv-cache";
import { sliceAxis } from "../attention/tensor-operations";
import { Tensor } from "../attention/tensor";
import type { DecoderConfig } from "../model/config";
import { checkSamplingSettings, chooseToken, type SamplingSettings, type TokenChoice } from "../model/sampling";
import type { OnnxDecoder } from "./onnx-decoder";
import type { RuntimeKeyValues } from "./runtime-key-values";

/** Thrown by `step` when the cache already holds as many slots as the model's context; nothing ran. */
export class ContextFullError extends Error {
  override name = "ContextFullError";
}

/** Thrown for a session used wrongly: an empty or too long prompt, a call after `dispose`. */
export class DecodingSessionError extends Error {
  override name = "DecodingSessionError";
}

/** What the session needs of a decoder: its config, and runs that leave its own cache alone. */
export type StatelessDecoder = Pick<OnnxDecoder, "config" | "compute" | "hasAttentionOutputs">;

export interface DecodingSessionOptions {
  /** How tokens are chosen; default greedy. */
  sampling?: SamplingSettings;
  /** How many of the most probable candidates each step keeps for display; default 5. */
  candidateCount?: number;
  /** Run the recompute check at every step (a full prefill of all tokens); default true. */
  verify?: boolean;
}

/** The cached step against the same tokens run from scratch. */
export interface RecomputeCheck {
  /** max |cached - recomputed| over the logits of the last position, (V). */
  logitsMaxDifference: number;
  /** max |cached - recomputed| over every layer's attention row of the last position, (L, nh, S). */
  attentionMaxDifference: number;
  /** Wall-clock time of the recompute, in milliseconds. */
  milliseconds: number;
}

/** A half-open range of cache slots, [start, end). */
export interface SlotRange {
  start: number;
  end: number;
}

/** The KV cache after a step. */
export interface CacheState {
  /** Per layer, keys and values (nkv, S, hs): the real tensors the next step is fed. */
  layers: KeyValue[];
  /** S, the number of cached slots. */
  length: number;
  /** Bytes of all cached keys and values: 2 x L x nkv x S x hs x bytesPerElement. */
  bytes: number;
  /** Bytes of one stored number (4: float32). */
  bytesPerElement: number;
  /** The slots the latest step appended (the whole prompt after the prefill). */
  appended: SlotRange;
}

export interface DecodingStep {
  /** 0 for the prefill, n for the n-th generated token. */
  index: number;
  /** The tokens this step fed the model: the prompt for the prefill, [token] after. */
  inputIds: number[];
  /** The generated token (undefined for the prefill). */
  token: number | undefined;
  /** How `token` was chosen: its probability and the top candidates (undefined for the prefill). */
  choice: TokenChoice | undefined;
  /** Per layer, the attention of this step's last query row over all S cached keys, (nh, S). */
  attentions: Tensor[];
  /** Logits of the last position, (V): where the next token is chosen from. */
  logits: Float32Array;
  /** Cache slots after this step. */
  cacheLength: number;
  /** Bytes of the cache after this step. */
  cacheBytes: number;
  /** The slots this step appended. */
  appended: SlotRange;
  /** Wall-clock time of the step (choosing the token and the cached run), in milliseconds. */
  milliseconds: number;
  /** The recompute check (undefined for the prefill, which is itself a full run, or when not verified). */
  check: RecomputeCheck | undefined;
}

export class DecodingSession {
  private readonly history: DecodingStep[] = [];
  /** Per layer, the current cache as fed to the graph: (1, nkv, S, hs). */
  private keyValues: KeyValue[] = [];
  /** The same cache kept in the runtime, fed to the next step with no copy; undefined after stepping back. */
  private kept: RuntimeKeyValues | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private samplingSettings: SamplingSettings;
  readonly candidateCount: number;
  verify: boolean;

  private constructor(
    readonly decoder: StatelessDecoder,
    readonly promptIds: readonly number[],
    options: DecodingSessionOptions,
  ) {
    this.samplingSettings = checkSamplingSettings(options.sampling ?? { kind: "greedy" }, decoder.config.vocabSize);
    this.candidateCount = options.candidateCount ?? 5;
    this.verify = options.verify ?? true;
  }

  /** Checks the prompt and runs its prefill; the session then stands at step 0. */
  static async start(decoder: StatelessDecoder, promptIds: readonly number[], options: DecodingSessionOptions = {}): Promise<DecodingSession> {
    const context = decoder.config.maxPositionEmbeddings;
    if (promptIds.length === 0) {
      throw new DecodingSessionError("the prompt is empty: select some text to continue (at least one token)");
    }
    if (promptIds.length > context) {
      throw new DecodingSessionError(
        `the prompt is ${promptIds.length} tokens but the model's context is ${context}: select less text (at most ${context - 1} tokens, to leave room for generated ones)`,
      );
    }
    if (!decoder.hasAttentionOutputs) {
      throw new DecodingSessionError("this decoder's graph has no attention outputs (the fused variant): load the primitive graph to step through decoding");
    }
    const session = new DecodingSession(decoder, [...promptIds], options);
    await session.prefill();
    return session;
  }

  get config(): DecoderConfig {
    return this.decoder.config;
  }

  /** The model's context: the most slots the cache can hold. */
  get contextLength(): number {
    return this.config.maxPositionEmbeddings;
  }

  /** Every step so far, the prefill first. */
  get steps(): readonly DecodingStep[] {
    return this.history;
  }

  /** The latest step. */
  get current(): DecodingStep {
    return this.history[this.history.length - 1];
  }

  /** The ids of the generated tokens, in order. */
  get generatedIds(): number[] {
    return this.history.slice(1).map((step) => step.token as number);
  }

  /** Prompt then generated ids: what is in the cache. */
  get tokenIds(): number[] {
    return [...this.promptIds, ...this.generatedIds];
  }

  /** Cached slots now. */
  get length(): number {
    return this.keyValues[0]?.key.shape[2] ?? 0;
  }

  /** Whether another step fits in the context. */
  get canStep(): boolean {
    return this.length < this.contextLength;
  }

  get sampling(): SamplingSettings {
    return this.samplingSettings;
  }

  /** Changes how the NEXT tokens are chosen (checked first); the steps already taken stay. */
  set sampling(settings: SamplingSettings) {
    this.samplingSettings = checkSamplingSettings(settings, this.config.vocabSize);
  }

  /** The cache now: per layer K and V (nkv, S, hs), its length, its bytes and the newest slots. */
  get cache(): CacheState {
    const layers = this.keyValues.map(({ key, value }) => ({
      key: key.reshape(key.shape.slice(1)), // (1, nkv, S, hs) -> (nkv, S, hs), the same data
      value: value.reshape(value.shape.slice(1)),
    }));
    const bytesPerElement = this.keyValues[0]?.key.data.BYTES_PER_ELEMENT ?? Float32Array.BYTES_PER_ELEMENT;
    return { layers, length: this.length, bytes: this.cacheBytes(), bytesPerElement, appended: this.current.appended };
  }

  /** Generates one token: chooses it from the latest logits and runs it with the cache. */
  step(): Promise<DecodingStep> {
    return this.serially(() => this.stepNow());
  }

  /**
   * Undoes the latest generated token: the cache is cut back to the slots it had before (the same
   * bits) and the earlier step is current again. Returns that step; at the prefill it does nothing.
   */
  back(): Promise<DecodingStep> {
    return this.serially(async () => {
      if (this.history.length > 1) {
        this.history.pop();
        this.truncateCache(this.current.cacheLength);
      }
      return this.current;
    });
  }

  /** Goes back to just after the prefill (the prompt alone in the cache). */
  reset(): Promise<DecodingStep> {
    return this.serially(async () => {
      this.history.splice(1);
      this.truncateCache(this.current.cacheLength);
      return this.current;
    });
  }

  /** Drops the cache and history; later calls throw. Waits for a step in flight. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.queue.catch(() => undefined);
    this.history.length = 0;
    this.keyValues = [];
    this.replaceKept(undefined);
  }

  /** Keeps `present` as the runtime's copy of the cache, freeing the one before. */
  private replaceKept(present: RuntimeKeyValues | undefined): void {
    if (present !== this.kept) this.kept?.dispose();
    this.kept = present;
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.disposed) throw new DecodingSessionError("this decoding was closed (the panel closed or the model changed): start it again");
      return task();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async prefill(): Promise<void> {
    const started = performance.now();
    const result = await this.decoder.compute([this.promptIds], { fetchPresent: true, keepPresent: true, logits: "last" });
    const milliseconds = performance.now() - started;
    this.keyValues = result.presentKeyValues;
    this.replaceKept(result.present);
    const length = this.promptIds.length;
    this.history.push({
      index: 0,
      inputIds: [...this.promptIds],
      token: undefined,
      choice: undefined,
      attentions: result.attentions.map((weights) => lastQueryRow(weights)),
      logits: lastLogits(result.logits),
      cacheLength: length,
      cacheBytes: this.cacheBytes(),
      appended: { start: 0, end: length },
      milliseconds,
      check: undefined,
    });
  }

  private async stepNow(): Promise<DecodingStep> {
    const past = this.length;
    if (past >= this.contextLength) {
      throw new ContextFullError(
        `the context is full: the cache holds ${past} tokens, the model's context (max_position_embeddings) is ${this.contextLength}; step back, reset, or select a shorter prompt`,
      );
    }
    const index = this.history.length; // the n-th generated token
    const started = performance.now();
    const choice = chooseToken(this.current.logits, this.samplingSettings, index, this.candidateCount);
    const result = await this.decoder.compute([[choice.id]], {
      past: this.kept ?? { keyValues: this.keyValues, keyMask: [Array.from({ length: past }, () => 1)] },
      fetchPresent: true,
      keepPresent: true,
    });
    const milliseconds = performance.now() - started;
    const attentions = result.attentions.map((weights) => lastQueryRow(weights)); // per layer (nh, S)
    const logits = lastLogits(result.logits); // (V)
    let check: RecomputeCheck | undefined;
    try {
      check = this.verify ? await this.recomputeCheck([...this.tokenIds, choice.id], logits, attentions) : undefined;
      if (this.disposed) throw new DecodingSessionError("this decoding was closed while a step ran; nothing was kept");
    } catch (error) {
      result.present?.dispose();
      throw error;
    }
    this.keyValues = result.presentKeyValues; // (1, nkv, S, hs) per layer: only now, so a failed step leaves the session as it was
    this.replaceKept(result.present);
    const step: DecodingStep = {
      index,
      inputIds: [choice.id],
      token: choice.id,
      choice,
      attentions,
      logits,
      cacheLength: past + 1,
      cacheBytes: this.cacheBytes(),
      appended: { start: past, end: past + 1 },
      milliseconds,
      check,
    };
    this.history.push(step);
    return step;
  }

  /** Runs every cached token from scratch and compares its last position with the cached step's. */
  private async recomputeCheck(ids: number[], logits: Float32Array, attentions: readonly Tensor[]): Promise<RecomputeCheck> {
    const started = performance.now();
    const full = await this.decoder.compute([ids], { logits: "last" }); // (1, S): no cache
    const milliseconds = performance.now() - started;
    const recomputedLogits = lastLogits(full.logits);
    let logitsMaxDifference = 0;
    for (let index = 0; index < logits.length; index++) {
      logitsMaxDifference = Math.max(logitsMaxDifference, Math.abs(logits[index] - recomputedLogits[index]));
    }
    let attentionMaxDifference = 0;
    full.attentions.forEach((weights, layer) => {
      const row = lastQueryRow(weights).data; // (nh, S)
      const cached = attentions[layer].data;
      for (let index = 0; index < row.length; index++) {
        attentionMaxDifference = Math.max(attentionMaxDifference, Math.abs(row[index] - cached[index]));
      }
    });
    return { logitsMaxDifference, attentionMaxDifference, milliseconds };
  }

  private cacheBytes(): number {
    return this.keyValues.reduce((sum, { key, value }) => sum + key.data.byteLength + value.data.byteLength, 0);
  }

  /** Cuts every layer's keys and values to their first `length` slots: (1, nkv, S, hs) -> (1, nkv, length, hs). */
  private truncateCache(length: number): void {
    if (this.kept && this.kept.length !== length) this.replaceKept(undefined); // the next step feeds the cut CPU cache
    this.keyValues = this.keyValues.map(({ key, value }) => ({
      key: sliceAxis(key, 2, 0, length),
      value: sliceAxis(value, 2, 0, length),
    }));
  }
}

/** The last query row of attention weights: (1, nh, T, S) -> (nh, S). */
function lastQueryRow(weights: Tensor): Tensor {
  const [, heads, queries, keys] = weights.shape;
  const row = sliceAxis(weights, 2, queries - 1, queries); // (1, nh, 1, S)
  return row.reshape([heads, keys]); // (nh, S)
}

/** The logits of the last position: (1, T, V) -> (V). */
function lastLogits(logits: Tensor): Float32Array {
  const [, length, vocabulary] = logits.shape;
  return logits.data.slice((length - 1) * vocabulary, length * vocabulary);
}
