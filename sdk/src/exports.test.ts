import { describe, expect, it } from 'vitest'

/**
 * The names each public entry point of `@tabswarm/sdk` exports (its package.json `exports`).
 * A name added or removed is a change of the package's contract: update the snapshot on
 * purpose, and the packages that import it.
 */
describe('@tabswarm/sdk entry points', () => {
  it('exports the same names from @tabswarm/sdk', async () => {
    expect(Object.keys(await import('@tabswarm/sdk')).sort()).toMatchInlineSnapshot(`
      [
        "ApiRequestError",
        "BlobIntegrityError",
        "ClaimRevertedError",
        "ClaimTimeoutError",
        "InvalidInputError",
        "JobAbortedError",
        "JobFailedError",
        "ModelDirectoryError",
        "NothingToClaimError",
        "NpyError",
        "RelayResponseError",
        "RelayUnreachableError",
        "WrongChainError",
        "claimOnChain",
        "claimThroughRelay",
        "confirmClaim",
        "createClient",
        "createIncrementalDetokenizer",
        "encodeNpy",
        "formatAmount",
        "npyHeaderBytes",
        "parseModelRef",
        "parseNpy",
        "parseNpyHeader",
        "settlementChain",
        "tokenizerFromJson",
        "waitForClaimed",
        "walletAuth",
        "walletSession",
      ]
    `)
  })
  it('exports the same names from @tabswarm/sdk/cli', async () => {
    expect(Object.keys(await import('@tabswarm/sdk/cli')).sort()).toMatchInlineSnapshot(`
      [
        "main",
      ]
    `)
  })
  it('exports the same names from @tabswarm/sdk/node', async () => {
    expect(Object.keys(await import('@tabswarm/sdk/node')).sort()).toMatchInlineSnapshot(`
      [
        "ModelDirectoryError",
        "createClient",
        "readModelDirectory",
        "uploadModelDirectory",
      ]
    `)
  })
  it('exports the same names from @tabswarm/sdk/contributor', async () => {
    expect(Object.keys(await import('@tabswarm/sdk/contributor')).sort()).toMatchInlineSnapshot(`
      [
        "DECODER_KERNELS",
        "DecoderTaskError",
        "InputFetchError",
        "RELAY_MISSES_BEFORE_FAILOVER",
        "SPEED_PROBE_EDGE",
        "TaskStoppedError",
        "bindWallet",
        "capabilitiesOf",
        "checkInput",
        "corruptingDecoderStages",
        "createBlobCache",
        "createDecoderExecutor",
        "createRelayRoster",
        "delay",
        "failoverWorkChannel",
        "fallbackInputSource",
        "fetchTaskInputs",
        "isDecoderProgram",
        "lruInputSource",
        "measureMatmulGflops",
        "randomNonce",
        "relayAddressOf",
        "relayInputSource",
        "runContributor",
        "untilAborted",
        "workChannelOver",
      ]
    `)
  })
  it('exports the same names from @tabswarm/sdk/worker', async () => {
    expect(Object.keys(await import('@tabswarm/sdk/worker')).sort()).toMatchInlineSnapshot(`
      [
        "defaultWalletKeyPath",
        "loadWorkerPeerKey",
        "loadWorkerWallet",
        "peerKeyPathFor",
        "resolveRelay",
        "resolveRelays",
        "runHeadlessWorker",
      ]
    `)
  })
})
