/**
 * The line a benchmark prints for a figure that judges one of issue 15's aims, in the one shape
 * `npm run bench` (bench/run-all.ts) collects into its summary:
 *
 *   AIM <name>: <measured> vs <reference> = <ratio> (aim <condition>) met|NOT met
 */

export interface Aim {
  /** What is judged: "ferry --version", "ferry plan of 10,000 hosts". */
  readonly name: string;
  readonly measured: number;
  /** What the measured figure is compared with, as a label: "node -e 0 48 ms", "500 ms". */
  readonly reference: number;
  readonly referenceName?: string;
  readonly unit?: string;
  /** The aim: measured / reference at most this. */
  readonly atMost: number;
}

export function aimLine(a: Aim): string {
  const unit = a.unit ?? "ms";
  const ratio = a.measured / a.reference;
  const met = ratio <= a.atMost;
  const reference = `${a.referenceName ? `${a.referenceName} ` : ""}${round(a.reference)} ${unit}`;
  return `AIM ${a.name}: ${round(a.measured)} ${unit} vs ${reference} = ${ratio.toFixed(2)} (aim ≤ ${a.atMost}) ${met ? "met" : "NOT met"}`;
}

const round = (x: number) => (x >= 100 ? Math.round(x) : Math.round(x * 10) / 10);
