import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { Cluster } from "../index.js";
import { runLogFolder } from "./worker-command.js";

const cluster = (dir: string, state: string) => ({ name: "edge-7", dir, state }) as Cluster;

test("a worker logs a run in the cluster's state folder when its folder is here, else under --logs/<cluster>", () => {
  const here = process.cwd();
  assert.equal(runLogFolder(cluster(here, "journal/ferry.db"), "/var/log/ferry"), join(here, "journal"));
  assert.equal(runLogFolder(cluster(here, "postgres://db/ferry"), "/var/log/ferry"), join(here, ".ferry"));
  assert.equal(
    runLogFolder(cluster("/nowhere/on/this/machine", "postgres://db/ferry"), "/var/log/ferry"),
    "/var/log/ferry/edge-7",
  );
});
