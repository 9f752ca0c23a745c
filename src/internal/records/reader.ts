/**
 * The stream around a reader of records: pieces of input in (bytes, or
 * record objects), the JSON text of each checked record out, one output
 * chunk per input chunk. A refused record ends the stream with its error,
 * after the records before it, so that a report counts them.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Stream from "effect/Stream"
import { isRecordError, type RecordError } from "./check.js"

/** Reads one input: plain code, called once per piece; throws the {@link RecordError} of a refused record. */
export interface Reader<A> {
  /** Appends to `out` the JSON text of each record `piece` completes. */
  readonly push: (piece: A, out: Array<string>) => void
  /** The input ended: appends what a last, unterminated piece held. */
  readonly end: (out: Array<string>) => void
}

/** The records a fresh reader finds in `input`, each time the stream runs. */
export const readRecords = <A, E, R>(
  input: Stream.Stream<A, E, R>,
  makeReader: () => Reader<A>
): Stream.Stream<string, E | RecordError, R> =>
  Stream.suspend(() => {
    const reader = makeReader()
    type Read = Channel.Channel<Chunk.Chunk<string>, Chunk.Chunk<A>, E | RecordError, E, unknown, unknown>
    const step = (read: (out: Array<string>) => void, next: Read): Read => {
      const out: Array<string> = []
      let failure: RecordError | undefined
      try {
        read(out)
      } catch (error) {
        if (!isRecordError(error)) throw error
        failure = error
      }
      const written: Read = out.length === 0 ? Channel.void : Channel.write(Chunk.unsafeFromArray(out))
      return Channel.zipRight(written, failure === undefined ? next : Channel.fail(failure))
    }
    const read: Read = Channel.readWithCause({
      onInput: (pieces: Chunk.Chunk<A>) =>
        step((out) => {
          for (const piece of pieces) reader.push(piece, out)
        }, read),
      onFailure: Channel.failCause,
      onDone: () => step((out) => reader.end(out), Channel.void)
    })
    return Stream.pipeThroughChannelOrFail(input, read)
  })
