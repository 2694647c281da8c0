/**
 * Decode mode's state: the request's tokens as a prompt, generated token by token with the KV
 * cache (src/runtime/decoding-session.ts), and what the decode views draw.
 *
 * The decoding starts when decode mode is shown for a request (or the request arrives in decode
 * mode). Step, back, reset, play and pause come from the controls, the keyboard or the host
 * (`decodeControl`). Every new state is reported to the host as a decoding step report; a refusal or
 * failure (the context is full, a broken model) as `decodeStopped`, with the message also shown.
 *
 * A newer request (another selection, another model), a `cancel` from the host, or the panel's
 * disposal ends the decoding: play stops at the next step, the step in flight is dropped, and the
 * session is disposed. Every onnxruntime call runs in the page's one queue (DecoderCache.queue).
 *
 * Generated ids become text with the model's tokenizer.json, loaded in the page from its webview URI
 * (TextTokenizer works without Node APIs); see generated-text.ts for characters split over tokens.
 */

import type { DecodeAction, DecodeStepSummary, HostToWebviewMessage, ModelDescriptor, Observation, WebviewToHostMessage } from "../../src/protocol";
import { checkSamplingSettings, type SamplingSettings } from "../../src/model/sampling";
import type { TextTokenizer } from "../../src/model/tokenizer";
import { labelledTokenOf, type LabelledToken } from "../heatmap/token-labels";
import { tokenizerOf } from "../runtime/tokenizer-loading";
import { ContextFullError, DecodingSession, type CacheState, type DecodingStep } from "../../src/runtime/decoding-session";
import type { Backend } from "../../src/runtime/model-runtime";
import { DecoderCache, nextFrame } from "../runtime/model-loading";
import { cacheHash } from "./cache-hash";
import { generatedText, type GeneratedText } from "./generated-text";

type ShowAttention = Extract<HostToWebviewMessage, { type: "showAttention" }>;

/** What the decode state needs from the panel's session. */
export interface DecodeContext {
  /** The latest showAttention. */
  request(): ShowAttention | null;
  /** Whether `requestId` is the newest request and not cancelled. */
  isCurrent(requestId: number): boolean;
  post(message: WebviewToHostMessage): void;
  /** The page's decoders and their one run queue. */
  readonly decoders: DecoderCache;
}

/** One state of the decoding, as the views draw it. */
export interface DecodeSnapshot {
  requestId: number;
  model: ModelDescriptor;
  backend: Backend;
  /** The prompt's tokens as the host sent them. */
  promptTokens: ShowAttention["tokens"];
  step: DecodingStep;
  cache: CacheState;
  text: GeneratedText;
  contextLength: number;
  heads: number;
  keyValueHeads: number;
  layers: number;
  /** Token id -> its text on its own, for the candidates list. */
  /** A token as labels need it (its text, and its bytes when it holds part of a character). */
  labelledToken: (id: number) => LabelledToken;
}

/** Pause between two steps of play, so that each one is seen. */
export const PLAY_INTERVAL_MS = 120;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class DecodeState {
  snapshot = $state.raw<DecodeSnapshot | null>(null);
  /** What is loading or running; null when idle. */
  status = $state.raw<string | null>(null);
  error = $state.raw<string | null>(null);
  /** Why the decoding stopped or refused a step (the context is full), shown until the next step. */
  notice = $state.raw<string | null>(null);
  playing = $state.raw(false);
  /** Sampling for the next steps (the controls edit it). */
  sampling = $state.raw<SamplingSettings>({ kind: "greedy" });
  /** The layer whose query rows and cache are shown. */
  layer = $state.raw(0);

  private session: DecodingSession | null = null;
  /** Counts decodings: only the newest one's results are kept. */
  private generation = 0;
  /** Request id of the decoding running or shown, so the same one is not started twice. */
  private startedFor: number | null = null;

  constructor(private readonly context: DecodeContext) {}

  /** A new request arrived: the decoding of the previous one ends; starts this one's when `active`. */
  onRequest(request: ShowAttention, active: boolean): void {
    if (this.startedFor !== null && this.startedFor !== request.requestId) this.stop();
    if (active) this.run();
  }

  /** Decode mode is shown: starts the decoding of the current request unless it runs already. */
  run(): void {
    const request = this.context.request();
    if (!request || this.startedFor === request.requestId) return;
    this.stop();
    this.startedFor = request.requestId;
    const generation = this.generation;
    this.error = null;
    this.notice = null;
    void this.start(request, generation);
  }

  /** The host cancelled a request (the panel closes or hides, a newer one came): end its decoding. */
  cancel(requestId: number): void {
    if (this.startedFor === requestId) this.stop();
  }

  /** Ends the decoding: play stops, the step in flight is dropped, the session is disposed. */
  stop(): void {
    this.generation++;
    this.playing = false;
    this.startedFor = null;
    this.status = null;
    this.notice = null;
    this.snapshot = null; // the decoding of another text or model must not read as this one
    const session = this.session;
    this.session = null;
    void session?.dispose();
  }

  /** Releases everything (the page goes away). */
  dispose(): void {
    this.stop();
  }

  /** Changes the sampling of the next steps; returns the problem with the settings, or null. */
  setSampling(settings: SamplingSettings): string | null {
    try {
      const checked = checkSamplingSettings(settings);
      this.sampling = checked;
      if (this.session) this.session.sampling = checked;
      return null;
    } catch (error) {
      return messageOf(error);
    }
  }

  /** Shows another layer's query rows and cache. */
  selectLayer(layer: number): void {
    const layers = this.snapshot?.layers ?? 0;
    if (Number.isInteger(layer) && layer >= 0 && layer < layers) this.layer = layer;
  }

  /** Runs a control: from a button, a key, or the host. */
  control(action: DecodeAction): void {
    switch (action) {
      case "step":
        this.playing = false;
        void this.advance("step", this.generation);
        break;
      case "back":
      case "reset":
        this.playing = false;
        void this.rewind(action, this.generation);
        break;
      case "play":
        if (!this.playing) void this.play(this.generation);
        break;
      case "pause":
        this.playing = false;
        break;
      default: {
        const unknown: never = action;
        this.report(`unknown decode action ${String(unknown)}`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  private isLive(generation: number, requestId: number): boolean {
    return generation === this.generation && this.context.isCurrent(requestId);
  }

  private async start(request: ShowAttention, generation: number): Promise<void> {
    const { requestId, model, tokens } = request;
    const setStatus = (message: string) => {
      if (this.isLive(generation, requestId)) this.status = message;
    };
    try {
      if (tokens.length === 0) throw new Error("There is no prompt: select some text and run Step Through Decoding again.");
      if (tokens.length >= model.maxTokens) {
        throw new Error(
          `The prompt is ${tokens.length} tokens and ${model.label}'s context is ${model.maxTokens}: no room is left to generate. Select less text (at most ${model.maxTokens - 1} tokens).`,
        );
      }
      setStatus(`Loading ${model.label}`);
      const decoder = await this.context.decoders.get(
        model,
        {
          backend: request.settings.backend,
          wasmPaths: request.wasmPaths,
          log: (line) => this.context.post({ type: "log", level: "info", message: `${model.id}: ${line}` }),
        },
        (_stage, message) => setStatus(message),
      );
      const tokenizer = await this.tokenizerOf(model);
      if (!this.isLive(generation, requestId)) return;
      setStatus(`Prefill of ${tokens.length} prompt tokens (${decoder.backend})`);
      const session = await this.context.decoders.queue.run(async () => {
        if (!this.isLive(generation, requestId)) return undefined;
        await nextFrame();
        return DecodingSession.start(
          decoder,
          tokens.map((token) => token.id),
          { sampling: this.sampling },
        );
      });
      if (!session) return;
      if (!this.isLive(generation, requestId)) {
        await session.dispose();
        return;
      }
      this.session = session;
      this.status = null;
      this.layer = Math.min(this.layer, decoder.config.numHiddenLayers - 1);
      this.show(request, session, decoder.backend, tokenizer, "prefill");
    } catch (error) {
      if (!this.isLive(generation, requestId)) return;
      this.startedFor = null; // the same request may be tried again
      this.fail(requestId, messageOf(error));
    }
  }

  /** One step; returns whether it ran. */
  private async advance(action: "step" | "play", generation: number): Promise<boolean> {
    const session = this.session;
    const request = this.context.request();
    if (!session || !request || !this.isLive(generation, request.requestId)) {
      if (request && !session && this.startedFor === null) this.report("The decoding is not running: open decode mode on a selection first.");
      return false;
    }
    try {
      this.notice = null;
      await this.context.decoders.queue.run(() => session.step());
      if (!this.isLive(generation, request.requestId) || this.session !== session) return false;
      this.show(request, session, this.snapshot?.backend ?? "wasm", await this.tokenizerOf(request.model), action);
      return true;
    } catch (error) {
      if (!this.isLive(generation, request.requestId) || this.session !== session) return false;
      this.playing = false;
      if (error instanceof ContextFullError) {
        this.notice = `Stopped: ${error.message}.`;
        this.context.post({ type: "report", requestId: request.requestId, report: { kind: "decodeStopped", message: this.notice } });
      } else {
        this.fail(request.requestId, messageOf(error));
      }
      return false;
    }
  }

  private async rewind(action: "back" | "reset", generation: number): Promise<void> {
    const session = this.session;
    const request = this.context.request();
    if (!session || !request || !this.isLive(generation, request.requestId)) return;
    try {
      this.notice = null;
      if (action === "back") await session.back();
      else await session.reset();
      if (!this.isLive(generation, request.requestId) || this.session !== session) return;
      this.show(request, session, this.snapshot?.backend ?? "wasm", await this.tokenizerOf(request.model), action);
    } catch (error) {
      if (this.isLive(generation, request.requestId)) this.fail(request.requestId, messageOf(error));
    }
  }

  /** Steps until paused, stopped, at the context's end, or until the decoding ends. */
  private async play(generation: number): Promise<void> {
    this.playing = true;
    while (this.playing && generation === this.generation) {
      const session = this.session;
      if (session && !session.canStep) {
        const request = this.context.request();
        this.notice = `Stopped: the context is full (${session.length} of ${session.contextLength} tokens, the model's max_position_embeddings). Step back or reset to go on.`;
        if (request) this.context.post({ type: "report", requestId: request.requestId, report: { kind: "decodeStopped", message: this.notice } });
        break;
      }
      if (!(await this.advance("play", generation))) break;
      await new Promise((resolve) => setTimeout(resolve, PLAY_INTERVAL_MS));
    }
    if (generation === this.generation) this.playing = false;
  }

  private tokenizerOf(model: ModelDescriptor): Promise<TextTokenizer> {
    return tokenizerOf(model);
  }

  /** Puts the session's current state on screen and reports it to the host. */
  private show(request: ShowAttention, session: DecodingSession, backend: Backend, tokenizer: TextTokenizer, action: DecodeStepSummary["action"]): void {
    const step = session.current;
    const cache = session.cache;
    const config = session.config;
    this.snapshot = {
      requestId: request.requestId,
      model: request.model,
      backend,
      promptTokens: request.tokens,
      step,
      cache,
      text: generatedText((id) => tokenizer.tokenBytesOf(id), session.promptIds, session.generatedIds),
      contextLength: session.contextLength,
      heads: config.numAttentionHeads,
      keyValueHeads: config.numKeyValueHeads,
      layers: config.numHiddenLayers,
      labelledToken: (id) => labelledTokenOf(tokenizer, id),
    };
    const summary: DecodeStepSummary = {
      modelId: request.model.id,
      backend,
      action,
      index: step.index,
      promptIds: [...session.promptIds],
      generatedIds: session.generatedIds,
      cacheLength: cache.length,
      cacheBytes: cache.bytes,
      ...(step.check ? { logitsMaxDifference: step.check.logitsMaxDifference, attentionMaxDifference: step.check.attentionMaxDifference } : {}),
      milliseconds: step.milliseconds,
    };
    this.context.post({ type: "report", requestId: request.requestId, report: { kind: "decodeStep", step: summary } });
  }

  /** The test hook's view of the decoding on screen: its cache's hash and the newest query row per layer and head. */
  observe(): Observation {
    const snapshot = this.snapshot;
    if (!snapshot) return { what: "decodeState", error: "no decoding is on screen" };
    const { step, cache, heads } = snapshot;
    return {
      what: "decodeState",
      cacheHash: cacheHash(cache.layers),
      attentionRows: step.attentions.map((rows) =>
        Array.from({ length: heads }, (_, head) => Array.from(rows.data.subarray(head * step.cacheLength, (head + 1) * step.cacheLength))),
      ),
    };
  }

  private fail(requestId: number, message: string): void {
    this.status = null;
    this.playing = false;
    this.error = message;
    this.context.post({ type: "report", requestId, report: { kind: "decodeStopped", message } });
    this.context.post({ type: "log", level: "error", message: `decode: ${message}` });
  }

  private report(message: string): void {
    this.context.post({ type: "log", level: "warn", message: `decode: ${message}` });
  }
}
