/**
 * The Tabswarm researcher SDK: a client for the relay's HTTP API (Node and browsers) and
 * numpy `.npy` files. The CLI lives in `@tabswarm/sdk/cli`, the contributor loop in
 * `@tabswarm/sdk/contributor`, the headless worker in `@tabswarm/sdk/worker`.
 */

export type { NdArray, NpyHeader, TensorData, TensorDtype } from '@tabswarm/protocol'
export { encodeNpy, NpyError, npyHeaderBytes, parseNpy, parseNpyHeader } from '@tabswarm/protocol'
export type {
  AccountCredits,
  AccountView,
  CallOptions,
  ClientOptions,
  CustomProgram,
  GeneratedToken,
  GenerateOptions,
  Generation,
  JobDetail,
  JobHandle,
  JobQuote,
  JobResult,
  JobSpec,
  JobStreamOptions,
  JobView,
  JobWaiting,
  LoadedModel,
  MapOptions,
  MatmulOptions,
  ModelRef,
  ModelSource,
  NetworkStats,
  ResultsOptions,
  SamplingSpec,
  TabswarmClient,
  TensorLike,
  TensorRef,
  TextTokenizer,
  VerificationPolicy,
  WaitingReason,
  WaitOptions,
} from './client/client.ts'
export { createClient } from './client/client.ts'
export {
  ApiRequestError,
  BlobIntegrityError,
  InvalidInputError,
  JobAbortedError,
  JobFailedError,
  RelayResponseError,
  RelayUnreachableError,
} from './client/client-errors.ts'
export type { Authenticate, AuthenticateRequest } from './client/http-transport.ts'
export { type WalletAuthOptions, type WalletSigner, walletAuth } from './client/wallet-auth.ts'
export {
  type WalletSession,
  type WalletSessionOptions,
  walletSession,
} from './client/wallet-session.ts'
export {
  createIncrementalDetokenizer,
  type IncrementalDetokenizer,
} from './inference/incremental-detokenizer.ts'
export { parseModelRef } from './inference/loaded-model.ts'
export { ModelDirectoryError } from './inference/model-directory-error.ts'
export { tokenizerFromJson } from './inference/text-tokenizer.ts'
export {
  type ClaimOnChainOptions,
  type ClaimResult,
  type ClaimStage,
  type ConfirmClaimOptions,
  claimOnChain,
  confirmClaim,
} from './settlement/claim-on-chain.ts'
export {
  type ClaimThroughRelayOptions,
  claimThroughRelay,
} from './settlement/claim-through-relay.ts'
export { formatAmount } from './settlement/format-amount.ts'
export type {
  ClaimSubmission,
  EpochSummary,
  EpochView,
  Settlement,
  SettlementApi,
  SettlementCallOptions,
  WalletClaim,
  WalletCredits,
} from './settlement/settlement-api.ts'
export { settlementChain } from './settlement/settlement-chain.ts'
export {
  ClaimRevertedError,
  ClaimTimeoutError,
  NothingToClaimError,
  WrongChainError,
} from './settlement/settlement-errors.ts'
export { waitForClaimed } from './settlement/wait-for-claimed.ts'
