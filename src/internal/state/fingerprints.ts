/**
 * The hashes of the record texts a sync state holds as confirmed for a
 * target, as a set of their first 64 bits, read once at the start of a run:
 * a record is looked up in memory, not with a query (a million records take
 * a million probes of a 16 MB table, about 50 ms, against seconds of SQL).
 *
 * A record's text holds its id, so the prefix alone names (id, content).
 * Two different texts share a 64-bit prefix with a chance of about n / 2^64
 * per changed record (5 in 10^14 for a state of a million): a changed record
 * taken for unchanged is that rare. Plain code, no Effect.
 *
 * @internal
 */

/** The digits of a hash that a fingerprint keeps. */
export const fingerprintDigits = 16

/** The 32-bit value of the 8 lower-case hex digits of `text` from `at` (no substring made). */
const hexWord = (text: string, at: number): number => {
  let value = 0
  for (let i = at; i < at + 8; i++) {
    const c = text.charCodeAt(i)
    value = value * 16 + (c <= 57 ? c - 48 : c - 87)
  }
  return value >>> 0
}

export class FingerprintSet {
  private high: Uint32Array
  private low: Uint32Array
  private used: Uint8Array
  private mask: number
  size = 0

  constructor(expected = 1024) {
    let capacity = 1024
    while (capacity < expected * 2) capacity *= 2
    this.high = new Uint32Array(capacity)
    this.low = new Uint32Array(capacity)
    this.used = new Uint8Array(capacity)
    this.mask = capacity - 1
  }

  /** Adds the fingerprints of a page: 16-digit hex prefixes one after another. */
  addPage(page: string): void {
    for (let at = 0; at + fingerprintDigits <= page.length; at += fingerprintDigits) {
      this.add(hexWord(page, at), hexWord(page, at + 8))
    }
  }

  /** Whether the hash (hex, at least 16 digits) has its fingerprint here. */
  hasHash(hex: string): boolean {
    if (this.size === 0) return false
    const high = hexWord(hex, 0)
    const low = hexWord(hex, 8)
    let slot = (low ^ Math.imul(high, 0x9e3779b1)) & this.mask
    while (this.used[slot] === 1) {
      if (this.high[slot] === high && this.low[slot] === low) return true
      slot = (slot + 1) & this.mask
    }
    return false
  }

  private add(high: number, low: number): void {
    if ((this.size + 1) * 2 > this.used.length) this.grow()
    let slot = (low ^ Math.imul(high, 0x9e3779b1)) & this.mask
    while (this.used[slot] === 1) {
      if (this.high[slot] === high && this.low[slot] === low) return
      slot = (slot + 1) & this.mask
    }
    this.used[slot] = 1
    this.high[slot] = high
    this.low[slot] = low
    this.size++
  }

  private grow(): void {
    const { high, low, used } = this
    const capacity = used.length * 2
    this.high = new Uint32Array(capacity)
    this.low = new Uint32Array(capacity)
    this.used = new Uint8Array(capacity)
    this.mask = capacity - 1
    this.size = 0
    for (let slot = 0; slot < used.length; slot++) if (used[slot] === 1) this.add(high[slot]!, low[slot]!)
  }
}
