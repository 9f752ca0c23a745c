/**
 * The rule of which URLs get the credentials, and how such a URL is shown
 * without its token.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { checkUrl, credentialOrigins, displayUrl, UntrustedUrlError } from "../src/internal/http/credentialHosts.js"

const token = "tok_SECRET_d41d8cd98f00b204"

describe("credentialOrigins", () => {
  it("adds the download host of the cluster to the base URL's origin", () => {
    expect(credentialOrigins({ baseUrl: "https://api.voucherify.io" })).toEqual([
      "https://api.voucherify.io",
      "https://download.voucherify.io"
    ])
    expect(credentialOrigins({ baseUrl: "https://us1.api.voucherify.io" })).toEqual([
      "https://us1.api.voucherify.io",
      "https://us1.download.voucherify.io"
    ])
    expect(credentialOrigins({ baseUrl: "https://as1.api.voucherify.io/" })[1]).toBe("https://as1.download.voucherify.io")
  })

  it("trusts a dedicated host or a proxy alone, unless a cluster is named", () => {
    expect(credentialOrigins({ baseUrl: "https://acme.example.com/voucherify" })).toEqual(["https://acme.example.com"])
    expect(credentialOrigins({ baseUrl: "http://127.0.0.1:8080" })).toEqual(["http://127.0.0.1:8080"])
    expect(credentialOrigins({ baseUrl: "https://proxy.example.com", cluster: "us1.api" })).toEqual([
      "https://proxy.example.com",
      "https://us1.download.voucherify.io"
    ])
  })
})

describe("checkUrl", () => {
  const eu = credentialOrigins({ baseUrl: "https://api.voucherify.io" })
  const loopback = credentialOrigins({ baseUrl: "http://127.0.0.1:4010" })

  const reasonOf = (url: string, allowed: ReadonlyArray<string>) =>
    Either.match(checkUrl(url, allowed), { onLeft: (error) => error.reason, onRight: () => "allowed" as const })

  it("allows the base URL's origin and the cluster's download host, token and all", () => {
    const url = `https://download.voucherify.io/v1/reports/aa_1.csv?token=${token}`
    expect(Either.map(checkUrl(url, eu), String)).toEqual(Either.right(url))
    expect(reasonOf("https://download.voucherify.io:443/r.csv", eu)).toBe("allowed")
    expect(reasonOf("https://api.voucherify.io/v1/async-actions/aa_1/report", eu)).toBe("allowed")
    expect(reasonOf(`http://127.0.0.1:4010/reports/aa_1.csv?token=${token}`, loopback)).toBe("allowed")
  })

  it("refuses any other host, port or scheme, and user info", () => {
    expect(reasonOf("https://us1.download.voucherify.io/r.csv", eu)).toBe("Host")
    expect(reasonOf("https://download.voucherify.io.example.com/r.csv", eu)).toBe("Host")
    expect(reasonOf("https://example.com/?next=https://download.voucherify.io", eu)).toBe("Host")
    expect(reasonOf("https://download.voucherify.io:8443/r.csv", eu)).toBe("Host")
    expect(reasonOf("http://download.voucherify.io/r.csv", eu)).toBe("Insecure")
    expect(reasonOf("ftp://download.voucherify.io/r.csv", eu)).toBe("Insecure")
    expect(reasonOf("https://user:pw@download.voucherify.io/r.csv", eu)).toBe("UserInfo")
    expect(reasonOf("/relative/r.csv", eu)).toBe("NotAUrl")
    // loopback may use plain http, but only the configured origin gets the keys
    expect(reasonOf("http://localhost:4010/r.csv", loopback)).toBe("Host")
    expect(reasonOf("http://127.0.0.1:4011/r.csv", loopback)).toBe("Host")
    expect(reasonOf("http://10.0.0.1:4010/r.csv", loopback)).toBe("Insecure")
  })

  it("says why, without the token, in the message and in the encoded error", () => {
    const cases = [
      `https://reports.example.com/aa_1.csv?token=${token}#${token}`,
      `http://download.voucherify.io/aa_1.csv?token=${token}`,
      `https://me:${token}@download.voucherify.io/aa_1.csv`,
      `not a url?token=${token}`
    ]
    const errors = cases.map((url) => Either.getOrThrow(Either.flip(checkUrl(url, eu))))
    for (const error of errors) {
      expect(error).toBeInstanceOf(UntrustedUrlError)
      expect(error.message).not.toContain(token)
      expect(JSON.stringify(Schema.encodeSync(UntrustedUrlError)(error))).not.toContain(token)
    }
    expect(errors.map((error) => error.message)).toEqual([
      "https://reports.example.com/aa_1.csv is not on a host that gets the credentials (https://api.voucherify.io, https://download.voucherify.io)",
      "http://download.voucherify.io/aa_1.csv is not https (plain http is allowed only on loopback); the credentials are not sent over it",
      "https://download.voucherify.io/aa_1.csv carries a user name or password; the credentials are not sent with it",
      `"not a url" is not a URL`
    ])
  })
})

describe("displayUrl", () => {
  it("drops the query, the fragment and the user info", () => {
    expect(displayUrl(`https://download.voucherify.io/r/aa_1.csv?token=${token}&x=1#part`)).toBe(
      "https://download.voucherify.io/r/aa_1.csv"
    )
    expect(displayUrl(new URL(`https://u:${token}@example.com:8443/a?b`))).toBe("https://example.com:8443/a")
    expect(displayUrl(`//u:${token}@host/x?token=${token}`)).toBe("//host/x")
  })
})
