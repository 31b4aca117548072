import { describe, expect, it } from 'vitest'

/**
 * The names each public entry point of `@tabswarm/relay` exports (its package.json `exports`).
 * A name added or removed is a change of the package's contract: update the snapshot on
 * purpose, and the packages that import it.
 */
describe('@tabswarm/relay entry points', () => {
  it('exports the same names from @tabswarm/relay', async () => {
    expect(Object.keys(await import('@tabswarm/relay')).sort()).toMatchInlineSnapshot(`
      [
        "API_AUTH_DOMAIN",
        "API_AUTH_TYPES",
        "AccountNameSchema",
        "CoordinatorError",
        "EMPTY_BODY_SHA256",
        "OPEN_RELAY_WELCOME_CREDITS",
        "PortInUseError",
        "SITE_SHARE_BPS_RANGE",
        "SettlementError",
        "UPLOAD_SETTING_RANGES",
        "WALLET_AUTH_HEADERS",
        "WALLET_AUTH_MAX_SKEW_MS",
        "WORK_SETTING_RANGES",
        "addApiKey",
        "apiConfigFromEnv",
        "apiRequestTypedData",
        "buildEpochTree",
        "checkConfig",
        "configFromEnv",
        "cpuReferenceVerifier",
        "createClusterApi",
        "createCoordinator",
        "createDiskBlobStore",
        "createEpochCloser",
        "createJobParts",
        "createJsonLogger",
        "createLedger",
        "createMemoryBlobStore",
        "createProviderIndex",
        "createSettlementService",
        "createSqliteStore",
        "createTieredBlobStore",
        "defaultApiConfig",
        "defaultConfig",
        "float32Output",
        "grantInputs",
        "integerSetting",
        "loadEpochTree",
        "matmulOperands",
        "openClusterStore",
        "parseMultiaddrList",
        "parseOnOff",
        "parsePort",
        "parsePositiveInt",
        "settlementConfigFromEnv",
        "sharedInputsIn",
        "silentLogger",
        "startClusterNode",
        "startPostgresServer",
        "startSettlementRuntime",
        "startTabswarm",
        "walletRequestHeaders",
        "welcomeCreditsFor",
      ]
    `)
  })
})
