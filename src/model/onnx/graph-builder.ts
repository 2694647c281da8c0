/**
 * A small helper for writing ONNX graphs by hand: it names nodes and intermediate values, collects
 * initializers (weights and constants), and keeps nodes in the order they were added, which is a
 * valid topological order because an operation can only use values that already exist.
 *
 *   const graph = new GraphBuilder();
 *   const scores = graph.op("MatMul", [query, keyTransposed], { name: "layer0/scores" }); // returns the output name
 *
 * Values are named "<name>" for the node and "<name>:0" for its output, so a reader of the
 * graph (in Netron, say) sees the same names as in this code.
 */

import { float32Of, HalfTensor, type WeightTensor } from "../half-tensor";
import {
  type AttributeSpec,
  DataType,
  floatTensor,
  int64Tensor,
  type NodeSpec,
  type TensorSpec,
} from "./onnx-proto";

/** Attribute values written plainly: integers, floats, strings, lists; `{ float: x }` forces a float. */
export type AttributeInput = number | string | readonly number[] | { float: number } | { floats: readonly number[] };

export interface OpOptions {
  /** A readable name for the node, e.g. "layer0/attention/scores"; made unique automatically. */
  name?: string;
  attributes?: Readonly<Record<string, AttributeInput>>;
  /** How many outputs the node has (default 1). */
  outputCount?: number;
  /** Use these exact names for the outputs (graph outputs need fixed names). */
  outputNames?: readonly string[];
  domain?: string;
}

/** ONNX element type codes by name, for Cast's `to` attribute. */
export const ElementType = DataType;

/** A weight that a graph built with `weightsAsInputs` takes as an input: fed at run time, not stored. */
export interface FedWeight {
  name: string;
  /** Float32, or float16 bits. */
  tensor: WeightTensor;
  /** The input's element type: float16 (a `HalfTensor`'s bits, Cast to float32 in the graph), or float32. */
  fedAs: "float16" | "float32";
}

export interface GraphBuilderOptions {
  /**
   * Make every `weight` a graph input instead of an initializer, and collect the tensors in
   * `fedWeights`: one graph then serves every layer of a model (runtime/layered-decoder.ts feeds
   * each layer's weights in turn). Constants (`int64s`, `floats`) stay initializers.
   */
  weightsAsInputs?: boolean;
  /**
   * Take float16 weights (`HalfTensor`) as float16 inputs, Cast in the graph (default true). False
   * for a backend that cannot compute in float16 (WebGPU without "shader-f16"): every weight input
   * is then float32, and whoever feeds the graph decodes float16 weights first (runtime/ort-tensors.ts).
   */
  halfWeightInputs?: boolean;
}

export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  /** The weights taken as inputs, in the order first used (only with `weightsAsInputs`). */
  readonly fedWeights: FedWeight[] = [];
  readonly weightsAsInputs: boolean;
  readonly halfWeightInputs: boolean;
  private readonly usedNames = new Set<string>();
  private readonly constantCache = new Map<string, string>();

  constructor(options: GraphBuilderOptions = {}) {
    this.weightsAsInputs = options.weightsAsInputs ?? false;
    this.halfWeightInputs = options.halfWeightInputs ?? true;
  }

  /** Adds a node and returns its first output's name (use `opOutputs` for several outputs). */
  op(opType: string, inputs: readonly string[], options: OpOptions = {}): string {
    return this.opOutputs(opType, inputs, options)[0];
  }

  /** Adds a node and returns the names of all its outputs. */
  opOutputs(opType: string, inputs: readonly string[], options: OpOptions = {}): string[] {
    const name = this.uniqueName(options.name ?? opType);
    const outputs =
      options.outputNames?.slice() ??
      Array.from({ length: options.outputCount ?? 1 }, (_, index) => `${name}:${index}`);
    outputs.forEach((output) => this.usedNames.add(output));
    this.nodes.push({
      name,
      opType,
      inputs,
      outputs,
      domain: options.domain,
      attributes: options.attributes ? toAttributeSpecs(options.attributes) : undefined,
    });
    return outputs;
  }

  /**
   * A weight, stored in the model as a float32 initializer, or a graph input with `weightsAsInputs`.
   * Returns the name of its float32 value: a float16 input (a `HalfTensor`, kept at 16 bits in
   * memory and in each run's copy) is Cast to float32 right after it, inside the runtime.
   */
  weight(name: string, tensor: WeightTensor): string {
    const unique = this.uniqueName(name);
    if (!this.weightsAsInputs) {
      const values = float32Of(tensor);
      this.initializers.push(floatTensor(unique, values.shape, values.data));
      return unique;
    }
    const fedAs = tensor instanceof HalfTensor && this.halfWeightInputs ? "float16" : "float32";
    this.fedWeights.push({ name: unique, tensor, fedAs });
    if (fedAs === "float32") return unique;
    return this.op("Cast", [unique], { name: `${unique}/float`, attributes: { to: DataType.FLOAT } });
  }

  /** An int64 constant (shapes, axes, indices); identical constants are shared. */
  int64s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `int64 ${dims.join("x")} ${values.join(",")}`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const name = this.uniqueName(`const/int64[${values.join(",")}]`);
    this.initializers.push(int64Tensor(name, dims, values));
    this.constantCache.set(key, name);
    return name;
  }

  /** A float32 constant (scalars by default); identical constants are shared. */
  floats(values: readonly number[], dims: readonly number[] = []): string {
    const key = `float ${dims.join("x")} ${values.join(",")}`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const name = this.uniqueName(`const/float[${values.join(",")}]`);
    this.initializers.push(floatTensor(name, dims, Float32Array.from(values)));
    this.constantCache.set(key, name);
    return name;
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let suffix = 1; this.usedNames.has(name); suffix++) name = `${base}_${suffix}`;
    this.usedNames.add(name);
    return name;
  }
}

function toAttributeSpecs(attributes: Readonly<Record<string, AttributeInput>>): Record<string, AttributeSpec> {
  const specs: Record<string, AttributeSpec> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === "number") specs[key] = Number.isInteger(value) ? { kind: "int", value } : { kind: "float", value };
    else if (typeof value === "string") specs[key] = { kind: "string", value };
    else if (Array.isArray(value)) specs[key] = { kind: "ints", value };
    else if ("float" in value) specs[key] = { kind: "float", value: value.float };
    else specs[key] = { kind: "floats", value: (value as { floats: readonly number[] }).floats };
  }
  return specs;
}
