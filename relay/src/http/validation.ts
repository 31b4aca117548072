import type { ApiErrorCode } from '@tabswarm/protocol'
import type { z } from 'zod'
import { ApiError } from './error-response.ts'

/** `inputs.a.shape.1: Too big: expected number to be <=16777216`: the path names the field. */
export function describeIssue(where: string, error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue == null) return `${where}: invalid`
  const path = issue.path.map(String).join('.')
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : ''
  return `${path === '' ? where : `${where}.${path}`}: ${issue.message}${more}`
}

/** Parses `value` or throws a 4xx `ApiError` whose message names the offending field. */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: string,
  code: ApiErrorCode = 'BAD_REQUEST',
): z.infer<T> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new ApiError(code, describeIssue(where, parsed.error))
  return parsed.data
}

/** Reads a JSON body; a missing or malformed one is a 400 that says so. */
export async function readJsonBody(request: {
  header(name: string): string | undefined
  text(): Promise<string>
}): Promise<unknown> {
  const type = request.header('content-type') ?? ''
  if (!/^application\/json\b/i.test(type))
    throw new ApiError(
      'UNSUPPORTED_MEDIA_TYPE',
      `expected content-type application/json, got "${type || 'none'}"`,
    )
  const text = await request.text()
  if (text.trim() === '')
    throw new ApiError('INVALID_BODY', 'body: expected a JSON object, got an empty body')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ApiError('INVALID_BODY', `body: not valid JSON (${(err as Error).message})`)
  }
}
