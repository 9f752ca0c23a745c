/**
 * Captures everything a program lets out — log lines, spans with their
 * attributes and events — so tests can search it for secrets.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Tracer from "effect/Tracer"
import { inspect } from "node:util"

export interface RecordedSpan {
  readonly name: string
  readonly attributes: Map<string, unknown>
  readonly events: Array<{ name: string; attributes?: Record<string, unknown> | undefined }>
  exit?: Exit.Exit<unknown, unknown>
}

let ids = 0

export const makeObserver = () => {
  const spans: Array<RecordedSpan> = []
  const logs: Array<string> = []
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind) {
      const recorded: RecordedSpan = { name, attributes: new Map(), events: [] }
      spans.push(recorded)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span${++ids}`,
        traceId: "trace1",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: recorded.attributes,
        links,
        sampled: true,
        kind,
        end(_endTime, exit) {
          recorded.exit = exit
        },
        attribute(key, value) {
          recorded.attributes.set(key, value)
        },
        event(eventName, _startTime, attributes) {
          recorded.events.push({ name: eventName, attributes })
        },
        addLinks() {}
      }
      return span
    },
    context: (f) => f()
  })
  const logger = Logger.make(({ annotations, cause, message }) => {
    logs.push(inspect({ message, cause: Cause.pretty(cause), annotations: [...annotations] }, { depth: 10 }))
  })
  const layer = Layer.merge(Layer.setTracer(tracer), Logger.replace(Logger.defaultLogger, logger))
  /** Every captured output as one text, span attributes, events and exits included. */
  const everything = () =>
    [
      ...logs,
      ...spans.map((span) =>
        inspect(
          {
            name: span.name,
            attributes: [...span.attributes],
            events: span.events,
            // what an exporter records of the end: the failure, never the success value
            failure: span.exit && Exit.isFailure(span.exit) ? Cause.pretty(span.exit.cause) : undefined
          },
          { depth: 10 }
        )
      )
    ].join("\n")
  return { spans, logs, layer, everything }
}
