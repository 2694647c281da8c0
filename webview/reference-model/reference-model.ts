/**
 * The TypeScript reference model in the webview, for the stages and batch views: the same
 * `DecoderModel` the tests trust, built from the model's files as the decoder has them (fetched and
 * read once per page by runtime/model-loading.ts's ModelFilesCache, shared with the decoder). It computes every attention stage, which the ONNX graph
 * does not return; the bundled models are small enough (3 layers) that it runs in a few hundred
 * milliseconds on a short text. One model per id, kept once loaded.
 */

import { DecoderModel } from "../../src/model/decoder-model";
import type { ModelDescriptor } from "../../src/protocol";
import { ModelFilesCache, type ProgressReporter } from "../runtime/model-loading";

/** Shown in the views: which implementation computed the numbers. */
export const REFERENCE_MODEL_NAME = "TypeScript reference model (src/model/decoder-model.ts, float32 on the CPU)";

export class ReferenceModels {
  private readonly models = new Map<string, { weightsUri: string; model: Promise<DecoderModel> }>();

  constructor(private readonly files: ModelFilesCache = new ModelFilesCache()) {}

  get(descriptor: ModelDescriptor, report: ProgressReporter): Promise<DecoderModel> {
    const entry = this.models.get(descriptor.id);
    if (entry && entry.weightsUri === descriptor.weightsUri) return entry.model;
    const model = this.files.get(descriptor, report).then(({ config, weights }) => new DecoderModel(config, weights));
    const created = { weightsUri: descriptor.weightsUri, model };
    this.models.set(descriptor.id, created);
    model.catch(() => {
      if (this.models.get(descriptor.id) === created) this.models.delete(descriptor.id);
    });
    return model;
  }
}
