/** Browser-safe contributor entry point, shared by tabs and the headless Node worker. */

// The abortable waits the loop uses, for the tab's swarm code to share rather than copy.
export { delay } from '../client/delay.ts'
export { untilAborted } from '../client/until-aborted.ts'

export { type BlobCache, type BlobCacheOptions, createBlobCache } from './blob-cache.ts'
export { type ContributorLimits, capabilitiesOf, DECODER_KERNELS } from './capabilities.ts'
export { checkInput } from './check-input.ts'
export type { ContributorEvent } from './contributor-events.ts'
export type {
  ContributorOptions,
  ContributorSummary,
  ContributorWallet,
  KernelExecutor,
} from './contributor-loop.ts'
export { runContributor } from './contributor-loop.ts'
export { corruptingDecoderStages } from './corrupting-decoder-stages.ts'
export {
  createDecoderExecutor,
  type DecoderExecutor,
  type DecoderExecutorOptions,
  type DecoderProgram,
  type DecoderStageFactory,
  type DecoderTaskContext,
  type DecoderTaskOutput,
  isDecoderProgram,
} from './decoder-executor.ts'
export { DecoderTaskError, type DecoderTaskErrorCode } from './decoder-task-error.ts'
export {
  type FailoverWorkChannelOptions,
  failoverWorkChannel,
} from './failover-work-channel.ts'
export { fallbackInputSource, type NamedInputSource } from './fallback-input-source.ts'
export {
  type FetchTaskInputsOptions,
  fetchTaskInputs,
  type InputsFetched,
} from './fetch-task-inputs.ts'
export { InputFetchError, type InputFetchErrorCode } from './input-fetch-error.ts'
export type {
  FetchedInput,
  InputFetchOptions,
  InputOrigin,
  InputSource,
} from './input-source.ts'
export { type LruInputSourceOptions, lruInputSource } from './lru-input-source.ts'
export { measureMatmulGflops, SPEED_PROBE_EDGE } from './measure-speed.ts'
export { type RelayInputSourceOptions, relayInputSource } from './relay-input-source.ts'
export {
  createRelayRoster,
  RELAY_MISSES_BEFORE_FAILOVER,
  type RelayMiss,
  type RelayRoster,
  type RelayRosterOptions,
} from './relay-roster.ts'
export type { StageCacheLimits } from './stage-cache.ts'
export { TaskStoppedError, type TaskStopReason } from './task-stopped-error.ts'
export {
  type BindingSigner,
  type BindWalletOptions,
  bindWallet,
  randomNonce,
} from './wallet-binding.ts'
export {
  type RelayTarget,
  relayAddressOf,
  type WorkChannel,
  workChannelOver,
} from './work-channel.ts'
