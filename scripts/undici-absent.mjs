// The CLI bundle's stand-in for undici: its HTTP transport is Node's own
// `http` client (src/cli/Transport.ts), and @effect/platform-node's undici
// layer, which nothing in the CLI uses, is the only importer. Failing loudly
// beats shipping 700 kB that every run would load and compile.
const absent = () => {
  throw new Error("undici is not bundled into the effect-voucherify CLI")
}
export class Agent {
  constructor() {
    absent()
  }
}
export const getGlobalDispatcher = absent
export default { Agent, getGlobalDispatcher }
