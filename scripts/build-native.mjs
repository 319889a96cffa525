#!/usr/bin/env node
// Builds the optional native P-256 verifier (native/p256-verify) with node-gyp against the
// running Node's headers. Without it nrf-provision works the same, through node:crypto, only
// the CA issues certificates about 40% slower. So a missing toolchain is a warning, unless
// NRF_PROVISION_REQUIRE_NATIVE=1 (CI) makes it an error.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const directory = join(dirname(fileURLToPath(import.meta.url)), "..", "native", "p256-verify");
const required = process.env.NRF_PROVISION_REQUIRE_NATIVE === "1";

// npm tells lifecycle scripts where its bundled node-gyp is; run directly, look where npm is
// installed next to this Node, then on PATH.
const prefix = dirname(dirname(process.execPath));
const gyp = [
  process.env.npm_config_node_gyp,
  join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
].find((path) => path && existsSync(path));
const [command, args] = gyp ? [process.execPath, [gyp]] : ["node-gyp", []];
// Build against the headers installed with this Node when they are there (no download).
const localHeaders =
  !process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "common.gypi"));
const nodedir = localHeaders ? [`--nodedir=${prefix}`] : [];
const result = spawnSync(command, [...args, "rebuild", "--directory", directory, ...nodedir], {
  stdio: ["ignore", "pipe", "pipe"],
  encoding: "utf8",
});

// Load it once in a child: a symbol this Node does not export, or a failed known-answer
// self-test (the module runs one when it loads), must not leave a module behind to be used.
const addon = join(directory, "build", "Release", "p256_verify.node");
const check =
  result.status === 0
    ? spawnSync(process.execPath, ["-e", `require(${JSON.stringify(addon)})`], { encoding: "utf8" })
    : undefined;
if (check && check.status !== 0) rmSync(addon, { force: true });

if (result.status === 0 && check?.status === 0) {
  console.log("native P-256 verifier built (native/p256-verify/build/Release/p256_verify.node)");
} else {
  const message = check
    ? `native P-256 verifier built but unusable, so removed: ${loadError(check.stderr)}`
    : `native P-256 verifier not built: ${result.error?.message ?? lastLines(`${result.stdout}\n${result.stderr}`)}\nIt needs node-gyp, python3, a C compiler and Node's headers.`;
  const consequence = "CSR signatures will be checked through node:crypto (slower).";
  if (required) {
    console.error(`error: ${message}\n${consequence}`);
    process.exit(1);
  }
  console.warn(`warning: ${message}\n${consequence}`);
}

/** The error line of a failed require(): "Error: p256-verify: failed its …" or the loader's. */
function loadError(stderr) {
  return (
    stderr
      .split("\n")
      .find((line) => /Error/.test(line))
      ?.trim() ?? lastLines(stderr)
  );
}

function lastLines(text) {
  return text.trim().split("\n").slice(-8).join("\n");
}
