/**
 * Ending what a command of an earlier ferry left running on a host: that ferry died (kill -9, a
 * lost machine) while the command ran, and a resume must not run the step again beside it.
 *
 * Every command a step runs carries `FERRY_PROCESS=<marker>` in its environment, a marker derived
 * from the run, the step and its attempt (src/run/executor.ts), so the journal already says what
 * to look for before the command starts, and nothing more is written or waited for per command.
 * On the host, the processes whose environment (Linux's /proc/PID/environ) holds it are found; their
 * process groups are ended as a timeout ends a command's, so what they started that dropped the
 * variable goes too. A pid or group id reused since by another command cannot carry the marker.
 * The search and the kill run on the host through its driver (a POSIX shell), one script for
 * local and SSH hosts.
 */
import { describeExit, type ExecResult, lastLineOf, MARKER_VARIABLE, type MarkedEnd } from "./driver.js";

/** How long SIGTERM has before SIGKILL, by default. */
export const END_GRACE_MS = 2000;

/** How long the host may take, grace and SIGKILL included, before ferry gives up on it. */
const END_TIMEOUT_MS = 60_000;

/**
 * The script: the groups of the live processes that carry a marker (zombies hold nothing;
 * group 0 and 1 are never ours), SIGTERM to each, the grace, SIGKILL, and a wait until none of
 * their processes is left. Its `groups` line names them; its last line says how it ended.
 */
function endMarkedScript(markers: readonly string[], graceMs: number): string {
  for (const m of markers) if (!/^[0-9a-f]{8,64}$/.test(m)) throw new Error(`not a process marker: ${m}`);
  const ticks = Math.max(1, Math.ceil(graceMs / 100));
  const each = `for d in /proc/[0-9]*; do { read -r s < "$d/stat"; } 2>/dev/null || continue; set -- \${s##*) }; [ "$1" != Z ] || continue;`;
  const patterns = markers.map((m) => `-e '${MARKER_VARIABLE}=${m}'`).join(" ");
  return `g=
[ -r /proc/self/stat ] || { echo "cannot see the host's processes: no /proc"; exit 3; }
${each} [ "$3" -gt 1 ] 2>/dev/null || continue; tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qxF ${patterns} || continue; case " $g " in *" $3 "*) ;; *) g="$g $3";; esac; done
[ -n "$g" ] || { echo none; exit 0; }
echo "groups$g"
count() { n=0; ${each} case " $g " in *" $3 "*) n=$((n+1));; esac; done; }
for p in $g; do kill -TERM -"$p" 2>/dev/null; done
i=0; while count; [ "$n" -gt 0 ] && [ "$i" -lt ${ticks} ]; do sleep 0.1; i=$((i+1)); done
if [ "$n" -eq 0 ]; then echo terminated; exit 0; fi
for p in $g; do kill -KILL -"$p" 2>/dev/null; done
i=0; while count; [ "$n" -gt 0 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if [ "$n" -eq 0 ]; then echo killed; exit 0; fi
echo "$n of their processes outlived SIGKILL"; exit 4`;
}

/**
 * Ends, on the host `exec` reaches, every process group in which a process carries one of `markers`:
 * SIGTERM, `graceMs`, SIGKILL, and back once none of their processes is left. Rejects when that
 * cannot be done or told (the host's answer says why).
 */
export async function endMarkedThrough(
  exec: (command: string, options: { timeoutMs: number }) => Promise<ExecResult>,
  markers: readonly string[],
  graceMs: number = END_GRACE_MS,
): Promise<MarkedEnd> {
  if (markers.length === 0) return { groups: [], killed: false };
  const r = await exec(endMarkedScript(markers, graceMs), { timeoutMs: END_TIMEOUT_MS + graceMs });
  const last = lastLineOf(r.output) ?? "";
  const groups = /^groups((?: \d+)+)$/m.exec(r.output)?.[1]?.trim().split(" ").map(Number) ?? [];
  if (r.exitCode === 0 && last === "none") return { groups: [], killed: false };
  if (r.exitCode === 0 && (last === "terminated" || last === "killed") && groups.length > 0)
    return { groups, killed: last === "killed" };
  throw new Error(
    `ending what carries ${MARKER_VARIABLE} ${markers.join(" or ")}: ${describeExit(r)}${last ? `: ${last}` : ""}`,
  );
}
