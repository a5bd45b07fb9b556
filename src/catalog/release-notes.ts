/**
 * A hop's release notes and warnings (DESIGN.md "Release notes"), the vendor's word on what a hop
 * changes and what an operator must know first (KubeFATE's from/to matrix: a hop from before 1.9.0
 * into 1.9.0 or later loses volumes provisioned by a storage class; one from 1.9.0 does not).
 *
 * A hop shows the notes and warnings of every release it enters: for an upgrade each release in
 * (from, to], since a hop that leaps over releases still takes on their changes (their migrations
 * run too); for a downgrade the release it goes back to. A warning with `from` is shown only for a
 * hop whose start is in that range, read in the catalog's own order (version-scheme.ts).
 */
import { type Catalog, schemeOf } from "./catalog.js";
import type { Hop } from "./hop-rules.js";

export interface HopNote {
  /** The release whose notes these are. */
  readonly release: string;
  readonly text: string;
}

export interface HopWarning {
  /** The release that carries it. */
  readonly release: string;
  /** The range of starts it is for, as the catalog wrote it; absent: every hop. */
  readonly from?: string;
  readonly text: string;
  /** Must be accepted before `apply` runs the hop. */
  readonly acknowledge: boolean;
}

/** What a hop of a planned path shows besides its kind and mode. */
export interface ReleaseNotes {
  readonly notes: readonly HopNote[];
  readonly warnings: readonly HopWarning[];
}

/** A hop of a planned path, with the notes and warnings of the releases it enters. */
export type PathHop = Hop & ReleaseNotes;

/**
 * The notes and warnings of the hop from release index `a` to `b` (indices in the catalog's order).
 *
 * @example hopReleaseNotes(kubefate, 2, 4) // 1.8.0 → 1.10.0: the notes of 1.9.0 and 1.10.0, and their "<1.9.0" warnings
 */
export function hopReleaseNotes(catalog: Catalog, a: number, b: number): ReleaseNotes {
  const scheme = schemeOf(catalog);
  const start = catalog.releases[a]?.version;
  if (start === undefined) throw new Error(`release notes: no release #${a}`);
  const entered = b > a ? catalog.releases.slice(a + 1, b + 1) : catalog.releases.slice(b, b + 1);
  const notes: HopNote[] = [];
  const warnings: HopWarning[] = [];
  for (const release of entered) {
    if (release.notes) notes.push(Object.freeze({ release: release.version, text: release.notes }));
    for (const w of release.warnings ?? []) {
      if (w.from === undefined || scheme.inRange(start, w.from))
        warnings.push(Object.freeze({ release: release.version, ...w }));
    }
  }
  return { notes: Object.freeze(notes), warnings: Object.freeze(warnings) };
}

/** The warnings of `hops` that must be accepted before they run, each with the hop it is for. */
export function warningsToAccept(
  hops: readonly (Pick<Hop, "from" | "to"> & Partial<ReleaseNotes>)[],
): (HopWarning & { readonly hop: string })[] {
  return hops.flatMap((h) =>
    (h.warnings ?? []).filter((w) => w.acknowledge).map((w) => ({ hop: `${h.from} → ${h.to}`, ...w })),
  );
}
