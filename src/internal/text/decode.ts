/**
 * The one adapter from a plain decoder to a `Stream`, for every input: id
 * lines, NDJSON and CSV records and ids, records given as values.
 *
 * The failure convention of the package: a decoder never throws. It
 * returns the error that ends its input, and the adapter emits what the
 * decoder gave before it, then fails with it, so that a report counts every
 * item before the bad one. One Effect step per input chunk, none per item.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"

/** Reads one input, in plain code; made fresh each time the stream runs. */
export interface Decoder<In, A, E> {
  /** Appends to `out` what `piece` completes; returns the error that ends the input there, or undefined. */
  readonly push: (piece: In, out: Array<A>) => E | undefined
  /** The input ended: appends what a last, unterminated piece held, or returns why the input is refused. */
  readonly end: (out: Array<A>) => E | undefined
}

/** What a fresh decoder makes of `input`: one output chunk per input chunk. */
export const decode = <In, A, E, E1, R>(
  input: Stream.Stream<In, E1, R>,
  makeDecoder: () => Decoder<In, A, E>
): Stream.Stream<A, E | E1, R> =>
  Stream.suspend(() => {
    const decoder = makeDecoder()
    type Read = Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<In>, E | E1, E1, unknown, unknown>
    const emit = (out: Array<A>, failure: E | undefined, next: Read): Read => {
      const then = failure === undefined ? next : Channel.fail(failure)
      return out.length === 0 ? then : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), then)
    }
    const read: Read = Channel.readWithCause({
      onInput: (pieces: Chunk.Chunk<In>) => {
        const out: Array<A> = []
        let failure: E | undefined
        for (const piece of pieces) {
          failure = decoder.push(piece, out)
          if (failure !== undefined) break
        }
        return emit(out, failure, read)
      },
      onFailure: Channel.failCause,
      onDone: () => {
        const out: Array<A> = []
        return emit(out, decoder.end(out), Channel.void)
      }
    })
    return Stream.pipeThroughChannelOrFail(input, read)
  })
