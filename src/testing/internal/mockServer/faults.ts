/**
 * Picks the fault, if any, for each request, reproducibly from a seed.
 *
 * @internal
 */
import type { Fault, FaultRule, Faults } from "../../MockVoucherifyServer.js"
import { mulberry32 } from "./prng.js"

const matches = (rule: FaultRule, method: string, path: string) =>
  (rule.method === undefined || rule.method.toUpperCase() === method) &&
  (rule.path === undefined || (typeof rule.path === "string" ? rule.path === path : rule.path.test(path)))

export interface FaultPicker {
  /** The fault for the next request, in arrival order. */
  readonly pick: (method: string, path: string) => Fault | undefined
  /** Restarts the generator from the seed. */
  readonly reset: () => void
  /** Takes new rules and restarts from their seed. */
  readonly replace: (faults: Faults | undefined) => void
}

export const makeFaultPicker = (initial: Faults | undefined): FaultPicker => {
  let faults = initial
  let random = mulberry32(faults?.seed ?? 1)
  let matched: Array<number> = []
  const reset = () => {
    random = mulberry32(faults?.seed ?? 1)
    matched = (faults?.rules ?? []).map(() => 0)
  }
  reset()
  return {
    pick: (method, path) => {
      const rules = faults?.rules ?? []
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i]!
        if (!matches(rule, method, path)) continue
        matched[i]!++
        if (rule.first !== undefined && matched[i]! > rule.first) continue
        if (random() < (rule.rate ?? 1)) return rule.fault
      }
      return undefined
    },
    reset,
    replace: (next) => {
      faults = next
      reset()
    }
  }
}
