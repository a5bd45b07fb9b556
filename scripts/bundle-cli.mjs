/**
 * Bundles the command line with esbuild into dist/cli-bundle/ (bin/ferry imports ferry.js there).
 *
 * Why a bundle: a cold start of ferry was almost all module loading, hundreds of files resolved
 * and read one by one. Bundled, a command reads a few files. Each command's module is a dynamic
 * import (src/cli/program.ts), so esbuild splits it into its own chunk, loaded only when that
 * command runs. Native and optional modules stay outside, loaded from node_modules as before.
 *
 * The chunks sit two folders below the package, as src/x/ and dist/x/ do, so that what a module
 * reads relative to import.meta.url (package.json, examples/, the dashboard) is found from all three.
 * The library API (dist/index.js) is tsc's, not this bundle.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { build } from "esbuild";

const OUT = "dist/cli-bundle";

/**
 * esbuild assigns a file to the chunks of every command that imports it, following imports file
 * by file: a command that takes one name from a barrel (src/index.ts, which only re-exports) would
 * share a chunk with every module the barrel names, ssh2 and better-sqlite3 included. So, in the
 * bundle only, `import { a, b } from "../index.js"` becomes one import per module that defines a
 * and b. The source keeps importing from the public API (STYLE.md 12); the modules and their
 * instances are the same, only the graph esbuild sees is the true one.
 */
const flattenBarrels = {
  name: "flatten-barrels",
  setup(esbuild) {
    esbuild.onLoad({ filter: /[/\\]src[/\\].*\.ts$/ }, (args) => {
      const text = readFileSync(args.path, "utf8");
      const contents = text.replace(
        /import\s*\{([^}]*)\}\s*from\s*"(\.[^"]*index\.js)";/g,
        (whole, names, from) => {
          const barrel = barrelExports(resolve(dirname(args.path), from.replace(/\.js$/, ".ts")));
          if (!barrel) return whole;
          const bySource = new Map();
          for (const entry of names.split(",").map((n) => n.trim())) {
            if (!entry || entry.startsWith("type ")) continue;
            const [name, local = name] = entry.split(/\s+as\s+/);
            const source = barrel.get(name);
            if (!source) throw new Error(`${args.path}: ${name} is not exported by ${from}`);
            bySource.set(source, [...(bySource.get(source) ?? []), `${name} as ${local}`]);
          }
          return [...bySource]
            .map(([source, list]) => `import { ${list.join(", ")} } from ${JSON.stringify(source)};`)
            .join("\n");
        },
      );
      return { contents, loader: "ts" };
    });
  },
};

/**
 * zod re-exports every language it speaks as `z.locales`, and esbuild, for the same reason as above,
 * puts all of them (a quarter of a megabyte) into the chunk of any command that validates a file.
 * ferry speaks English only: it imports zod/v4/locales/en.js itself and sets it (src/zod-mini.ts).
 * In the bundle, the namespace of every language is left empty.
 */
const oneLocale = {
  name: "one-locale",
  setup(esbuild) {
    esbuild.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[/\\]node_modules[/\\]zod[/\\]/.test(args.importer)
        ? { path: "zod-locales", namespace: "empty" }
        : undefined,
    );
    esbuild.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

const barrels = new Map();

/** Name → the file that defines it, for a file made only of `export { … } from "…"`; else undefined. */
function barrelExports(file) {
  if (barrels.has(file)) return barrels.get(file);
  let map;
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    const statement = /export\s+(type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)";/g;
    if (text.replace(statement, "").trim() === "") {
      map = new Map();
      for (const [, typeOnly, names, from] of text.matchAll(statement)) {
        if (typeOnly) continue;
        const source = resolve(dirname(file), from.replace(/\.js$/, ".ts"));
        const inner = barrelExports(source);
        for (const entry of names.split(",").map((n) => n.trim())) {
          if (!entry || entry.startsWith("type ")) continue;
          const [name, exported = name] = entry.split(/\s+as\s+/);
          map.set(exported, inner?.get(name) ?? source);
        }
      }
    }
  }
  barrels.set(file, map);
  return map;
}

rmSync(OUT, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: ["src/cli/ferry.ts"],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Compiled binaries, or modules that load them: esbuild cannot inline a .node file.
  external: ["better-sqlite3", "ssh2", "cpu-features", "pg-native"],
  // Less to read and parse at every start. Names are not kept: keepNames wraps every function made
  // at run time, each closure of every call, in a defineProperty of its name, which cost `ferry plan`
  // of 10,000 hosts a tenth of its time. ferry's errors name themselves (`this.name = …`), and
  // FERRY_DEBUG=1 maps stack traces back to the sources (bin/ferry).
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  // Bundled CommonJS packages (pg, mysql2) call require(); an ES module has none of its own.
  banner: {
    js: 'import { createRequire as __ferryRequire } from "node:module"; const require = __ferryRequire(import.meta.url);',
  },
  logLevel: "warning",
  metafile: true,
  plugins: [flattenBarrels, oneLocale],
});
// Which sources and packages went into which chunk: test/cli-module-loads.test.ts reads it to tell
// what a command loaded.
writeFileSync(`${OUT}/metafile.json`, JSON.stringify(metafile));
