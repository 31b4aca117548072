import { corruptingDecoderStages, type DecoderStageFactory } from '@tabswarm/sdk/contributor'

/**
 * The URL parameter that makes this tab a saboteur, FOR TESTS ONLY and only together with
 * the test hooks (`?tabswarm-test`): `?tabswarm-test&saboteur=activations` corrupts one
 * value of every decoder stage's activations (`corruptingDecoderStages`), so an end-to-end
 * test can show the relay catches the stage, pays it nothing and recomputes it.
 */
export const SABOTEUR_PARAM = 'saboteur'

/**
 * The stage factory this tab runs: `factory`, or its corrupting wrapper when the page's
 * query asks for the saboteur with the test hooks on. Any other saboteur value is refused,
 * so a typo in a test fails loudly instead of running an honest tab.
 */
export function stagesForPage(
  factory: DecoderStageFactory | undefined,
  query: URLSearchParams,
  testHooksParam: string,
): DecoderStageFactory | undefined {
  const saboteur = query.get(SABOTEUR_PARAM)
  if (saboteur == null || !query.has(testHooksParam)) return factory
  if (saboteur !== 'activations')
    throw new Error(`unknown saboteur "${saboteur}": the only one is "activations"`)
  return factory != null ? corruptingDecoderStages(factory) : undefined
}
