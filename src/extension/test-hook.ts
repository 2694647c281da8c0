/**
 * The test hook: what integration tests read off the panel besides the commands' results (a head's
 * whole map, decode mode's cache, the stages' rows). `activate` returns it only when VS Code runs
 * the extension for tests (`ExtensionMode.Test`); the messages the panel sends in use carry none of
 * it.
 */

import type { Observation, ObservationRequest } from "../protocol";
import type { AttentionController } from "./attention-controller";

export interface TestHook {
  /** What the panel shows of its newest request; undefined when no panel is open or the request ended. */
  observe<What extends ObservationRequest["what"]>(request: Extract<ObservationRequest, { what: What }>): Promise<Extract<Observation, { what: What }> | undefined>;
}

export function testHook(controller: AttentionController): TestHook {
  return {
    observe: (request) => controller.observePanel(request) as never,
  };
}
