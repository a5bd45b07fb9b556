/**
 * Maintenance windows (DESIGN.md "Gates"): `window: { days, start, end, timezone }`. Pure: given a
 * window and an instant, whether it is open, and when it closes or next opens.
 *
 * A window opens on each of its days at `start`, local time in its zone, and closes at `end` the
 * same day, or the next day when `end` is at or before `start` (22:00–02:00 belongs to the day it
 * opens on). Local times are turned into instants with the platform's Intl time zone data, so
 * daylight-saving changes are followed: a local time that does not exist (skipped forward) is
 * taken as the same time after the jump, as much later as the jump (02:30 on the night Berlin
 * goes from 02:00 to 03:00 is 03:30 CEST); one that happens twice is its first occurrence. These
 * are the rules of Temporal's "compatible" disambiguation and of cron implementations that follow it.
 */
import type { WINDOW_DAYS } from "../cluster/cluster-schema.js";

export type WindowDay = (typeof WINDOW_DAYS)[number];

export interface Window {
  /** The days it opens on; the cluster file's default is every day. */
  readonly days: readonly WindowDay[];
  /** Local times of day, "HH:MM" or "HH:MM:SS". */
  readonly start: string;
  readonly end: string;
  /** An IANA time zone, as Intl knows it. */
  readonly timezone: string;
}

export type WindowState =
  | { readonly open: true; readonly closesAt: number }
  | { readonly open: false; readonly opensAt: number };

const DAY_MS = 86_400_000;
const DAY_INDEX: Record<WindowDay, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/**
 * Whether `w` is open at `now` (epoch ms), and until when; or when it opens next. Back-to-back
 * openings (every day 00:00–00:00) count as one: `closesAt` is when it is really closed.
 *
 * @example windowAt({ days: ["sat"], start: "01:00", end: "05:00", timezone: "UTC" }, Date.UTC(2026, 10, 28, 2))
 *   // { open: true, closesAt: Date.UTC(2026, 10, 28, 5) }
 */
export function windowAt(w: Window, now: number): WindowState {
  const spans = openings(w, now);
  let open = spans.find((s) => s.start <= now && now < s.end);
  if (open) {
    let closesAt = open.end;
    // Openings that start as (or before) the last one ends keep it open.
    for (;;) {
      const next = spans.find((s) => s.start <= closesAt && s.end > closesAt);
      if (!next) break;
      closesAt = next.end;
      open = next;
    }
    return { open: true, closesAt };
  }
  const next = spans.filter((s) => s.start > now).sort((a, b) => a.start - b.start)[0];
  // Validation requires a day, and every day has an opening within the eight days looked at.
  if (!next) throw new Error(`window ${describeWindow(w)} never opens`);
  return { open: false, opensAt: next.start };
}

/** `sat, sun 01:00–05:00 Europe/Berlin`, for the waiting line. */
export function describeWindow(w: Window): string {
  const days = w.days.length === 7 ? "every day" : w.days.join(", ");
  return `${days} ${w.start}–${w.end} ${w.timezone}`;
}

/** Every opening that starts from two days before `now`'s local date to eight days after. */
function openings(w: Window, now: number): { start: number; end: number }[] {
  const today = localParts(now, w.timezone);
  const start = secondsOf(w.start);
  const end = secondsOf(w.end);
  const days = new Set(w.days.map((d) => DAY_INDEX[d]));
  const spans: { start: number; end: number }[] = [];
  for (let k = -2; k <= 8; k++) {
    // Calendar arithmetic on the local date, done in UTC where every day has 24 hours.
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + k));
    if (!days.has(date.getUTCDay())) continue;
    const midnight = date.getTime();
    spans.push({
      start: instantOf(midnight + start * 1000, w.timezone),
      end: instantOf(midnight + (end > start ? 0 : DAY_MS) + end * 1000, w.timezone),
    });
  }
  return spans;
}

/** "01:30" or "01:30:15" as seconds after midnight. */
function secondsOf(time: string): number {
  const [h = 0, m = 0, s = 0] = time.split(":").map(Number);
  return h * 3600 + m * 60 + s;
}

/**
 * The instant at which the wall clock of `zone` shows `local` (a local date and time written as
 * if it were UTC, in ms). See the module comment for times skipped or repeated by a DST change.
 */
export function instantOf(local: number, zone: string): number {
  const before = offsetAt(local - DAY_MS, zone);
  const after = offsetAt(local + DAY_MS, zone);
  const valid = [local - before, local - after].filter((t) => offsetAt(t, zone) === local - t);
  if (valid.length > 0) return Math.min(...valid);
  // Skipped by a jump forward: the offset before it carries the time past the gap.
  return local - before;
}

/** How far `zone`'s wall clock is ahead of UTC at `instant`, in ms. */
export function offsetAt(instant: number, zone: string): number {
  const p = localParts(instant, zone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(instant / 1000) * 1000;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function localParts(instant: number, zone: string) {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formats.set(zone, f);
  }
  const n: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(instant))) {
    if (part.type !== "literal") n[part.type] = Number(part.value);
  }
  return {
    year: n.year as number,
    month: n.month as number,
    day: n.day as number,
    hour: n.hour as number,
    minute: n.minute as number,
    second: n.second as number,
  };
}
