import type { HttpCase } from './http-fuzz-cases.ts'

/** What one HTTP case got back; `problem` is set when the answer breaks the API's promises. */
export interface HttpAnswer {
  status: number
  problem?: string
}

/**
 * Sends one case and checks the answer: never a 5xx, and every 4xx a JSON body
 * `{ error: { code, message } }`. Streams (events) are cut after their headers.
 */
export async function sendHttpCase(
  base: string,
  c: HttpCase,
  timeoutMs: number,
): Promise<HttpAnswer> {
  let response: Response
  try {
    response = await fetch(`${base}${c.path}`, {
      method: c.method,
      headers: c.headers,
      ...(c.body != null ? { body: c.body as BodyInit } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    // The client library refusing to build the request (a path it cannot encode) is not the relay's doing.
    if (
      (err instanceof TypeError && cause?.code == null && !/fetch failed/.test(err.message)) ||
      cause?.code === 'UND_ERR_INVALID_ARG'
    )
      return { status: 0 }
    return { status: 0, problem: `no answer: ${String(err)} ${cause?.code ?? ''}` }
  }
  try {
    if (response.status >= 500) {
      return {
        status: response.status,
        problem: `${response.status}: ${(await response.text()).slice(0, 300)}`,
      }
    }
    if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await response.body?.cancel()
      return { status: response.status }
    }
    const text = await response.text()
    // The API's error shape covers /v1; other paths are the page server's (still never a 5xx).
    const api = new URL(response.url || `${base}${c.path}`).pathname.startsWith('/v1/')
    if (response.status >= 400 && c.method !== 'HEAD' && api) {
      let body: { error?: { code?: unknown; message?: unknown } } | undefined
      try {
        body = JSON.parse(text)
      } catch {
        return {
          status: response.status,
          problem: `${response.status} without a JSON body: ${text.slice(0, 200)}`,
        }
      }
      if (
        typeof body?.error?.code !== 'string' ||
        typeof body.error.message !== 'string' ||
        body.error.message === ''
      )
        return {
          status: response.status,
          problem: `${response.status} without { error: { code, message } }: ${text.slice(0, 200)}`,
        }
    }
    return { status: response.status }
  } catch (err) {
    return { status: response.status, problem: `body failed: ${String(err)}` }
  }
}
