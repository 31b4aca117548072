import type { Context, Next } from 'hono'
import type { z } from 'zod'
import type { ApiEnv } from './api-env.ts'

/** A route's handler or middleware, typed with the API's context. */
export type RouteHandler = (
  c: Context<ApiEnv>,
  next: Next,
  // biome-ignore lint/suspicious/noConfusingVoidType: Hono handlers may return nothing after next()
) => Response | void | Promise<Response | void>

/** Registers a route with its description, so neither exists without the other (see `createApi`). */
export type RegisterRoute = (doc: RouteDoc, ...handlers: RouteHandler[]) => void

/** What `/v1/openapi.json` says about one route; the API registers one per route it serves. */
export interface RouteDoc {
  method: 'get' | 'put' | 'post' | 'delete'
  /** Hono pattern, e.g. `/v1/jobs/:id`. */
  path: string
  summary: string
  description?: string
  /** Needs credentials (API key or wallet signature) unless the relay is open to local callers. */
  auth: boolean
  params?: z.ZodObject
  query?: z.ZodObject
  body?: { contentType: string; schema?: z.ZodType; description?: string; maxBytes: number }
  responses: Record<
    number,
    {
      description: string
      contentType?: string
      schema?: z.ZodType
      headers?: Record<string, string>
    }
  >
}
