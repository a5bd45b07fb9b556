/**
 * Ending a process group that a command of an earlier ferry left running: that ferry died (kill -9,
 * a lost machine) while the command ran, and a resume must not run the step again beside it.
 *
 * The group is recognised by its id and by a marker: every command a driver starts with
 * `onStarted` carries `FERRY_PROCESS=<marker>` in its environment, unique to that command. A
 * group id is only reused once every process of the old group has gone, so a live group in which
 * some process carries the marker is the one the dead ferry started, and a group without it is
 * another command's, left alone. The check and the kill run on the host itself, through its driver
 * (a POSIX shell and Linux's /proc), so local and SSH hosts share this one script.
 */
import { randomBytes } from "node:crypto";
import { describeExit, type ExecResult, type GroupEnd, lastLineOf, type ProcessGroup } from "./driver.js";

/** The environment variable that carries a command's marker. */
export const MARKER_VARIABLE = "FERRY_PROCESS";

/** A new marker: 16 hex digits, random. */
export function newMarker(): string {
  return randomBytes(8).toString("hex");
}

/** How long SIGTERM has before SIGKILL, by default. */
export const END_GROUP_GRACE_MS = 2000;

/** How long the host may take, grace and SIGKILL included, before ferry gives up on it. */
const END_GROUP_TIMEOUT_MS = 60_000;

/**
 * The script: counts the group's live processes (zombies hold nothing), checks the marker, sends
 * SIGTERM to the group, waits out the grace, sends SIGKILL, and waits until none is left. Its last
 * line says what happened.
 */
function endGroupScript(group: ProcessGroup, graceMs: number): string {
  if (!Number.isInteger(group.pgid) || group.pgid <= 1) throw new Error(`not a process group: ${group.pgid}`);
  if (!/^[0-9a-f]+$/.test(group.marker)) throw new Error(`not a process marker: ${group.marker}`);
  const ticks = Math.max(1, Math.ceil(graceMs / 100));
  return `g=${group.pgid}; m='${MARKER_VARIABLE}=${group.marker}'
count() { n=0; for d in /proc/[0-9]*; do { read -r s < "$d/stat"; } 2>/dev/null || continue; set -- \${s##*) }; if [ "$3" = "$g" ] && [ "$1" != Z ]; then n=$((n+1)); fi; done; }
ours() { for d in /proc/[0-9]*; do { read -r s < "$d/stat"; } 2>/dev/null || continue; set -- \${s##*) }; if [ "$3" = "$g" ] && [ "$1" != Z ] && tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qxF -e "$m"; then return 0; fi; done; return 1; }
[ -r /proc/self/stat ] || { echo "cannot see the host's processes: no /proc"; exit 3; }
count
if [ "$n" -eq 0 ]; then echo gone; exit 0; fi
if ! ours; then echo not-ours; exit 0; fi
kill -TERM -"$g" 2>/dev/null
i=0; while count; [ "$n" -gt 0 ] && [ "$i" -lt ${ticks} ]; do sleep 0.1; i=$((i+1)); done
if [ "$n" -eq 0 ]; then echo terminated; exit 0; fi
kill -KILL -"$g" 2>/dev/null
i=0; while count; [ "$n" -gt 0 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if [ "$n" -eq 0 ]; then echo killed; exit 0; fi
echo "$n of its processes outlived SIGKILL"; exit 4`;
}

/**
 * Ends `group` on the host `exec` reaches: nothing when it has gone or is not ours; otherwise
 * SIGTERM, `graceMs`, SIGKILL, and back once none of its processes is left. Rejects when that
 * cannot be done or told (the host's answer says why).
 */
export async function endGroupThrough(
  exec: (command: string, options: { timeoutMs: number }) => Promise<ExecResult>,
  group: ProcessGroup,
  graceMs: number = END_GROUP_GRACE_MS,
): Promise<GroupEnd> {
  const r = await exec(endGroupScript(group, graceMs), { timeoutMs: END_GROUP_TIMEOUT_MS + graceMs });
  const last = lastLineOf(r.output) ?? "";
  if (r.exitCode === 0 && ["gone", "not-ours", "terminated", "killed"].includes(last))
    return last as GroupEnd;
  throw new Error(`ending process group ${group.pgid}: ${describeExit(r)}${last ? `: ${last}` : ""}`);
}
