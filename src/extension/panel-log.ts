/**
 * What the "Attention Lens" output channel says about the panel: each message it sends that is
 * worth a line (progress at debug level, a comparison's numbers, each decoding step, failures), and
 * how each run ended, with the time from the request.
 */

import type * as vscode from "vscode";

import { assertNever, type PanelReport, type RunSummary, type WebviewToHostMessage } from "../protocol";
import type { RunOutcome } from "./request-tracker";
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
    case "report":
      logReport(log, message.requestId, message.report);
      break;
    case "log":
      log[message.level](`panel: ${message.message}`);
      break;
    case "readModelFile":
    case "tokenFocused":
    case "selectModel":
    case "openSource":
    case "observed":
    case "export": // export-host.ts logs what it wrote
      break;
    default:
      assertNever(message, "message from the panel");
  }
}

/** A report's line; a run's (and its failure's) is logRunOutcome's, stages' and batch's learning-host.ts's. */
function logReport(log: Log, requestId: number, report: PanelReport): void {
  const id = `#${requestId}`;
  switch (report.kind) {
    case "comparison": {
      const { models, kvBytesRatio, meanDifferenceByLayer, headAlignment } = report.summary;
      const [a, b] = models;
      log.info(
        `${id} compared ${a.modelId} with ${b.modelId} on ${a.tokens} tokens: KV cache ${a.kvBytes} vs ${b.kvBytes} bytes ` +
          `(B/A ${kvBytesRatio.toFixed(3)}), mean |A - B| per layer ${meanDifferenceByLayer.map((value) => value.toFixed(4)).join(", ")} ` +
          `(heads paired ${headAlignment === "bestMatch" ? "by best match" : "by index"})`,
      );
      break;
    }
    case "decodeStep": {
      const { step } = report;
      const check =
        step.logitsMaxDifference !== undefined
          ? `, recompute max |difference| logits ${step.logitsMaxDifference.toExponential(2)}, attention ${(step.attentionMaxDifference ?? 0).toExponential(2)}`
          : "";
      log.info(`${id} decode ${step.action}: step ${step.index}, ${step.cacheLength} cached tokens, KV cache ${step.cacheBytes} bytes${check}`);
      break;
    }
    case "decodeStopped":
      log.info(`${id} decode stopped: ${report.message}`);
      break;
    case "failed":
      if (report.of === "comparison") log.error(`${id} comparison failed: ${report.message}`);
      break;
    case "run":
    case "learning":
      break;
    default:
      assertNever(report, "report");
  }
}

/** How a run ended: done (model, size, backend, times), failed, superseded or cancelled. */
export function logRunOutcome(log: Log, outcome: RunOutcome<RunSummary>, hostMilliseconds: number): void {
  const id = `#${outcome.requestId}`;
  switch (outcome.kind) {
    case "computed": {
      const { result } = outcome;
      const fallback = result.fallbackReason ? ` (fell back: ${result.fallbackReason})` : "";
      const loss = result.meanLoss !== undefined ? `; next-token loss ${result.meanLoss.toFixed(3)} nats per token (perplexity ${Math.exp(result.meanLoss).toFixed(1)})` : "";
      log.info(
        `${id} done: ${result.modelId}, ${result.tokens} tokens, ${result.layers} layers × ${result.heads} heads on ` +
          `${result.backend}${fallback} in ${formatMilliseconds(result.milliseconds)} (${formatMilliseconds(hostMilliseconds)} from the request)${loss}`,
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
