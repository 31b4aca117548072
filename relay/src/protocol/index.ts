/**
 * The wire protocol, browser-safe: imports nothing from Node. Tabs, headless workers and
 * the relay all speak through this module.
 */

export type { BlobSource, RequestBlobOptions, ServeBlobOptions } from './blob-exchange.ts'
export { requestBlob, serveBlobRequest } from './blob-exchange.ts'
export type { BlobFetchErrorCode } from './blob-fetch-error.ts'
export { BlobFetchError } from './blob-fetch-error.ts'
export type {
  BlobErrorMessage,
  BlobFound,
  BlobNotFound,
  BlobRequest,
  BlobResponse,
} from './blob-messages.ts'
export {
  BlobRequestSchema,
  BlobResponseSchema,
  DEFAULT_BLOB_CHUNK_BYTES,
  MAX_BLOB_BYTES,
  MAX_BLOB_CHUNK_BYTES,
  MAX_BLOB_HEADER_BYTES,
} from './blob-messages.ts'
export type { WorkRequestHandler } from './exchange.ts'
export { sendWorkRequest, serveWorkRequest } from './exchange.ts'
export type { Frame } from './frame.ts'
export { decodeFrame, encodeFrame, packTensors, readTensor } from './frame.ts'
export { MAX_HEADER_BYTES, MAX_MESSAGE_BYTES, MAX_TENSOR_DIM, MAX_TENSOR_RANK } from './limits.ts'
export type {
  Capabilities,
  Dtype,
  ErrorMessage,
  Hello,
  HelloAck,
  Lease,
  LeaseRequest,
  MatmulArgs,
  NoWork,
  ResultAck,
  TaskResult,
  TensorSlot,
  WorkRequest,
  WorkResponse,
} from './messages.ts'
export {
  CapabilitiesSchema,
  DtypeSchema,
  LeaseSchema,
  TaskResultSchema,
  TensorSlotSchema,
  WorkRequestSchema,
  WorkResponseSchema,
} from './messages.ts'
export type { ProtocolErrorCode } from './protocol-error.ts'
export { ProtocolError } from './protocol-error.ts'
export { BLOB_PROTOCOL, DISCOVERY_TOPIC, WORK_PROTOCOL } from './protocol-ids.ts'
export { sha256Hex } from './sha256.ts'
