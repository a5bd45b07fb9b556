/**
 * The command's entry point, the one file esbuild bundles from (scripts/bundle-cli.mjs) into
 * dist/cli-bundle/, which bin/ferry imports.
 */
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
