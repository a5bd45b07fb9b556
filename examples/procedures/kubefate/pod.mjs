// One pod of the stand-in KubeFATE cluster: a long-running process that mounts its persistent
// volume, runs until SIGTERM, and writes what happens to it in its pod's events.log. `./fate start`
// runs it from hosts/POD/ as `node current/pod.mjs POD COMPONENT`; it takes its version from the
// VERSION beside it, in the image the pod's spec names.
//
// FATE_CRASH=COMPONENT:VERSION[,…] makes that release of that component exit at once instead of
// running (a release whose component does not start: Kubernetes' CrashLoopBackOff).
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const [pod, component] = process.argv.slice(2);
const version = readFileSync(new URL("VERSION", import.meta.url), "utf8").trim();
const image = `${component}:${version}`;
const log = (line) => appendFileSync("events.log", `${new Date().toISOString()} ${line}\n`);

log(`started ${image} pid ${process.pid}`);
if ((process.env.FATE_CRASH ?? "").split(",").includes(image)) {
  log(`crashed ${image}: exit 1`);
  process.exit(1);
}

// The volume as Kubernetes mounts it: the one bound to the pod's claim, with what is on it.
if (!existsSync("volume/.pv")) {
  log(`crashed ${image}: no volume to mount`);
  process.exit(1);
}
const pv = readFileSync("volume/.pv", "utf8").trim();
const files = readdirSync("volume", { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
log(`volume ${pv} mounted: ${files.length} files`);

writeFileSync("pod.ready", `${process.pid} ${pv}\n`);
log(`running ${image} on ${pod}`);

// Running means waiting for the end: nothing to do but hold the volume.
const alive = setInterval(() => {}, 2 ** 30);
process.on("SIGTERM", () => {
  log(`SIGTERM: terminating ${image}`);
  rmSync("pod.ready", { force: true });
  clearInterval(alive);
  log(`stopped ${image}`);
  process.exit(0);
});
