/**
 * Plain TypeScript descriptions of an ONNX model, and their encoding to `.onnx` bytes.
 *
 * An ONNX file is one protobuf message, a `ModelProto` (see `protobuf-writer.ts` for the wire
 * format). The messages nest like this, with the field numbers of onnx/onnx.proto (IR 10 and 11):
 *
 *   ModelProto        ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7,
 *                     opset_import 8, metadata_props 14
 *     OperatorSetIdProto   domain 1, version 2         ("" is the standard operator set)
 *     StringStringEntryProto   key 1, value 2
 *     GraphProto      node 1, name 2, initializer 5, doc_string 10, input 11, output 12
 *       NodeProto     input 1, output 2, name 3, op_type 4, attribute 5, doc_string 6, domain 7
 *         AttributeProto   name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, doc_string 13, type 20
 *       TensorProto   dims 1, data_type 2, name 8, raw_data 9, doc_string 12
 *       ValueInfoProto    name 1, type 2, doc_string 3
 *         TypeProto   tensor_type 1 -> TypeProto.Tensor: elem_type 1, shape 2
 *           TensorShapeProto   dim 1 -> Dimension: dim_value 1 | dim_param 2
 *
 * A graph is a list of nodes (operators such as MatMul) that read and write named values. A value
 * is a graph input (fed at run time), an initializer (a constant tensor stored in the file, such as
 * a weight matrix) or a node output. Nodes must be listed so that every value is produced before it
 * is read (topological order). An input name "" stands for an optional input left out.
 *
 * Tensor data is always stored in `raw_data`: the elements' little-endian bytes, row-major. The
 * helpers at the end build that from typed arrays.
 *
 * `encodeModel` checks the model while encoding and throws `OnnxEncodingError` saying what is wrong
 * and where, so that mistakes surface here rather than as a terse runtime error at load time.
 */

import { encodeFloat16 } from "../float16";
import { ProtobufWriter } from "./protobuf-writer";

/** TensorProto.DataType codes of the element types this project uses. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** A constant tensor: an initializer or a tensor attribute. */
export interface TensorSpec {
  name: string;
  dataType: DataTypeCode;
  dims: readonly number[];
  /** Little-endian, row-major element bytes; exactly product(dims) x element size long. */
  rawData: Uint8Array;
  docString?: string;
}

export type AttributeSpec =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "string"; value: string }
  | { kind: "ints"; value: readonly number[] }
  | { kind: "floats"; value: readonly number[] }
  | { kind: "tensor"; value: TensorSpec };

export interface NodeSpec {
  /** Unique within the graph; runtimes name nodes in their errors and profiles by it. */
  name: string;
  opType: string;
  /** Value names; "" marks an optional input that is left out. */
  inputs: readonly string[];
  /** Value names; "" marks an optional output that is not wanted. */
  outputs: readonly string[];
  /** Operator set domain; absent or "" for the standard operators. */
  domain?: string;
  attributes?: Readonly<Record<string, AttributeSpec>>;
  docString?: string;
}

/** A graph input or output: a name, an element type and a shape. */
export interface ValueInfoSpec {
  name: string;
  elementType: DataTypeCode;
  /** A dimension is a fixed size (number) or a symbolic name such as "batch" (dim_param). */
  shape: readonly (number | string)[];
  docString?: string;
}

export interface GraphSpec {
  name: string;
  /** In topological order: every node reads only values produced before it. */
  nodes: readonly NodeSpec[];
  initializers: readonly TensorSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  docString?: string;
}

export interface ModelSpec {
  graph: GraphSpec;
  /** 10 for opset 21, 11 for opset 23. */
  irVersion: number;
  /** Operator set versions, e.g. `[{ domain: "", version: 21 }]`. */
  opsetImports: readonly { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  /** Free-form strings stored as the model's metadata_props. */
  metadata?: Readonly<Record<string, string>>;
}

/** Thrown when a model spec cannot be encoded; the message says what is wrong and where. */
export class OnnxEncodingError extends Error {
  override name = "OnnxEncodingError";
}

/** Bytes per element of each data type. */
const BYTES_PER_ELEMENT: Record<DataTypeCode, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2 };

const DATA_TYPE_NAMES = new Map<number, string>(Object.entries(DataType).map(([name, code]) => [code, name]));

/** AttributeProto.AttributeType codes. */
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

// ---------------------------------------------------------------------------------------------
// Encoding

/** Encodes a model to the bytes of an `.onnx` file, checking it on the way. */
export function encodeModel(model: ModelSpec): Uint8Array {
  if (!Number.isInteger(model.irVersion) || model.irVersion < 1) {
    fail(`model: irVersion must be a positive integer (10 for opset 21, 11 for opset 23), got ${model.irVersion}`);
  }
  if (model.opsetImports.length === 0) {
    fail('model: opsetImports is empty; import at least the standard operators, e.g. { domain: "", version: 21 }');
  }
  const writer = new ProtobufWriter();
  writer.writeVarintField(1, model.irVersion);
  writer.writeStringField(2, model.producerName);
  writer.writeStringField(3, model.producerVersion);
  if (model.docString !== undefined) writer.writeStringField(6, model.docString);
  writer.writeMessageField(7, encodeGraph(model.graph));
  const seenDomains = new Set<string>();
  for (const { domain, version } of model.opsetImports) {
    if (seenDomains.has(domain)) fail(`model: opsetImports lists domain "${domain}" twice; keep one version per domain`);
    if (!Number.isInteger(version) || version < 1) {
      fail(`model: opset version of domain "${domain}" must be a positive integer, got ${version}`);
    }
    seenDomains.add(domain);
    const opset = new ProtobufWriter();
    opset.writeStringField(1, domain);
    opset.writeVarintField(2, version);
    writer.writeMessageField(8, opset);
  }
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    const entry = new ProtobufWriter();
    entry.writeStringField(1, key);
    entry.writeStringField(2, value);
    writer.writeMessageField(14, entry);
  }
  return writer.finish();
}

function fail(message: string): never {
  throw new OnnxEncodingError(message);
}

function encodeGraph(graph: GraphSpec): ProtobufWriter {
  if (graph.name === "") fail("graph: the name is empty; give the graph a name");
  const where = `graph "${graph.name}"`;

  // Every value name, mapped to what produces it, so each read can be checked against it.
  const producers = new Map<string, string>();
  const define = (name: string, producer: string): void => {
    const earlier = producers.get(name);
    if (earlier !== undefined) {
      fail(`${where}: value "${name}" is produced twice, by ${earlier} and by ${producer}; rename one of them`);
    }
    producers.set(name, producer);
  };
  const graphInputNames = new Set(graph.inputs.map((input) => input.name));

  const writer = new ProtobufWriter();
  writer.writeStringField(2, graph.name);
  if (graph.docString !== undefined) writer.writeStringField(10, graph.docString);

  for (const input of graph.inputs) {
    writer.writeMessageField(11, encodeValueInfo(input, `${where}, input`));
    define(input.name, `graph input "${input.name}"`);
  }
  // An initializer may share its name with a graph input: the input then overrides the default.
  const initializerNames = new Set<string>();
  for (const initializer of graph.initializers) {
    writer.writeMessageField(5, encodeTensor(initializer, `${where}, initializer`));
    if (initializerNames.has(initializer.name)) {
      fail(`${where}: two initializers are named "${initializer.name}"; initializer names must be unique`);
    }
    initializerNames.add(initializer.name);
    if (!graphInputNames.has(initializer.name)) define(initializer.name, `initializer "${initializer.name}"`);
  }

  const nodeNames = new Set<string>();
  graph.nodes.forEach((node, index) => {
    if (node.name === "") fail(`${where}: node ${index} (${node.opType}) has an empty name; give every node a unique name`);
    if (nodeNames.has(node.name)) fail(`${where}: two nodes are named "${node.name}"; node names must be unique`);
    nodeNames.add(node.name);
    const nodeWhere = `${where}, node "${node.name}" (${node.opType})`;
    for (const input of node.inputs) {
      if (input !== "" && !producers.has(input)) {
        fail(
          `${nodeWhere}: input "${input}" is not a graph input, an initializer or an output of an earlier node; ` +
            "check the name, and list the node that produces it before this one (nodes must be in topological order)",
        );
      }
    }
    for (const output of node.outputs) if (output !== "") define(output, `node "${node.name}"`);
    writer.writeMessageField(1, encodeNode(node, nodeWhere));
  });

  for (const output of graph.outputs) {
    if (output.name !== "" && !producers.has(output.name)) {
      fail(
        `${where}: output "${output.name}" is produced by nothing (no node output, initializer or graph input ` +
          "has that name); check the name or add the node that computes it",
      );
    }
    writer.writeMessageField(12, encodeValueInfo(output, `${where}, output`));
  }
  return writer;
}

function encodeNode(node: NodeSpec, where: string): ProtobufWriter {
  if (node.opType === "") fail(`${where}: opType is empty; name the operator, e.g. "MatMul"`);
  const writer = new ProtobufWriter();
  for (const input of node.inputs) writer.writeStringField(1, input);
  for (const output of node.outputs) writer.writeStringField(2, output);
  writer.writeStringField(3, node.name);
  writer.writeStringField(4, node.opType);
  for (const [name, attribute] of Object.entries(node.attributes ?? {})) {
    writer.writeMessageField(5, encodeAttribute(name, attribute, `${where}, attribute "${name}"`));
  }
  if (node.docString !== undefined) writer.writeStringField(6, node.docString);
  if (node.domain !== undefined && node.domain !== "") writer.writeStringField(7, node.domain);
  return writer;
}

function encodeAttribute(name: string, attribute: AttributeSpec, where: string): ProtobufWriter {
  if (name === "") fail(`${where}: the attribute name is empty`);
  const writer = new ProtobufWriter();
  writer.writeStringField(1, name);
  switch (attribute.kind) {
    case "float":
      writer.writeFloatField(2, attribute.value);
      break;
    case "int":
      checkInt64(attribute.value, where);
      writer.writeVarintField(3, attribute.value);
      break;
    case "string":
      writer.writeStringField(4, attribute.value);
      break;
    case "tensor":
      writer.writeMessageField(5, encodeTensor(attribute.value, where, true));
      break;
    case "floats":
      writer.writePackedFloatField(7, attribute.value);
      break;
    case "ints":
      for (const value of attribute.value) checkInt64(value, where);
      writer.writePackedInt64Field(8, attribute.value);
      break;
    default: {
      const kind = (attribute as { kind: unknown }).kind;
      fail(`${where}: unknown attribute kind "${kind}"; use one of ${Object.keys(ATTRIBUTE_TYPE).join(", ")}`);
    }
  }
  writer.writeVarintField(20, ATTRIBUTE_TYPE[attribute.kind]);
  return writer;
}

function checkInt64(value: number, where: string): void {
  if (!Number.isSafeInteger(value)) fail(`${where}: ${value} is not an integer (or is beyond 2^53 in size)`);
}

function elementSizeOf(dataType: number, where: string): number {
  const size = BYTES_PER_ELEMENT[dataType as DataTypeCode];
  if (size === undefined) {
    const supported = [...DATA_TYPE_NAMES.values()].join(", ");
    fail(`${where}: data type ${dataType} is not supported; use one of ${supported} from DataType`);
  }
  return size;
}

function encodeTensor(tensor: TensorSpec, where: string, nameOptional = false): ProtobufWriter {
  if (tensor.name === "" && !nameOptional) fail(`${where}: a tensor has an empty name; name every initializer`);
  const tensorWhere = `${where} "${tensor.name}"`;
  const elementSize = elementSizeOf(tensor.dataType, tensorWhere);
  let elementCount = 1;
  for (const dimension of tensor.dims) {
    if (!Number.isSafeInteger(dimension) || dimension < 0) {
      fail(`${tensorWhere}: dims [${tensor.dims.join(", ")}] must hold non-negative integers`);
    }
    elementCount *= dimension;
  }
  const expectedBytes = elementCount * elementSize;
  if (tensor.rawData.length !== expectedBytes) {
    fail(
      `${tensorWhere}: dims [${tensor.dims.join(", ")}] of ${DATA_TYPE_NAMES.get(tensor.dataType)} need ` +
        `${elementCount} x ${elementSize} = ${expectedBytes} bytes of rawData, but ${tensor.rawData.length} were given`,
    );
  }
  const writer = new ProtobufWriter();
  writer.writePackedInt64Field(1, tensor.dims);
  writer.writeVarintField(2, tensor.dataType);
  writer.writeStringField(8, tensor.name);
  writer.writeBytesField(9, tensor.rawData); // written even when empty, so a zero-size tensor has data
  if (tensor.docString !== undefined) writer.writeStringField(12, tensor.docString);
  return writer;
}

function encodeValueInfo(value: ValueInfoSpec, where: string): ProtobufWriter {
  if (value.name === "") fail(`${where}: a value has an empty name; name every graph input and output`);
  const valueWhere = `${where} "${value.name}"`;
  elementSizeOf(value.elementType, valueWhere);

  // The shape message is written even for a scalar (no dims): an absent shape means "unknown rank".
  const shape = new ProtobufWriter();
  for (const dimension of value.shape) {
    const dim = new ProtobufWriter();
    if (typeof dimension === "string") {
      if (dimension === "") fail(`${valueWhere}: a symbolic dimension is empty; use a name such as "batch"`);
      dim.writeStringField(2, dimension);
    } else {
      if (!Number.isSafeInteger(dimension) || dimension < 0) {
        fail(`${valueWhere}: dimension ${dimension} must be a non-negative integer or a symbolic name`);
      }
      dim.writeVarintField(1, dimension);
    }
    shape.writeMessageField(1, dim);
  }
  const tensorType = new ProtobufWriter();
  tensorType.writeVarintField(1, value.elementType);
  tensorType.writeMessageField(2, shape);
  const type = new ProtobufWriter();
  type.writeMessageField(1, tensorType);

  const writer = new ProtobufWriter();
  writer.writeStringField(1, value.name);
  writer.writeMessageField(2, type);
  if (value.docString !== undefined) writer.writeStringField(3, value.docString);
  return writer;
}

// ---------------------------------------------------------------------------------------------
// Initializers from typed arrays

function checkValueCount(name: string, dims: readonly number[], count: number, helper: string): void {
  const expected = dims.reduce((product, dimension) => product * dimension, 1);
  if (count !== expected) {
    fail(`${helper}("${name}"): dims [${dims.join(", ")}] need ${expected} values but ${count} were given`);
  }
}

/** A FLOAT tensor from float32 values (numbers are rounded to float32). */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array | readonly number[]): TensorSpec {
  checkValueCount(name, dims, values.length, "floatTensor");
  const rawData = new Uint8Array(values.length * 4);
  const view = new DataView(rawData.buffer);
  values.forEach((value: number, index: number) => view.setFloat32(index * 4, value, true));
  return { name, dataType: DataType.FLOAT, dims: [...dims], rawData };
}

/** An INT64 tensor; numbers must be safe integers, bigints any signed 64-bit value. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly (number | bigint)[]): TensorSpec {
  checkValueCount(name, dims, values.length, "int64Tensor");
  const rawData = new Uint8Array(values.length * 8);
  const view = new DataView(rawData.buffer);
  values.forEach((value, index) => {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      fail(`int64Tensor("${name}"): value ${value} at index ${index} is not a safe integer; pass a bigint`);
    }
    const big = BigInt(value);
    if (big < -(1n << 63n) || big >= 1n << 63n) {
      fail(`int64Tensor("${name}"): value ${big} at index ${index} does not fit in int64`);
    }
    view.setBigInt64(index * 8, big, true);
  });
  return { name, dataType: DataType.INT64, dims: [...dims], rawData };
}

/** A BOOL tensor: one byte per element, 0 or 1. */
export function boolTensor(name: string, dims: readonly number[], values: readonly boolean[]): TensorSpec {
  checkValueCount(name, dims, values.length, "boolTensor");
  return { name, dataType: DataType.BOOL, dims: [...dims], rawData: Uint8Array.from(values, (value) => (value ? 1 : 0)) };
}

/** A FLOAT16 tensor: the values rounded to IEEE half precision, two little-endian bytes each. */
export function float16Tensor(name: string, dims: readonly number[], values: Float32Array): TensorSpec {
  checkValueCount(name, dims, values.length, "float16Tensor");
  const bits = encodeFloat16(values);
  const rawData = new Uint8Array(bits.length * 2);
  const view = new DataView(rawData.buffer);
  bits.forEach((pattern, index) => view.setUint16(index * 2, pattern, true));
  return { name, dataType: DataType.FLOAT16, dims: [...dims], rawData };
}
