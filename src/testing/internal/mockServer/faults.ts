/**
 * Fault injection: the one schema of the rules (the library's type, the
 * check of `setFaults` and of both test doubles' options, and the
 * `--faults` JSON of `npm run mock-server`), and the picker that draws,
 * reproducibly from a seed, the fault of each request.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { Count, DurationInput, FiniteDurationInput, Probability } from "../schemas.js"

export const RateLimitType = Schema.Literal("api_calls", "bulk_api_calls", "api_calls_cycle")

export const Fault = Schema.Union(
  Schema.TaggedStruct("ServerError", {
    status: Schema.optional(Schema.Literal(500, 502, 503, 504)),
    body: Schema.optional(Schema.Literal("json", "gateway", "html", "empty"))
  }),
  Schema.TaggedStruct("RateLimited", {
    retryAfter: Schema.optional(FiniteDurationInput),
    limitType: Schema.optional(RateLimitType)
  }),
  Schema.TaggedStruct("ResetBeforeBody", {}),
  Schema.TaggedStruct("ResetAfterProcessing", {}),
  Schema.TaggedStruct("Delay", { duration: DurationInput }),
  Schema.TaggedStruct("MalformedJson", {}),
  Schema.TaggedStruct("Redirect", {
    status: Schema.optional(Schema.Literal(301, 302, 307, 308)),
    location: Schema.optional(Schema.String)
  }),
  Schema.TaggedStruct("ActionFailed", {})
)

/** A pattern a path is tested against; JSON can only give exact paths. */
const RegExpFromSelf = Schema.declare((input: unknown): input is RegExp => input instanceof RegExp, {
  identifier: "RegExp"
})

export const FaultRule = Schema.Struct({
  fault: Fault,
  rate: Schema.optional(Probability),
  first: Schema.optional(Count),
  path: Schema.optional(Schema.Union(Schema.String, RegExpFromSelf)),
  method: Schema.optional(Schema.String)
})

export const Faults = Schema.Struct({
  seed: Schema.optional(Schema.Finite),
  rules: Schema.Array(FaultRule)
})

export type Fault = typeof Fault.Type
export type FaultRule = typeof FaultRule.Type
export type Faults = typeof Faults.Type

const matches = (rule: FaultRule, method: string, path: string) =>
  (rule.method === undefined || rule.method.toUpperCase() === method) &&
  (rule.path === undefined || (typeof rule.path === "string" ? rule.path === path : rule.path.test(path)))

export interface FaultPicker {
  /** The fault for the next request, in arrival order. */
  readonly pick: (method: string, path: string) => Effect.Effect<Fault | undefined>
  /** Restarts the generator from the seed. */
  readonly reset: () => void
  /** Takes new rules (already decoded) and restarts from their seed. */
  readonly replace: (faults: Faults | undefined) => void
}

export const makeFaultPicker = (initial: Faults | undefined): FaultPicker => {
  let faults = initial
  let random = Random.make(faults?.seed ?? 1)
  let matched: Array<number> = []
  const reset = () => {
    random = Random.make(faults?.seed ?? 1)
    matched = (faults?.rules ?? []).map(() => 0)
  }
  reset()
  return {
    pick: (method, path) =>
      Effect.gen(function*() {
        const rules = faults?.rules ?? []
        for (let i = 0; i < rules.length; i++) {
          const rule = rules[i]!
          if (!matches(rule, method, path)) continue
          matched[i]!++
          if (rule.first !== undefined && matched[i]! > rule.first) continue
          if ((yield* random.next) < (rule.rate ?? 1)) return rule.fault
        }
        return undefined
      }),
    reset,
    replace: (next) => {
      faults = next
      reset()
    }
  }
}
