/**
 * What the terminal ferry writes to can take: live redraws only on a terminal, colour only on a
 * terminal and never when NO_COLOR is set (https://no-color.org: any non-empty value).
 */
import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

/** A terminal that can redraw: a TTY that is not TERM=dumb. */
export function isLiveTerminal(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.TERM !== "dumb";
}

export function colorsFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Colors {
  return pc.createColors(isLiveTerminal(stream, env) && !env.NO_COLOR);
}
