export type { ApiRequestToSign } from '@tabswarm/protocol'
export {
  API_AUTH_DOMAIN,
  API_AUTH_TYPES,
  apiRequestTypedData,
  EMPTY_BODY_SHA256,
  WALLET_AUTH_HEADERS,
  WALLET_AUTH_MAX_SKEW_MS,
  walletRequestHeaders,
} from '@tabswarm/protocol'
export type { BlobStore } from './blobs/blob-store.ts'
export { createMemoryBlobStore } from './blobs/blob-store.ts'
export type { DiskBlobStoreOptions } from './blobs/disk-blob-store.ts'
export { createDiskBlobStore } from './blobs/disk-blob-store.ts'
export type { TieredBlobStoreOptions } from './blobs/tiered-blob-store.ts'
export { createTieredBlobStore } from './blobs/tiered-blob-store.ts'
export type { ClusterApiOptions } from './cluster/cluster-api.ts'
export { createClusterApi } from './cluster/cluster-api.ts'
export type { ClusterNode, ClusterNodeOptions } from './cluster/cluster-node.ts'
export { startClusterNode } from './cluster/cluster-node.ts'
export type { ClusterStore, ClusterStoreOptions } from './cluster/cluster-store.ts'
export { openClusterStore } from './cluster/cluster-store.ts'
export type { SharedInputs } from './cluster/shared-inputs.ts'
export { sharedInputsIn } from './cluster/shared-inputs.ts'
export type { TabswarmConfig } from './config.ts'
export {
  checkConfig,
  configFromEnv,
  defaultConfig,
  OPEN_RELAY_WELCOME_CREDITS,
  parseMultiaddrList,
  parseOnOff,
  parsePort,
  parsePositiveInt,
  SITE_SHARE_BPS_RANGE,
  WORK_SETTING_RANGES,
  welcomeCreditsFor,
} from './config.ts'
export type { Clock } from './coordinator/clock.ts'
export type {
  ProviderIndex,
  ProviderIndexOptions,
} from './coordinator/contributors/provider-index.ts'
export { createProviderIndex } from './coordinator/contributors/provider-index.ts'
export type {
  Coordinator,
  CoordinatorOptions,
  MatmulMatrices,
} from './coordinator/coordinator.ts'
export { createCoordinator } from './coordinator/coordinator.ts'
export type {
  ContributorHello,
  CoordinatorApi,
  CoordinatorStats,
  GrantProgram,
  JobEvent,
  LeaseGrant,
  MatmulArgs,
  ResultOutcome,
  ResultTensor,
  WorkGateway,
} from './coordinator/coordinator-api.ts'
export { CoordinatorError } from './coordinator/coordinator-error.ts'
export {
  float32Output,
  grantInputs,
  matmulOperands,
} from './coordinator/in-process-inputs.ts'
export type { JobParts } from './coordinator/jobs/job-parts.ts'
export { createJobParts } from './coordinator/jobs/job-parts.ts'
export type { TileVerifier } from './coordinator/verification/tile-verifier.ts'
export { cpuReferenceVerifier } from './coordinator/verification/tile-verifier.ts'
export type { ApiConfig } from './http/api-config.ts'
export {
  apiConfigFromEnv,
  defaultApiConfig,
  UPLOAD_SETTING_RANGES,
} from './http/api-config.ts'
export { AccountNameSchema, addApiKey } from './http/auth/api-keys.ts'
export type { RelayPeersSource } from './http/relay-peers.ts'
export type { IntegerRange } from './integer-setting.ts'
export { integerSetting } from './integer-setting.ts'
export type { Ledger } from './ledger/ledger.ts'
export { createLedger } from './ledger/ledger.ts'
export type { JsonLoggerOptions, Logger, LogLevel } from './log.ts'
export { createJsonLogger, silentLogger } from './log.ts'
export type { RelayListener } from './port-in-use-error.ts'
export { PortInUseError } from './port-in-use-error.ts'
export type { RunningTabswarm, StartTabswarmOptions } from './server.ts'
export { startTabswarm } from './server.ts'
export type {
  ActiveSettlementConfig,
  ChainConnection,
  ConnectChain,
} from './settlement/chain/connect-chain.ts'
export type {
  Address,
  DistributorState,
  Hex,
  SettlementChain,
  SignedTransaction,
  TransactionOutcome,
} from './settlement/chain/settlement-chain.ts'
export type { CloseOutcome, EpochCloser, EpochCloserOptions } from './settlement/epoch-closer.ts'
export { createEpochCloser } from './settlement/epoch-closer.ts'
export type { EpochStore, StoredEpoch } from './settlement/epoch-store.ts'
export type { EpochLeaf, EpochTree } from './settlement/epoch-tree.ts'
export { buildEpochTree, loadEpochTree } from './settlement/epoch-tree.ts'
export type { SettlementCommon, SettlementConfig } from './settlement/settlement-config.ts'
export { settlementConfigFromEnv } from './settlement/settlement-config.ts'
export type { SettlementErrorCode } from './settlement/settlement-error.ts'
export { SettlementError } from './settlement/settlement-error.ts'
export type {
  SettlementRuntime,
  SettlementRuntimeOptions,
} from './settlement/settlement-runtime.ts'
export { startSettlementRuntime } from './settlement/settlement-runtime.ts'
export type {
  CloseEpochResult,
  SettlementService,
  SettlementServiceOptions,
  SubmittedClaims,
} from './settlement/settlement-service.ts'
export { createSettlementService } from './settlement/settlement-service.ts'
export type { CoordinatorStore } from './store/coordinator-store.ts'
export type {
  PostgresServer,
  PostgresServerOptions,
} from './store/postgres/testing/postgres-server.ts'
export { startPostgresServer } from './store/postgres/testing/postgres-server.ts'
export type { SqliteStoreOptions } from './store/sqlite-store.ts'
export { createSqliteStore } from './store/sqlite-store.ts'
