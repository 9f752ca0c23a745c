/**
 * The CLI's HTTP transport, loaded when a command first calls Voucherify:
 * Node's own `http` client. Against undici it starts sooner and holds less
 * (no WebAssembly parser): 10 M ids through the `bin` took about a tenth
 * less time and 19 MB less memory (BENCHMARKS.md, benchmark 6). A module of
 * its own, so that the bundle leaves undici out.
 */
export { layer } from "@effect/platform-node/NodeHttpClient"
