/**
 * The page's side of the test hook (src/extension/test-hook.ts): answers `observe` with what the
 * panel shows of the request (a head's whole map, the map the head view draws in the weighting chosen,
 * decode mode's cache, the stages' rows), so that the reports the host waits for carry only what the
 * extension uses.
 */

import type { Observation, ObservationRequest } from "../src/protocol";
import { headMap, mapRows } from "./attention/attention-maps";
import type { AttentionState } from "./attention/attention-state.svelte";
import type { DecodeState } from "./decode/decode-state.svelte";
import type { StagesState } from "./stages/stages-state.svelte";

export function observe(request: ObservationRequest, modes: { attention: AttentionState; decode: DecodeState; stages: StagesState }): Observation {
  switch (request.what) {
    case "headWeights": {
      const maps = modes.attention.result?.maps;
      if (!maps) return { what: "headWeights", error: "no run is on screen" };
      if (!(request.layer >= 0 && request.layer < maps.layers && request.head >= 0 && request.head < maps.heads)) {
        return { what: "headWeights", error: `no layer ${request.layer}, head ${request.head} in ${maps.layers} x ${maps.heads}` };
      }
      return { what: "headWeights", rows: mapRows(headMap(maps, request.layer, request.head), maps.tokens) };
    }
    case "shownMap": {
      const { result, selectedMap, selectedRawMap, weighting, selection, selectedTitle } = modes.attention;
      if (!result || !selectedMap) return { what: "shownMap", error: "no run is on screen" };
      return {
        what: "shownMap",
        weighting,
        selection: { ...selection },
        title: selectedTitle,
        rows: mapRows(selectedMap, result.maps.tokens),
        ...(selectedRawMap ? { raw: mapRows(selectedRawMap, result.maps.tokens) } : {}),
      };
    }
    case "decodeState":
      return modes.decode.observe();
    case "stageRows":
      return modes.stages.observe();
  }
}
