/** The relay the CLI talks to when `--relay` is not given. */
export function defaultRelayUrl(env: Record<string, string | undefined> = process.env): string {
  return env.TABSWARM_RELAY ?? 'http://127.0.0.1:8787'
}
