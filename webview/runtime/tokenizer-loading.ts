/**
 * The model's tokenizer in the webview, for the text of tokens the host did not send (the tokens a
 * decoding generates, the next tokens a batch predicts): tokenizer.json, with tokenizer_config.json
 * when the model has one, fetched from the URIs the host sent and loaded once per page.
 */

import { TextTokenizer } from "../../src/model/tokenizer";
import type { ModelDescriptor } from "../../src/protocol";
import { fetchBytes, ModelLoadError, whatToDoAbout } from "./model-loading";

const loaded = new Map<string, Promise<TextTokenizer>>();

/** The tokenizer of `model`, loaded on first use; a failed load is not kept, so the next call tries again. */
export function tokenizerOf(model: ModelDescriptor): Promise<TextTokenizer> {
  const uri = model.tokenizerUri;
  const key = `${uri ?? ""} ${model.tokenizerConfigUri ?? ""}`;
  const cached = loaded.get(key);
  if (cached) return cached;
  const tokenizer = (async () => {
    if (!uri) throw new ModelLoadError(`${model.id}: the host sent no tokenizer.json address, so token ids cannot be shown as text. ${whatToDoAbout(model)}`);
    const decoder = new TextDecoder();
    const tokenizerJson = decoder.decode(await fetchBytes(uri, `${model.id}/tokenizer.json`, undefined, model));
    const configUri = model.tokenizerConfigUri;
    const tokenizerConfig = configUri ? decoder.decode(await fetchBytes(configUri, `${model.id}/tokenizer_config.json`, undefined, model)) : undefined;
    return TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, {
      tokenizerJson: `${model.id}/tokenizer.json`,
      ...(configUri ? { tokenizerConfig: `${model.id}/tokenizer_config.json` } : {}),
    });
  })();
  loaded.set(key, tokenizer);
  tokenizer.catch(() => {
    if (loaded.get(key) === tokenizer) loaded.delete(key);
  });
  return tokenizer;
}
