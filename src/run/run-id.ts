/**
 * A run's id (and a fleet run's): `20261121T013900Z-3fa2c81d9e0b`, sortable by its start, unique
 * across every cluster whose journal is in one state store. A fleet of such clusters starts many
 * runs in the same second: 48 random bits make a collision there (the second run refused on a
 * duplicate key) about two in a billion per second at a thousand runs a second, where 16 bits
 * failed about one cluster run in a few thousand (bench:fleet with PostgreSQL journals).
 */
import { randomBytes } from "node:crypto";

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(6).toString("hex")}`;
}
