/**
 * A one-node ONNX model, `c = MatMul(a, b)` with fixed shapes, encoded in code so the
 * benchmark ships no model file. Only the few protobuf fields an ONNX runtime needs are
 * written (onnx.proto3: ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */

/** ONNX `TensorProto.DataType` values used here. */
const ONNX_ELEMENT_TYPE = { float32: 1, float16: 10 } as const

/** Element type of the model's tensors. */
export type OnnxMatmulDtype = keyof typeof ONNX_ELEMENT_TYPE

/** Bytes of an unsigned varint (non-negative safe integers only). */
function varint(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint of ${value}`)
  const bytes: number[] = []
  let rest = value
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80)
    rest = Math.floor(rest / 0x80)
  }
  bytes.push(rest)
  return bytes
}

/** A varint field (wire type 0). */
const intField = (field: number, value: number): number[] => [
  ...varint(field * 8),
  ...varint(value),
]

/** A length-delimited field (wire type 2): a string or an embedded message. */
function bytesField(field: number, payload: number[] | string): number[] {
  const bytes = typeof payload === 'string' ? [...new TextEncoder().encode(payload)] : payload
  return [...varint(field * 8 + 2), ...varint(bytes.length), ...bytes]
}

/** `ValueInfoProto { name, type: TypeProto { tensor_type { elem_type, shape } } }`. */
function tensorValueInfo(name: string, dtype: OnnxMatmulDtype, dims: readonly number[]): number[] {
  const shape = dims.flatMap((dim) => bytesField(1, intField(1, dim)))
  const tensorType = [...intField(1, ONNX_ELEMENT_TYPE[dtype]), ...bytesField(2, shape)]
  return [...bytesField(1, name), ...bytesField(2, bytesField(1, tensorType))]
}

/**
 * The model's bytes: inputs `a` `[m, k]` and `b` `[k, n]`, output `c` `[m, n]`, all of
 * `dtype`, one `MatMul` node, opset 13, IR version 8.
 *
 * @example
 * const session = await ort.InferenceSession.create(onnxMatmulModel(m, k, n, 'float32'))
 */
export function onnxMatmulModel(
  m: number,
  k: number,
  n: number,
  dtype: OnnxMatmulDtype,
): Uint8Array<ArrayBuffer> {
  const node = [
    ...bytesField(1, 'a'),
    ...bytesField(1, 'b'),
    ...bytesField(2, 'c'),
    ...bytesField(3, 'matmul'),
    ...bytesField(4, 'MatMul'),
  ]
  const graph = [
    ...bytesField(1, node),
    ...bytesField(2, 'tabswarm-bench-matmul'),
    ...bytesField(11, tensorValueInfo('a', dtype, [m, k])),
    ...bytesField(11, tensorValueInfo('b', dtype, [k, n])),
    ...bytesField(12, tensorValueInfo('c', dtype, [m, n])),
  ]
  const model = [
    ...intField(1, 8),
    ...bytesField(2, 'tabswarm-bench'),
    ...bytesField(7, graph),
    ...bytesField(8, [...bytesField(1, ''), ...intField(2, 13)]),
  ]
  return Uint8Array.from(model)
}
