/**
 * The API's one credential: a bearer token that mutating calls must carry. Compared in constant
 * time (of hashes, so the length of the token does not leak either); the token itself is never
 * logged nor echoed back.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A token for a server started without FERRY_TOKEN: 192 random bits, URL-safe. */
export function generateToken(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * Why `token` could never be sent as a bearer token, or undefined when it can be: a server started
 * with it would refuse every client. Whitespace ends the token in `Authorization: Bearer <token>`,
 * and a header carries bytes, not text, beyond printable ASCII.
 */
export function tokenProblem(token: string): string | undefined {
  if (token.trim() === "") return "is empty";
  if (/\s/.test(token)) {
    return "contains whitespace (a space, tab or line break), and a bearer token is sent as one word: no client could send it";
  }
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return "contains characters beyond printable ASCII, which an HTTP header does not carry as they are: no client could send it";
  }
  return undefined;
}

/**
 * What an `Authorization` header proves: `missing` (no bearer credentials: 401), `wrong` (403),
 * or `ok`.
 */
export function checkBearer(expected: string, header: string | undefined): "ok" | "missing" | "wrong" {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? "");
  if (!m?.[1]) return "missing";
  return timingSafeEqual(digest(m[1]), digest(expected)) ? "ok" : "wrong";
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
