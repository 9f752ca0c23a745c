#!/usr/bin/env node
/**
 * Entry point of the `effect-voucherify` command (`Program.ts`).
 */
import { main } from "./Program.js"

main(process.argv)
