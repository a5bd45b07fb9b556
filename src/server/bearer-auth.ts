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
