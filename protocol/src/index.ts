/**
 * `@tabswarm/protocol`: the shared contract, browser-safe and a leaf (it imports nothing
 * from Node and nothing else of ours). Tabs, headless workers, the SDK and the relay all
 * speak through this package: the error base and the error codes, the dtypes, the job
 * spec, the HTTP API's views, the wire messages and their framing, and the `.npy` codec.
 */

export type { ApiRequestToSign } from './api-auth.ts'
export {
  API_AUTH_DOMAIN,
  API_AUTH_TYPES,
  apiRequestTypedData,
  EMPTY_BODY_SHA256,
  WALLET_AUTH_HEADERS,
  WALLET_AUTH_MAX_SKEW_MS,
  walletRequestHeaders,
} from './api-auth.ts'
export { RELAY_HEARTBEAT_MS, RELAY_MAX_JSON_BYTES } from './api-limits.ts'
export type {
  AccountCredits,
  AccountView,
  ApiErrorBody,
  JobList,
  JobQuote,
  JobStatus,
  JobView,
  JobWaiting,
  ResultsPage,
  TaskResultRecord,
  VerificationMethod,
  WaitingReason,
} from './api-views.ts'
export {
  AccountViewSchema,
  ApiErrorBodySchema,
  accountCredits,
  accountView,
  CreditsSchema,
  JobIdSchema,
  JobListSchema,
  JobQuoteSchema,
  JobStatusSchema,
  JobViewSchema,
  JobWaitingSchema,
  ResultsPageSchema,
  TaskResultRecordSchema,
  VerificationMethodSchema,
  WaitingReasonSchema,
} from './api-views.ts'
export type {
  BlobReader,
  BlobSource,
  RequestBlobOptions,
  ServeBlobOptions,
} from './blob-exchange.ts'
export {
  bytesReader,
  memoryBlobSource,
  refuseBlobRequest,
  requestBlob,
  serveBlobRequest,
} from './blob-exchange.ts'
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
export type { BufferTensor } from './buffer-slots.ts'
export { packBuffers, readBuffer } from './buffer-slots.ts'
export type { ByteBudget, ByteBudgetOptions } from './byte-budget.ts'
export { createByteBudget } from './byte-budget.ts'
export type { DiscoveryAnnouncement, DiscoveryValidatorOptions } from './discovery-validator.ts'
export {
  createDiscoveryValidator,
  decodeAnnouncement,
  encodeAnnouncement,
} from './discovery-validator.ts'
export { distributorAbi } from './distributor-abi.ts'
export type { TensorData, TensorDataConstructor, TensorDtype } from './dtypes.ts'
export {
  alignedViewAs,
  BYTES_PER_ELEMENT,
  elementCount,
  isTensorDtype,
  TENSOR_DTYPES,
  TensorDtypeSchema,
  tensorByteLength,
  typedArrayClassOf,
  viewAs,
} from './dtypes.ts'
export type {
  ApiErrorCode,
  BlobFetchErrorCode,
  BlobStoreErrorCode,
  CoordinatorErrorCode,
  KernelErrorCode,
  ModelFormatErrorCode,
  NpyErrorCode,
  ProtocolErrorCode,
  RelayRefusalCode,
} from './error-codes.ts'
export {
  API_ERROR_STATUS,
  BLOB_FETCH_ERROR_CODES,
  BLOB_STORE_ERROR_CODES,
  COORDINATOR_ERROR_CODES,
  KERNEL_ERROR_CODES,
  MODEL_FORMAT_ERROR_CODES,
  NPY_ERROR_CODES,
  PROTOCOL_ERROR_CODES,
} from './error-codes.ts'
export type { ServeWorkOptions, WorkReply, WorkRequestHandler } from './exchange.ts'
export { sendWorkRequest, serveWorkRequest } from './exchange.ts'
export type { Frame } from './frame.ts'
export {
  decodeFrame,
  encodedFrameLength,
  encodeFrame,
} from './frame.ts'
export type {
  PayloadAdmission,
  ReadFrame,
  ReadFrameOptions,
  StreamReader,
  StreamReaderOptions,
} from './frame-reader.ts'
export {
  createStreamReader,
  encodeLengthPrefix,
  lengthError,
  readFrame,
  writeFrame,
} from './frame-reader.ts'
export type { IceServer } from './ice-server.ts'
export { IceServerSchema, IceServersSchema } from './ice-server.ts'
export {
  DEFAULT_BATCH_PROMPTS,
  DEFAULT_TOP_LOGITS,
  MAX_BATCH_PROMPTS,
  MAX_MODEL_FILES,
  MAX_NEW_TOKENS,
  MAX_PROMPT_TOKENS,
  MAX_PROMPTS,
  MAX_STAGE_TENSORS,
  MAX_STAGES,
  MAX_STOP_TOKENS,
  MAX_TOP_LOGITS,
} from './inference/inference-limits.ts'
export type {
  FinishReason,
  GeneratedSequence,
  InferenceOutput,
  TokensEvent,
} from './inference/inference-output.ts'
export {
  FinishReasonSchema,
  GeneratedSequenceSchema,
  InferenceOutputSchema,
  TokensEventSchema,
} from './inference/inference-output.ts'
export { resultSigningBytes } from './inference/result-signature.ts'
export type { SamplingSpec } from './inference/sampling-spec.ts'
export { SamplingSpecSchema } from './inference/sampling-spec.ts'
export type {
  JobDetail,
  JobSample,
  TaskStates,
  VerificationOutcomes,
} from './job-detail.ts'
export {
  JobDetailSchema,
  JobSampleSchema,
  MAX_JOB_HISTORY_SAMPLES,
  TaskStatesSchema,
  VerificationOutcomesSchema,
} from './job-detail.ts'
export type {
  CustomJobSpec,
  CustomProgram,
  CustomTask,
  InferenceJobSpec,
  JobSpec,
  MatmulJobSpec,
  ModelRef,
  OutputSpec,
  TensorRef,
  VerificationPolicy,
} from './job-spec.ts'
export {
  batchPromptsOf,
  CustomJobSpecSchema,
  CustomProgramSchema,
  CustomTaskSchema,
  InferenceJobSpecSchema,
  JobSpecSchema,
  jobBudget,
  MAX_BUDGET,
  MAX_JOB_OUTPUT_ELEMENTS,
  MAX_JOB_TASKS,
  MAX_MATMUL_OUTPUT_ELEMENTS,
  MAX_PARAMS_BYTES,
  MAX_PRIORITY,
  MAX_PROGRAM_BINDINGS,
  MAX_TASK_OUTPUT_BYTES,
  MAX_TENSOR_ELEMENTS,
  MAX_WGSL_CHARS,
  MAX_WORKGROUPS_PER_DIM,
  MatmulJobSpecSchema,
  ModelRefSchema,
  OutputSpecSchema,
  TensorRefSchema,
  VerificationPolicySchema,
} from './job-spec.ts'
export {
  MAX_HEADER_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_TENSOR_DIM,
  MAX_TENSOR_RANK,
  MAX_TEXT,
} from './limits.ts'
export type {
  Benchmark,
  BufferSlot,
  Capabilities,
  DecoderGenerateProgram,
  DecoderStageProgram,
  ErrorMessage,
  Hello,
  HelloAck,
  InputRef,
  Lease,
  LeaseJob,
  LeaseRenew,
  LeaseRenewed,
  LeaseRequest,
  NoWork,
  ResultAck,
  TaskError,
  TaskProgram,
  TaskResult,
  Verdict,
  WalletProof,
  WorkRequest,
  WorkResponse,
} from './messages.ts'
export {
  BenchmarkSchema,
  BufferSlotSchema,
  CapabilitiesSchema,
  InputRefSchema,
  LeaseJobSchema,
  LeaseRenewedSchema,
  LeaseRenewSchema,
  LeaseRequestSchema,
  LeaseSchema,
  MAX_HELD_BLOBS,
  MAX_INPUT_PROVIDERS,
  MAX_LEASE_INPUTS,
  MAX_VERDICTS_PER_MESSAGE,
  TaskErrorSchema,
  TaskProgramSchema,
  TaskResultSchema,
  VerdictSchema,
  WalletProofSchema,
  WorkRequestSchema,
  WorkResponseSchema,
} from './messages.ts'
export type { DecoderConfig, DecoderFamily } from './model/decoder-config.ts'
export {
  checkConfig,
  DECODER_LIMITS,
  DecoderConfigSchema,
  parseHfConfig,
} from './model/decoder-config.ts'
export type { DecoderTensorRole, DecoderTensorSpec } from './model/decoder-tensors.ts'
export {
  canonicalTensorName,
  checkDecoderTensors,
  decoderTensorNames,
} from './model/decoder-tensors.ts'
export { ModelFormatError } from './model/model-format-error.ts'
export type {
  SafetensorsData,
  SafetensorsDtype,
  SafetensorsHeader,
  SafetensorsTensor,
} from './model/safetensors.ts'
export {
  decodeSafetensorsTensor,
  parseSafetensorsHeader,
  readSafetensorsTensor,
  SAFETENSORS_LIMITS,
  SAFETENSORS_PREFIX_BYTES,
  SAFETENSORS_READ_DTYPE,
  safetensorsHeaderLength,
} from './model/safetensors.ts'
export type { LocatedTensor, SafetensorsIndex } from './model/safetensors-index.ts'
export {
  locateSafetensors,
  MAX_SAFETENSORS_FILES,
  parseSafetensorsIndex,
  SAFETENSORS_INDEX_FILE,
} from './model/safetensors-index.ts'
export type { SafetensorsEntry } from './model/safetensors-writer.ts'
export { encodeSafetensors } from './model/safetensors-writer.ts'
export type { ComputeHour, NetworkStats } from './network-stats.ts'
export { ComputeHourSchema, NetworkStatsSchema, STATS_HOURS } from './network-stats.ts'
export type { NdArray, NpyHeader } from './npy/npy.ts'
export {
  checkNpyDataSize,
  encodeNpy,
  NPY_PREFIX_BYTES,
  npyHeaderBytes,
  parseNpy,
  parseNpyHeader,
} from './npy/npy.ts'
export { NpyError } from './npy/npy-error.ts'
export type { Float64NpyHeader } from './npy/npy-float64.ts'
export { castFloat64Npy, parseFloat64NpyHeader } from './npy/npy-float64.ts'
export type { SourceSlot } from './program-source.ts'
export { appendProgramSource, MAX_WGSL_BYTES, readProgramSource } from './program-source.ts'
export { ProtocolError } from './protocol-error.ts'
export { BLOB_PROTOCOL, DISCOVERY_TOPIC, WORK_PROTOCOL } from './protocol-ids.ts'
export type { RelayCandidate, RelayEntry } from './relay-directory.ts'
export {
  MAX_DIRECTORY_RELAYS,
  MAX_RELAY_MULTIADDRS,
  RelayEntrySchema,
  relayCandidatesOf,
} from './relay-directory.ts'
export type { RelayRefusalOptions } from './relay-refusal-error.ts'
export { RelayRefusalError } from './relay-refusal-error.ts'
export type {
  ClaimProof,
  EpochState,
  EpochSummary,
  EpochView,
  SettlementInfo,
  WalletCredits,
} from './settlement-views.ts'
export {
  AddressSchema,
  BaseUnitsSchema,
  Bytes32Schema,
  ClaimProofSchema,
  EpochStateSchema,
  EpochSummarySchema,
  EpochViewSchema,
  SettlementInfoSchema,
  WalletCreditsSchema,
} from './settlement-views.ts'
export { sha256Hex } from './sha256.ts'
export type {
  ErrorDetailsOptions,
  SerializedError,
  TabswarmErrorOptions,
} from './tabswarm-error.ts'
export { TabswarmError } from './tabswarm-error.ts'
export type { TokenBucketLimiter, TokenBucketOptions } from './token-bucket.ts'
export { createTokenBucketLimiter } from './token-bucket.ts'
export type { WalletBinding } from './wallet-proof.ts'
export {
  NO_SITE,
  WALLET_BINDING_MAX_LIFETIME_S,
  WALLET_PROOF_DOMAIN,
  WALLET_PROOF_TYPES,
  walletProofTypedData,
} from './wallet-proof.ts'
export type { OpenSessionBody, WalletSessionView } from './wallet-session.ts'
export {
  DEFAULT_SESSION_TTL_MS,
  MAX_SESSION_TTL_MS,
  MIN_SESSION_TTL_MS,
  OpenSessionBodySchema,
  SESSION_TOKEN_PREFIX,
  WalletSessionViewSchema,
} from './wallet-session.ts'
