/**
 * The URL parameter that makes this tab a saboteur, FOR TESTS ONLY and only together with
 * the test hooks (`?tabswarm-test`): `?tabswarm-test&saboteur=activations` corrupts one
 * value of every decoder stage's activations (`corruptingDecoderStages`), so an end-to-end
 * test can show the relay catches the stage, pays it nothing and recomputes it.
 */
export const SABOTEUR_PARAM = 'saboteur'

/** What a saboteur tab corrupts. */
export type Saboteur = 'activations'

/**
 * The saboteur this page asks for: none unless the test hooks are on too. Any other value
 * is refused, so a typo in a test fails loudly instead of running an honest tab.
 */
export function saboteurForPage(
  query: URLSearchParams,
  testHooksParam: string,
): Saboteur | undefined {
  const saboteur = query.get(SABOTEUR_PARAM)
  if (saboteur == null || !query.has(testHooksParam)) return undefined
  if (saboteur !== 'activations')
    throw new Error(`unknown saboteur "${saboteur}": the only one is "activations"`)
  return saboteur
}
