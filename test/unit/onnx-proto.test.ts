import assert from "node:assert/strict";

import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";

import {
  boolTensor,
  DataType,
  encodeModel,
  float16Tensor,
  floatTensor,
  int64Tensor,
  OnnxEncodingError,
  type AttributeSpec,
  type GraphSpec,
  type ModelSpec,
  type NodeSpec,
  type TensorSpec,
} from "../../src/model/onnx/onnx-proto";
import { ProtobufWriter } from "../../src/model/onnx/protobuf-writer";

// ---------------------------------------------------------------------------------------------
// Helpers

function bytesOf(write: (writer: ProtobufWriter) => void): number[] {
  const writer = new ProtobufWriter();
  write(writer);
  return [...writer.finish()];
}

function model(graph: GraphSpec, opset = 21, irVersion = 10): ModelSpec {
  return {
    graph,
    irVersion,
    opsetImports: [{ domain: "", version: opset }],
    producerName: "attention-lens-test",
    producerVersion: "0.1.0",
  };
}

function node(
  name: string,
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes?: Record<string, AttributeSpec>,
): NodeSpec {
  return { name, opType, inputs, outputs, attributes };
}

function int(value: number): AttributeSpec {
  return { kind: "int", value };
}

/** A graph input or output value of FLOAT type. */
function floatValue(name: string, shape: readonly (number | string)[]) {
  return { name, elementType: DataType.FLOAT, shape };
}

/** One feed: the element type as both runtimes name it, the elements and the shape. */
type Feed =
  | { type: "float32"; data: Float32Array; dims: number[] }
  | { type: "int64"; data: BigInt64Array; dims: number[] }
  | { type: "bool"; data: Uint8Array; dims: number[] };

interface Output {
  data: ArrayLike<number | bigint | boolean> & Iterable<number | bigint | boolean>;
  dims: readonly number[];
}

/** The parts of the onnxruntime API (node or web, same version) these tests use. */
type OrtModule = typeof ortNode | typeof ortWeb;

const RUNTIMES: { name: string; ort: OrtModule }[] = [
  { name: "onnxruntime-node", ort: ortNode },
  { name: "onnxruntime-web (wasm, in Node)", ort: ortWeb },
];

// One thread: a webview is not cross-origin isolated either. In Node, onnxruntime-web finds its .wasm
// files next to its own bundle, so `env.wasm.wasmPaths` need not be set.
ortWeb.env.wasm.numThreads = 1;

async function runModel(ort: OrtModule, bytes: Uint8Array, feeds: Record<string, Feed>): Promise<Record<string, Output>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const tensors: Record<string, InstanceType<OrtModule["Tensor"]>> = {};
    for (const [name, feed] of Object.entries(feeds)) tensors[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
    const results = await session.run(tensors as never);
    const outputs: Record<string, Output> = {};
    for (const [name, tensor] of Object.entries(results)) {
      outputs[name] = { data: tensor.data as Output["data"], dims: tensor.dims };
    }
    return outputs;
  } finally {
    await session.release();
  }
}

function assertCloseTo(actual: Output["data"], expected: readonly number[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let index = 0; index < expected.length; index++) {
    const difference = Math.abs(Number(actual[index]) - expected[index]);
    assert.ok(difference <= tolerance, `${label}[${index}]: got ${actual[index]}, expected ${expected[index]} (±${tolerance})`);
  }
}

function softmax(values: readonly number[]): number[] {
  const largest = Math.max(...values);
  const exponentials = values.map((value) => Math.exp(value - largest));
  const sum = exponentials.reduce((total, value) => total + value, 0);
  return exponentials.map((value) => value / sum);
}

// ---------------------------------------------------------------------------------------------
// ProtobufWriter

describe("ProtobufWriter", () => {
  it("writes varints byte by byte as the protobuf spec does", () => {
    const cases: [number | bigint, number[]][] = [
      [0, [0x00]],
      [1, [0x01]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [300, [0xac, 0x02]], // 300 = 0b10_0101100: low 7 bits 0x2c | 0x80, then 0b10
      [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]],
      [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]], // bit 32 is bit 4 of the fifth group
      [2 ** 53 - 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]], // 53 ones: 7 full groups + 4 bits
      [2n ** 53n - 1n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
      [2n ** 63n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
      [2n ** 64n - 1n, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ];
    for (const [value, expected] of cases) {
      assert.deepEqual(bytesOf((writer) => writer.writeVarint(value)), expected, `varint ${value}`);
    }
  });

  it("writes negative int64 values as 10-byte two's complement", () => {
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert.deepEqual(bytesOf((writer) => writer.writeVarint(-1)), minusOne);
    assert.deepEqual(bytesOf((writer) => writer.writeVarint(-1n)), minusOne);
    assert.deepEqual(bytesOf((writer) => writer.writeVarint(-2)), [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    // -2^63 = 0x8000_0000_0000_0000: 63 zero bits, then the sign bit alone in the tenth byte.
    assert.deepEqual(
      bytesOf((writer) => writer.writeVarint(-(2n ** 63n))),
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    );
  });

  it("refuses values that do not fit in a varint", () => {
    const writer = new ProtobufWriter();
    assert.throws(() => writer.writeVarint(2 ** 53), /not an integer in the safe range; pass a bigint/);
    assert.throws(() => writer.writeVarint(1.5), /not an integer in the safe range/);
    assert.throws(() => writer.writeVarint(2n ** 64n), /does not fit in 64 bits/);
    assert.throws(() => writer.writeVarint(-(2n ** 63n) - 1n), /does not fit in 64 bits/);
    assert.throws(() => writer.writeTag(0, 0), /field number 0 must be an integer from 1/);
  });

  it("writes tags, varint fields and fixed32 floats", () => {
    assert.deepEqual(bytesOf((writer) => writer.writeTag(1, 0)), [0x08]);
    assert.deepEqual(bytesOf((writer) => writer.writeTag(20, 0)), [0xa0, 0x01]); // 160 needs two bytes
    assert.deepEqual(bytesOf((writer) => writer.writeVarintField(2, 7)), [0x10, 0x07]);
    // 1.0f = 0x3f800000, little-endian; field 2, wire type 5 -> tag 0x15.
    assert.deepEqual(bytesOf((writer) => writer.writeFloatField(2, 1)), [0x15, 0x00, 0x00, 0x80, 0x3f]);
  });

  it("writes length-delimited bytes, UTF-8 strings and nested messages", () => {
    assert.deepEqual(bytesOf((writer) => writer.writeBytesField(9, new Uint8Array([1, 2, 3]))), [0x4a, 0x03, 1, 2, 3]);
    assert.deepEqual(bytesOf((writer) => writer.writeStringField(1, "hé")), [0x0a, 0x03, 0x68, 0xc3, 0xa9]);
    assert.deepEqual(bytesOf((writer) => writer.writeStringField(1, "")), [0x0a, 0x00]);

    const inner = new ProtobufWriter();
    inner.writeVarintField(1, 150);
    assert.deepEqual(bytesOf((writer) => writer.writeMessageField(3, inner)), [0x1a, 0x03, 0x08, 0x96, 0x01]);
    const encoded = new Uint8Array([0x08, 0x96, 0x01]);
    assert.deepEqual(bytesOf((writer) => writer.writeMessageField(3, encoded)), [0x1a, 0x03, 0x08, 0x96, 0x01]);
    assert.deepEqual(bytesOf((writer) => writer.writeMessageField(3, new ProtobufWriter())), [0x1a, 0x00]);
  });

  it("writes packed repeated int64 and float fields, and nothing for an empty list", () => {
    assert.deepEqual(bytesOf((writer) => writer.writePackedInt64Field(8, [1, 300, -1n])), [
      0x42, 13, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    assert.deepEqual(bytesOf((writer) => writer.writePackedFloatField(7, [1, -2])), [
      0x3a, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
    ]);
    assert.deepEqual(bytesOf((writer) => writer.writePackedInt64Field(8, [])), []);
    assert.deepEqual(bytesOf((writer) => writer.writePackedFloatField(7, [])), []);
  });

  it("keeps large chunks in order through nested messages", () => {
    const large = Uint8Array.from({ length: 200 }, (_, index) => index);
    const inner = new ProtobufWriter();
    inner.writeVarintField(1, 5);
    inner.writeBytesField(2, large);
    inner.writeVarintField(3, 6);
    const outer = new ProtobufWriter();
    outer.writeMessageField(4, inner);
    outer.writeVarintField(5, 7);
    const innerBytes = [0x08, 0x05, 0x12, 0xc8, 0x01, ...large, 0x18, 0x06]; // 200 = c8 01
    assert.equal(inner.length, innerBytes.length);
    assert.deepEqual([...outer.finish()], [0x22, 0xcf, 0x01, ...innerBytes, 0x28, 0x07]); // 2 + 3 + 200 + 2 = 207 = cf 01
  });
});

// ---------------------------------------------------------------------------------------------
// Encoding, read back with onnx-buf

describe("encodeModel, decoded with onnx-buf", () => {
  const attributeTensor = floatTensor("attribute_tensor", [2], [1.5, -2]);
  const spec: ModelSpec = {
    irVersion: 10,
    opsetImports: [
      { domain: "", version: 21 },
      { domain: "com.example", version: 1 },
    ],
    producerName: "attention-lens",
    producerVersion: "1.2.3",
    docString: "a model for the decoder",
    metadata: { author: "attention lens", note: "ünïcode ✓" },
    graph: {
      name: "decode_check",
      docString: "every field the encoder writes",
      inputs: [
        { name: "x", elementType: DataType.FLOAT, shape: ["batch", 3, "sequence"], docString: "the input" },
        { name: "ids", elementType: DataType.INT64, shape: [2] },
        { name: "scalar", elementType: DataType.FLOAT, shape: [] },
      ],
      initializers: [
        floatTensor("weight", [3, 2], [1, 2, 3, 4, 5, 6]),
        int64Tensor("table", [3], [-1, 0, 2n ** 40n]),
        boolTensor("mask", [2], [true, false]),
        float16Tensor("half", [2], new Float32Array([1, -0.5])),
        { ...floatTensor("empty", [0, 4], []), docString: "zero elements" },
      ],
      nodes: [
        {
          name: "every_attribute",
          opType: "Custom",
          domain: "com.example",
          inputs: ["x", "", "weight"],
          outputs: ["y", ""],
          docString: "a node with one attribute of each kind",
          attributes: {
            axis: { kind: "int", value: -1 },
            alpha: { kind: "float", value: 0.5 },
            mode: { kind: "string", value: "héllo" },
            perm: { kind: "ints", value: [1, -2, 300] },
            scales: { kind: "floats", value: [0.25, -1.5] },
            value: { kind: "tensor", value: attributeTensor },
          },
        },
        { name: "identity", opType: "Identity", inputs: ["y"], outputs: ["z"] },
      ],
      outputs: [floatValue("z", ["batch", 2]), { name: "table", elementType: DataType.INT64, shape: [3] }],
    },
  };

  // onnx-buf is ESM only; a dynamic import loads it from this CommonJS-compiled test.
  async function decode(bytes: Uint8Array) {
    const [{ fromBinary }, onnx] = await Promise.all([import("@bufbuild/protobuf"), import("onnx-buf")]);
    return { decoded: fromBinary(onnx.ModelProtoSchema, bytes), onnx };
  }

  it("keeps every model, node, attribute, initializer and value field", async () => {
    const { decoded, onnx } = await decode(encodeModel(spec));
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

    assert.equal(decoded.irVersion, 10n);
    assert.deepEqual(
      decoded.opsetImport.map((opset) => [opset.domain, opset.version]),
      [["", 21n], ["com.example", 1n]],
    );
    assert.equal(decoded.producerName, "attention-lens");
    assert.equal(decoded.producerVersion, "1.2.3");
    assert.equal(decoded.docString, "a model for the decoder");
    assert.deepEqual(
      decoded.metadataProps.map((entry) => [entry.key, entry.value]),
      [["author", "attention lens"], ["note", "ünïcode ✓"]],
    );

    const graph = decoded.graph;
    assert.ok(graph);
    assert.equal(graph.name, "decode_check");
    assert.equal(graph.docString, "every field the encoder writes");

    assert.deepEqual(
      graph.node.map((node) => [node.name, node.opType, node.domain, node.input, node.output]),
      [
        ["every_attribute", "Custom", "com.example", ["x", "", "weight"], ["y", ""]],
        ["identity", "Identity", "", ["y"], ["z"]],
      ],
    );
    assert.equal(graph.node[0].docString, "a node with one attribute of each kind");
    const attributes = new Map(graph.node[0].attribute.map((attribute) => [attribute.name, attribute]));
    assert.deepEqual([...attributes.keys()], ["axis", "alpha", "mode", "perm", "scales", "value"]);
    const Type = onnx.AttributeProto_AttributeType;
    const attribute = (name: string) => attributes.get(name) ?? assert.fail(`attribute ${name} missing`);
    assert.equal(attribute("axis").type, Type.INT);
    assert.equal(attribute("axis").i, -1n);
    assert.equal(attribute("alpha").type, Type.FLOAT);
    assert.equal(attribute("alpha").f, 0.5);
    assert.equal(attribute("mode").type, Type.STRING);
    assert.equal(text(attribute("mode").s), "héllo");
    assert.equal(attribute("perm").type, Type.INTS);
    assert.deepEqual(attribute("perm").ints, [1n, -2n, 300n]);
    assert.equal(attribute("scales").type, Type.FLOATS);
    assert.deepEqual(attribute("scales").floats, [0.25, -1.5]);
    assert.equal(attribute("value").type, Type.TENSOR);
    const tensorAttribute = attribute("value").t;
    assert.ok(tensorAttribute);
    assert.equal(tensorAttribute.name, "attribute_tensor");
    assert.equal(tensorAttribute.dataType, onnx.TensorProto_DataType.FLOAT);
    assert.deepEqual(tensorAttribute.dims, [2n]);
    assert.deepEqual([...new Float32Array(tensorAttribute.rawData.slice().buffer)], [1.5, -2]);

    const initializers = spec.graph.initializers;
    assert.deepEqual(
      graph.initializer.map((tensor) => [tensor.name, tensor.dataType, tensor.dims, [...tensor.rawData], tensor.docString]),
      initializers.map((tensor: TensorSpec) => [
        tensor.name,
        tensor.dataType,
        tensor.dims.map(BigInt),
        [...tensor.rawData],
        tensor.docString ?? "",
      ]),
    );
    assert.deepEqual(
      graph.initializer.map((tensor) => tensor.dataType),
      [
        onnx.TensorProto_DataType.FLOAT,
        onnx.TensorProto_DataType.INT64,
        onnx.TensorProto_DataType.BOOL,
        onnx.TensorProto_DataType.FLOAT16,
        onnx.TensorProto_DataType.FLOAT,
      ],
    );
    // Spot-check the raw bytes: little-endian int64 -1, 0, 2^40; float16 1 = 0x3c00, -0.5 = 0xb800.
    const table = new DataView(graph.initializer[1].rawData.slice().buffer);
    assert.deepEqual([0, 8, 16].map((offset) => table.getBigInt64(offset, true)), [-1n, 0n, 2n ** 40n]);
    assert.deepEqual([...graph.initializer[2].rawData], [1, 0]);
    assert.deepEqual([...graph.initializer[3].rawData], [0x00, 0x3c, 0x00, 0xb8]);

    const describeValue = (value: (typeof graph.input)[number]) => {
      assert.equal(value.type?.value.case, "tensorType");
      const tensorType = value.type.value.value;
      assert.ok(tensorType.shape, `${value.name}: the shape must be written, even for a scalar`);
      return {
        name: value.name,
        elementType: tensorType.elemType,
        shape: tensorType.shape.dim.map((dim) => (dim.value.case === "dimParam" ? dim.value.value : Number(dim.value.value))),
        docString: value.docString,
      };
    };
    assert.deepEqual(graph.input.map(describeValue), [
      { name: "x", elementType: DataType.FLOAT, shape: ["batch", 3, "sequence"], docString: "the input" },
      { name: "ids", elementType: DataType.INT64, shape: [2], docString: "" },
      { name: "scalar", elementType: DataType.FLOAT, shape: [], docString: "" },
    ]);
    assert.deepEqual(graph.output.map(describeValue), [
      { name: "z", elementType: DataType.FLOAT, shape: ["batch", 2], docString: "" },
      { name: "table", elementType: DataType.INT64, shape: [3], docString: "" },
    ]);
  });

  it("builds initializers with the right raw bytes", () => {
    assert.deepEqual([...floatTensor("f", [1], [1]).rawData], [0x00, 0x00, 0x80, 0x3f]);
    assert.deepEqual([...int64Tensor("i", [2], [1, -1n]).rawData], [1, 0, 0, 0, 0, 0, 0, 0, ...new Array(8).fill(255)]);
    assert.deepEqual([...boolTensor("b", [3], [false, true, true]).rawData], [0, 1, 1]);
    assert.deepEqual([...float16Tensor("h", [1], new Float32Array([2])).rawData], [0x00, 0x40]);
    assert.throws(() => floatTensor("f", [2, 2], [1, 2, 3]), /floatTensor\("f"\): dims \[2, 2\] need 4 values but 3 were given/);
    assert.throws(() => int64Tensor("i", [1], [2 ** 53]), /value 9007199254740992 at index 0 is not a safe integer/);
    assert.throws(() => int64Tensor("i", [1], [2n ** 63n]), /does not fit in int64/);
  });
});

// ---------------------------------------------------------------------------------------------
// Running encoded models

describe("encoded models run in onnxruntime-node and onnxruntime-web", () => {
  // Model 1: y = softmax(x W) over the last axis, with a symbolic batch dimension.
  const weight = [
    [1, 0],
    [0, 1],
    [1, -1],
  ];
  const softmaxModel = encodeModel(
    model({
      name: "matmul_softmax",
      inputs: [floatValue("x", ["batch", 3])],
      initializers: [floatTensor("weight", [3, 2], weight.flat())],
      nodes: [
        node("project", "MatMul", ["x", "weight"], ["logits"]),
        node("normalize", "Softmax", ["logits"], ["y"], { axis: int(-1) }),
      ],
      outputs: [floatValue("y", ["batch", 2])],
    }),
  );
  const x = [
    [1, 2, 3],
    [0.5, -1, 0],
  ];
  // x W by hand: row 0 = [1 + 3, 2 - 3] = [4, -1]; row 1 = [0.5, -1].
  const expectedSoftmax = [...softmax([4, -1]), ...softmax([0.5, -1])];

  // Model 2: integer inputs, shape arithmetic and a zero-length past, as a KV cache starts.
  const shapeOpsModel = encodeModel(
    model({
      name: "shape_operations",
      inputs: [
        { name: "token_ids", elementType: DataType.INT64, shape: ["batch", "sequence"] },
        floatValue("past_keys", ["batch", "past_sequence", 2]),
      ],
      initializers: [
        floatTensor("embedding_table", [5, 2], [0, 1, 10, 11, 20, 21, 30, 31, 40, 41]),
        int64Tensor("squeeze_axes", [1], [0]),
        int64Tensor("range_start", [], [0]),
        int64Tensor("range_delta", [], [1]),
        boolTensor("keep", [3], [true, false, true]),
        floatTensor("fill", [], [-1]),
        int64Tensor("expand_shape", [2], [2, 3]),
        int64Tensor("flatten_shape", [2], [0, -1]),
      ],
      nodes: [
        node("sequence_length_of", "Shape", ["token_ids"], ["sequence_length_1d"], { start: int(1), end: int(2) }),
        node("to_scalar", "Squeeze", ["sequence_length_1d", "squeeze_axes"], ["sequence_length"]),
        node("positions_of", "Range", ["range_start", "sequence_length", "range_delta"], ["positions"]),
        node("to_float", "Cast", ["positions"], ["positions_float"], { to: int(DataType.FLOAT) }),
        node("mask_positions", "Where", ["keep", "positions_float", "fill"], ["kept_positions"]),
        node("broadcast", "Expand", ["kept_positions", "expand_shape"], ["expanded"]),
        node("embed", "Gather", ["embedding_table", "token_ids"], ["embeddings"], { axis: int(0) }),
        node("append_to_past", "Concat", ["past_keys", "embeddings"], ["keys"], { axis: int(1) }),
        node("flatten", "Reshape", ["keys", "flatten_shape"], ["keys_flat"]),
      ],
      outputs: [
        { name: "positions", elementType: DataType.INT64, shape: ["sequence"] },
        floatValue("expanded", [2, 3]),
        floatValue("keys", ["batch", "total_sequence", 2]),
        floatValue("keys_flat", ["batch", "flat"]),
      ],
    }),
  );

  // Model 3: the standard Attention operator of opset 23, grouped-query (2 query heads, 1 KV head).
  const attentionModel = encodeModel(
    model(
      {
        name: "attention_23",
        inputs: [floatValue("query", [1, 2, 2, 2]), floatValue("key", [1, 1, 3, 2]), floatValue("value", [1, 1, 3, 2])],
        initializers: [],
        nodes: [
          node("attention", "Attention", ["query", "key", "value"], ["output"], { q_num_heads: int(2), kv_num_heads: int(1) }),
        ],
        outputs: [floatValue("output", [1, 2, 2, 2])],
      },
      23,
      11,
    ),
  );
  const query = [
    [[1, 0], [0, 1]], // head 0, positions 0 and 1
    [[0.5, 0.5], [-1, 2]], // head 1
  ];
  const key = [[1, 0], [0, 1], [1, 1]];
  const value = [[1, 2], [3, 4], [-1, 0.5]];
  // softmax(q k^T / sqrt(2)) v for each query row; both query heads share the one KV head.
  const expectedAttention = query.flat().flatMap((row) => {
    const weights = softmax(key.map((keyRow) => (row[0] * keyRow[0] + row[1] * keyRow[1]) / Math.sqrt(2)));
    return [0, 1].map((column) => weights.reduce((sum, weight, position) => sum + weight * value[position][column], 0));
  });

  for (const { name, ort } of RUNTIMES) {
    describe(name, () => {
      it("runs MatMul -> Softmax with a symbolic batch", async () => {
        const input: Feed = { type: "float32", data: Float32Array.from(x.flat()), dims: [2, 3] };
        const outputs = await runModel(ort, softmaxModel, { x: input });
        assert.deepEqual(outputs.y.dims, [2, 2]);
        assertCloseTo(outputs.y.data, expectedSoftmax, 1e-6, "y");
      });

      it("runs Shape, Squeeze, Range, Cast, Where, Expand, Gather, Concat of a zero-length past, Reshape [0, -1]", async () => {
        const tokenIds = { type: "int64" as const, data: BigInt64Array.from([4n, 0n, 2n]), dims: [1, 3] };
        const emptyPast = await runModel(ort, shapeOpsModel, {
          token_ids: tokenIds,
          past_keys: { type: "float32", data: new Float32Array(0), dims: [1, 0, 2] },
        });
        assert.deepEqual(emptyPast.positions.dims, [3]);
        assert.deepEqual([...(emptyPast.positions.data as BigInt64Array)], [0n, 1n, 2n]);
        assert.deepEqual(emptyPast.expanded.dims, [2, 3]);
        assert.deepEqual([...emptyPast.expanded.data], [0, -1, 2, 0, -1, 2]);
        assert.deepEqual(emptyPast.keys.dims, [1, 3, 2]);
        assert.deepEqual([...emptyPast.keys.data], [40, 41, 0, 1, 20, 21]);
        assert.deepEqual(emptyPast.keys_flat.dims, [1, 6]);
        assert.deepEqual([...emptyPast.keys_flat.data], [40, 41, 0, 1, 20, 21]);

        // The same model with two past positions: the symbolic dimensions really are free.
        const withPast = await runModel(ort, shapeOpsModel, {
          token_ids: tokenIds,
          past_keys: { type: "float32", data: Float32Array.from([7, 8, 9, 10]), dims: [1, 2, 2] },
        });
        assert.deepEqual(withPast.keys.dims, [1, 5, 2]);
        assert.deepEqual(withPast.keys_flat.dims, [1, 10]);
        assert.deepEqual([...withPast.keys_flat.data], [7, 8, 9, 10, 40, 41, 0, 1, 20, 21]);
      });

      it("runs the opset 23 Attention operator and matches softmax(Q K^T / sqrt(d)) V", async () => {
        const outputs = await runModel(ort, attentionModel, {
          query: { type: "float32", data: Float32Array.from(query.flat(2)), dims: [1, 2, 2, 2] },
          key: { type: "float32", data: Float32Array.from(key.flat()), dims: [1, 1, 3, 2] },
          value: { type: "float32", data: Float32Array.from(value.flat()), dims: [1, 1, 3, 2] },
        });
        assert.deepEqual(outputs.output.dims, [1, 2, 2, 2]);
        assertCloseTo(outputs.output.data, expectedAttention, 1e-5, "output");
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Validation

describe("encodeModel validation", () => {
  const relu = (name: string, input: string, output: string): NodeSpec => node(name, "Relu", [input], [output]);
  const graph = (overrides: Partial<GraphSpec>): GraphSpec => ({
    name: "checked",
    inputs: [floatValue("x", ["batch", 3])],
    initializers: [],
    nodes: [relu("first", "x", "y")],
    outputs: [floatValue("y", ["batch", 3])],
    ...overrides,
  });
  const encodeGraph = (overrides: Partial<GraphSpec>) => encodeModel(model(graph(overrides)));
  /** Asserts that encoding `graph(overrides)` throws an OnnxEncodingError whose message matches. */
  const rejects = (overrides: Partial<GraphSpec>, message: RegExp) =>
    assert.throws(() => encodeGraph(overrides), { name: "OnnxEncodingError", message });

  it("accepts the valid base graph and throws OnnxEncodingError instances", () => {
    assert.ok(encodeGraph({}).length > 0);
    assert.throws(() => encodeGraph({ name: "" }), OnnxEncodingError);
  });

  it("checks rawData length against dims and element size", () => {
    const wrong: TensorSpec = { name: "weight", dataType: DataType.FLOAT, dims: [3, 2], rawData: new Uint8Array(20) };
    rejects(
      { initializers: [wrong] },
      /graph "checked", initializer "weight": dims \[3, 2\] of FLOAT need 6 x 4 = 24 bytes of rawData, but 20 were given/,
    );
    const int64: TensorSpec = { name: "ids", dataType: DataType.INT64, dims: [2], rawData: new Uint8Array(2) };
    rejects({ initializers: [int64] }, /dims \[2\] of INT64 need 2 x 8 = 16 bytes of rawData, but 2 were given/);
    const negative: TensorSpec = { name: "bad", dataType: DataType.FLOAT, dims: [-1], rawData: new Uint8Array(0) };
    rejects({ initializers: [negative] }, /initializer "bad": dims \[-1\] must hold non-negative integers/);
    const unknownType = { name: "odd", dataType: 11, dims: [1], rawData: new Uint8Array(8) } as unknown as TensorSpec;
    rejects({ initializers: [unknownType] }, /initializer "odd": data type 11 is not supported; use one of FLOAT, UINT8/);
  });

  it("refuses duplicate node names", () => {
    rejects(
      { nodes: [relu("same", "x", "a"), relu("same", "a", "y")] },
      /graph "checked": two nodes are named "same"; node names must be unique/,
    );
  });

  it("refuses empty names", () => {
    rejects({ nodes: [relu("", "x", "y")] }, /node 0 \(Relu\) has an empty name; give every node a unique name/);
    rejects({ name: "" }, /graph: the name is empty/);
    rejects({ inputs: [floatValue("", [3])] }, /graph "checked", input: a value has an empty name/);
    rejects({ outputs: [floatValue("", [3])] }, /graph "checked", output: a value has an empty name/);
    rejects({ initializers: [floatTensor("", [1], [0])] }, /graph "checked", initializer: a tensor has an empty name/);
    rejects({ inputs: [floatValue("x", ["", 3])] }, /input "x": a symbolic dimension is empty/);
  });

  it('requires every node input to be produced earlier (topological order); "" is an optional input', () => {
    rejects(
      { nodes: [relu("first", "x", "a"), relu("second", "typo", "y")] },
      /node "second" \(Relu\): input "typo" is not a graph input, an initializer or an output of an earlier node; .*topological order/,
    );
    // The right nodes, in the wrong order.
    rejects({ nodes: [relu("second", "a", "y"), relu("first", "x", "a")] }, /node "second" \(Relu\): input "a" is not a graph input/);
    const clip = node("clip", "Clip", ["x", "", "maximum"], ["y"]);
    assert.ok(encodeGraph({ initializers: [floatTensor("maximum", [], [1])], nodes: [clip] }).length > 0);
  });

  it("requires every graph output to be produced", () => {
    rejects(
      { outputs: [floatValue("y", ["batch", 3]), floatValue("missing", [1])] },
      /graph "checked": output "missing" is produced by nothing/,
    );
  });

  it("refuses a value produced twice", () => {
    rejects(
      { nodes: [relu("first", "x", "y"), relu("second", "x", "y")] },
      /value "y" is produced twice, by node "first" and by node "second"/,
    );
    rejects(
      { nodes: [relu("first", "x", "x"), relu("second", "x", "y")] },
      /value "x" is produced twice, by graph input "x" and by node "first"/,
    );
    rejects({ initializers: [floatTensor("w", [1], [0]), floatTensor("w", [1], [1])] }, /two initializers are named "w"/);
    // An initializer may share a graph input's name: it is then the input's default value.
    assert.ok(encodeGraph({ initializers: [floatTensor("x", [1, 3], [0, 0, 0])] }).length > 0);
  });

  it("checks attributes and the model header", () => {
    rejects(
      { nodes: [node("first", "Relu", ["x"], ["y"], { axis: int(0.5) })] },
      /node "first" \(Relu\), attribute "axis": 0.5 is not an integer/,
    );
    const base = model(graph({}));
    assert.throws(() => encodeModel({ ...base, opsetImports: [] }), { name: "OnnxEncodingError", message: /opsetImports is empty/ });
    assert.throws(() => encodeModel({ ...base, irVersion: 0 }), { name: "OnnxEncodingError", message: /irVersion must be a positive/ });
  });
});
