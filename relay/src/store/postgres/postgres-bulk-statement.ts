/**
 * One statement made of several writes: each part is a data-modifying CTE, so a group of
 * writes costs one round trip to the server instead of one each. node-postgres does not
 * pipeline, and a coordinator's journal batch is latency-bound: its throughput is its
 * batch size over the time the batch spends on the wire, so round trips are what count.
 *
 * Values are always bound parameters; `param` hands out their `$n` placeholders. All the
 * parts see the same snapshot and none sees another's changes (PostgreSQL's rule for
 * data-modifying CTEs): only gather writes that touch different rows, or that commute.
 */
export class BulkStatement {
  readonly values: unknown[] = []
  readonly #parts: string[] = []

  /** The placeholder of a new bound parameter holding `value`, cast to `type`. */
  param(value: unknown, type: string): string {
    this.values.push(value)
    return `$${this.values.length}::${type}`
  }

  /** Adds a data-modifying CTE, named `name` (so the final SELECT may read its RETURNING). */
  add(name: string, sql: string): void {
    if (!/^[a-z_][a-z0-9_]*$/.test(name))
      throw new RangeError(`CTE name ${name} is not an identifier`)
    this.#parts.push(`${name} AS (${sql})`)
  }

  get empty(): boolean {
    return this.#parts.length === 0
  }

  /** The statement: every part, then `select` (which may read the parts' RETURNING rows). */
  text(select: string): string {
    return `WITH ${this.#parts.join(',\n')}\n${select}`
  }
}
