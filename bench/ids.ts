/**
 * Id sets for the benchmarks, built the way a reader would hand them over:
 * flat strings split out of a larger text (not ropes from concatenation).
 */
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import { createReadStream, createWriteStream } from "node:fs"
import { once } from "node:events"

/** `prod_0000000001`, `prod_0000000002`, … */
export const asciiId = (i: number): string => `prod_${String(i + 1).padStart(10, "0")}`

const multilingualStems = [
  "produkt-größe",
  "товар",
  "商品",
  "製品-🎁",
  "ürün",
  "מוצר",
  "सामान",
  "sku\"quoted\\",
  "café-crème",
  "상품"
]

/** A mix of scripts, emoji, and characters JSON escapes. */
export const multilingualId = (i: number): string =>
  `${multilingualStems[i % multilingualStems.length]}_${String(i + 1).padStart(8, "0")}`

/** `n` ids as flat strings, the way splitting a file's text gives them. */
export const makeIds = (n: number, id: (i: number) => string = asciiId): Array<string> => {
  const parts: Array<string> = []
  const out: Array<string> = []
  const block = 100_000
  for (let from = 0; from < n; from += block) {
    parts.length = 0
    for (let i = from; i < Math.min(n, from + block); i++) parts.push(id(i))
    for (const s of parts.join("\n").split("\n")) out.push(s)
  }
  return out
}

/** The array as stream chunks of 64 Ki ids, as a line reader would emit them. */
export const chunked = (ids: ReadonlyArray<string>, size = 65_536): Stream.Stream<string> =>
  Stream.fromChunks(
    ...Array.from({ length: Math.ceil(ids.length / size) }, (_, k) =>
      Chunk.unsafeFromArray(ids.slice(k * size, (k + 1) * size)))
  )

/** Writes `n` ASCII ids, one a line. */
export const writeIdsFile = async (path: string, n: number): Promise<void> => {
  const out = createWriteStream(path)
  const block = 100_000
  for (let from = 0; from < n; from += block) {
    const lines: Array<string> = []
    for (let i = from; i < Math.min(n, from + block); i++) lines.push(asciiId(i))
    if (!out.write(lines.join("\n") + "\n")) await once(out, "drain")
  }
  out.end()
  await once(out, "finish")
}

/** The lines of a file as a stream, read 1 MiB at a time and split with plain code. */
export const linesOf = (path: string): Stream.Stream<string, Error> => {
  let carry = ""
  return Stream.fromAsyncIterable(
    createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 }) as AsyncIterable<string>,
    (e) => e instanceof Error ? e : new Error(String(e))
  ).pipe(
    Stream.mapConcatChunk((text) => {
      const lines = (carry + text).split("\n")
      carry = lines.pop() ?? ""
      return Chunk.unsafeFromArray(lines)
    }),
    Stream.concat(Stream.suspend(() => carry === "" ? Stream.empty : Stream.make(carry)))
  )
}
