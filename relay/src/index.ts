export type { BlobStore } from './blobs/blob-store.ts'
export { createMemoryBlobStore } from './blobs/blob-store.ts'
export type { TabswarmConfig } from './config.ts'
export { configFromEnv, defaultConfig, parsePort, parsePositiveInt } from './config.ts'
export type { Clock } from './coordinator/clock.ts'
export type { Coordinator, CoordinatorOptions, MatmulJobSpec } from './coordinator/coordinator.ts'
export { createCoordinator } from './coordinator/coordinator.ts'
export type {
  AccountView,
  CoordinatorApi,
  JobEvent,
  JobList,
  JobQuote,
  JobStatus,
  JobView,
  ResultsPage,
  TaskResultRecord,
  VerificationMethod,
} from './coordinator/coordinator-api.ts'
export { CoordinatorError } from './coordinator/coordinator-error.ts'
export type { LeaseGrant, ResultOutcome } from './coordinator/job-types.ts'
export type { TileVerifier } from './coordinator/tile-verifier.ts'
export { cpuReferenceVerifier } from './coordinator/tile-verifier.ts'
export type { Logger } from './log.ts'
export { createJsonLogger, silentLogger } from './log.ts'
export type { RunningTabswarm } from './server.ts'
export { startTabswarm } from './server.ts'
