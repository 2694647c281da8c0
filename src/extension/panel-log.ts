/**
 * What the "Attention Lens" output channel says about the panel: each message it sends that is
 * worth a line (progress at debug level, a comparison's numbers, each decoding step, failures), and
 * how each run ended, with the time from the request.
 */

import type * as vscode from "vscode";

import { assertNever, type WebviewToHostMessage } from "../protocol";
import type { PanelRunOutcome } from "./attention-panel";
import { formatMilliseconds } from "./run-status-bar";

type Log = Pick<vscode.LogOutputChannel, "debug" | "info" | "warn" | "error">;

/** The log line of a message from the panel, if it has one. */
export function logPanelMessage(log: Log, message: WebviewToHostMessage): void {
  switch (message.type) {
    case "ready":
      log.debug("the panel's page is ready");
      break;
    case "progress":
      log.debug(`#${message.requestId} ${message.stage}: ${message.message}`);
      break;
    case "comparisonComputed": {
      const [a, b] = message.models;
      log.info(
        `#${message.requestId} compared ${a.modelId} with ${b.modelId} on ${a.tokens} tokens: KV cache ${a.kvBytes} vs ${b.kvBytes} bytes ` +
          `(B/A ${message.kvBytesRatio.toFixed(3)}), mean |A - B| per layer ${message.meanDifferenceByLayer.map((value) => value.toFixed(4)).join(", ")}`,
      );
      break;
    }
    case "comparisonFailed":
      log.error(`#${message.requestId} comparison failed: ${message.message}`);
      break;
    case "decodeStepComputed": {
      const check =
        message.logitsMaxDifference !== undefined
          ? `, recompute max |difference| logits ${message.logitsMaxDifference.toExponential(2)}, attention ${(message.attentionMaxDifference ?? 0).toExponential(2)}`
          : "";
      log.info(`#${message.requestId} decode ${message.action}: step ${message.index}, ${message.cacheLength} cached tokens, KV cache ${message.cacheBytes} bytes${check}`);
      break;
    }
    case "decodeStopped":
      log.info(`#${message.requestId} decode stopped: ${message.message}`);
      break;
    case "error":
      // An error of a request ends its run: logRunOutcome logs it.
      if (message.requestId === null) log.error(`panel: ${message.message}`);
      break;
    case "log":
      log[message.level](`panel: ${message.message}`);
      break;
    case "readModelFile":
    case "attentionComputed": // logRunOutcome
    case "tokenFocused":
    case "selectModel":
    case "learningComputed": // learning-host.ts
    case "openSource":
      break;
    default:
      assertNever(message, "message from the panel");
  }
}

/** How a run ended: done (model, size, backend, times), failed, superseded or cancelled. */
export function logRunOutcome(log: Log, outcome: PanelRunOutcome, hostMilliseconds: number): void {
  const id = `#${outcome.requestId}`;
  switch (outcome.kind) {
    case "computed": {
      const { result } = outcome;
      const fallback = result.fallbackReason ? ` (fell back: ${result.fallbackReason})` : "";
      log.info(
        `${id} done: ${result.modelId}, ${result.tokens} tokens, ${result.layers} layers × ${result.heads} heads on ` +
          `${result.backend}${fallback} in ${formatMilliseconds(result.milliseconds)} (${formatMilliseconds(hostMilliseconds)} from the request)`,
      );
      break;
    }
    case "failed":
      log.error(`${id} failed after ${formatMilliseconds(hostMilliseconds)}: ${outcome.message}`);
      break;
    case "superseded":
      log.info(`${id} superseded by #${outcome.by}`);
      break;
    case "cancelled":
      log.info(`${id} cancelled: ${outcome.reason}`);
      break;
    default:
      assertNever(outcome, "run outcome");
  }
}
