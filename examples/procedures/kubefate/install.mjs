// `./fate install`: KubeFATE's `kubefate cluster install -f cluster.yaml`, on this machine. Makes
// each pod of cluster.yaml a folder in hosts/ with a persistent volume bound to its claim and the
// data of a cluster that has run for a while on it (FATE's database on mysql's, a dataset on each
// node manager's, …), then pulls the image of the file's `version:` and starts every pod.
// js-yaml and better-sqlite3 are ferry's own dependencies, found through NODE_PATH.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const need = (name) => {
  try {
    return require(name);
  } catch {
    console.error(`fate install: cannot load ${name}: set NODE_PATH to ferry's node_modules`);
    process.exit(2);
  }
};
const yaml = need("js-yaml");
const Database = need("better-sqlite3");

const cluster = yaml.load(readFileSync(join(here, "cluster.yaml"), "utf8"));
const version = cluster.version;
const schema = join(here, "schema", `${version}.sql`);
if (!existsSync(schema)) {
  console.error(
    `fate install: this stand-in installs 1.7.0 (schema/${version}.sql is not there); upgrade with ferry`,
  );
  process.exit(2);
}
if (existsSync(join(here, "hosts"))) {
  console.error(
    "fate install: hosts/ is there already: ./fate down, and remove hosts/ and .ferry/ to start again",
  );
  process.exit(2);
}

/** What each component has on its volume after a while: the data the seed says an upgrade must not lose. */
const DATA = {
  python: { "model_local_cache/202206280915551234560/model.json": '{"model": "hetero_lr_0"}\n' },
  nodemanager: {
    "data/breast_hetero_guest.csv": "id,y,x0,x1\n133,1,0.254879,-1.046633\n273,1,-1.142928,-0.781198\n",
  },
  client: { "persistence/pipeline-tutorial.ipynb": '{"cells": [], "nbformat": 4, "nbformat_minor": 5}\n' },
};

for (const c of cluster.components) {
  for (const pod of c.hosts) {
    const volume = join(here, "hosts", pod, "volume");
    mkdirSync(volume, { recursive: true });
    const pv = `pv-${pod}-${randomBytes(4).toString("hex")}`;
    writeFileSync(join(volume, ".pv"), `${pv}\n`);
    writeFileSync(join(here, "hosts", pod, "claim"), `${pv}\n`);
    for (const [file, text] of Object.entries(DATA[c.name] ?? {})) {
      mkdirSync(dirname(join(volume, file)), { recursive: true });
      writeFileSync(join(volume, file), text);
    }
  }
}

// FATE's database, where cluster.yaml's `database:` says: on mysql's volume.
const db = new Database(join(here, cluster.database.replace(/^sqlite:/, "")));
db.exec(readFileSync(schema, "utf8"));
db.close();

const fate = (...args) => execFileSync(join(here, "fate"), args, { stdio: "inherit" });
for (const c of cluster.components) {
  for (const pod of c.hosts) {
    fate("pull", pod, c.name, version);
    fate("recreate", pod, c.name, version);
    fate("start", pod, c.name);
  }
}
console.log(`fate install: ${cluster.name} runs ${version}`);
