/**
 * The bodies Voucherify answers with, and the request log's masking of
 * secrets: what the mock server's handler sends, whichever edge carries it.
 *
 * @internal
 */

export const randomHex = (bytes: number): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (byte) => byte.toString(16).padStart(2, "0")).join("")

export const newRequestId = (): string => `v-${randomHex(11)}`

/** The documented gateway answer to a body over the limit. */
export const payloadTooLargeBody = (limit: number) => ({
  statusCode: 413,
  error: "Request Entity Too Large",
  message: `Payload content length greater than maximum allowed: ${limit}`
})

export const unauthorizedBody = { code: 401, message: "Unauthorized", key: "unauthorized" } as const

export const tooManyRequestsBody = { code: 429, message: "Too many requests hit the API too quickly." } as const

/** Voucherify's usual error body. */
export const apiErrorBody = (
  code: number,
  key: string,
  message: string,
  details: string,
  extra: { readonly resource_id?: string; readonly resource_type?: string } = {}
) => ({ code, key, message, details, request_id: newRequestId(), ...extra })

export type BodyRead =
  | { readonly _tag: "Body"; readonly bytes: Uint8Array }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Aborted" }

const maskedHeaders: ReadonlySet<string> = new Set(["x-app-token", "authorization"])

/** Headers for the request log, secrets masked (the scheme of `Authorization` kept). */
export const maskHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!maskedHeaders.has(name)) {
      out[name] = value
    } else {
      const scheme = name === "authorization" ? value.split(" ")[0] : undefined
      out[name] = scheme !== undefined && scheme !== value ? `${scheme} <redacted>` : "<redacted>"
    }
  }
  return out
}

const htmlPage = (status: number, title: string) =>
  `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`

const statusTitles: Readonly<Record<number, string>> = {
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Temporarily Unavailable",
  504: "Gateway Time-out"
}

/** A 5xx body of the requested shape: Voucherify's JSON, the gateway's JSON, an HTML page or nothing. */
export const serverErrorBody = (
  status: number,
  shape: "json" | "gateway" | "html" | "empty"
): { readonly contentType: string; readonly text: string } => {
  const title = statusTitles[status] ?? "Server Error"
  switch (shape) {
    case "json":
      return {
        contentType: "application/json",
        text: JSON.stringify(apiErrorBody(status, "internal_server_error", title, "Mock fault injected"))
      }
    case "gateway":
      return {
        contentType: "application/json",
        text: JSON.stringify({ statusCode: status, error: title, message: "Mock fault injected" })
      }
    case "html":
      return { contentType: "text/html", text: htmlPage(status, title) }
    case "empty":
      return { contentType: "text/plain", text: "" }
  }
}
