/**
 * A run's id (and a fleet run's): `20261121T013900Z-3fa2c81d9e0b`, sortable by its start, unique
 * across every cluster whose journal is in one state store. A fleet of such clusters starts many
 * runs in the same second: 48 random bits make a collision there (two runs refused, the second with
 * a duplicate key) about as likely as one in ten billion per second at a thousand runs a second,
 * where 16 bits failed one cluster run in a few thousand.
 */
import { randomBytes } from "node:crypto";

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(6).toString("hex")}`;
}
