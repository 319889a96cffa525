// The package as a user gets it: `npm pack`, installed from the tarball into an empty project
// (offline, from the npm cache that `npm ci` filled), then imported and run from there.
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CA_PASSPHRASE_ENV } from "../src/ca/index.js";
import { startSimCloud } from "../src/sim/cloud/index.js";
import { SimModem, startSimModemOnPty } from "../src/sim/index.js";

const root = join(import.meta.dirname, "..");
const readme = await readFile(join(root, "README.md"), "utf8");
const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
const lock = JSON.parse(await readFile(join(root, "package-lock.json"), "utf8"));

let work = "";
let tarball = "";
let packed: string[] = [];
let project = "";
let installOutput = "";

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: "utf8",
    timeout: 240_000,
  });
  return { code: result.status, out: result.stdout ?? "", err: result.stderr ?? "" };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nrf-provision-package-"));
  // pretest has built dist/; packing must not rebuild it (prepare) inside the test.
  const pack = run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
    cwd: root,
  });
  expect(pack.code, pack.err).toBe(0);
  const [info] = JSON.parse(pack.out) as Array<{ filename: string; files: { path: string }[] }>;
  tarball = join(work, info!.filename);
  packed = info!.files.map((file) => file.path);

  // An empty project that depends on the tarball. Its lockfile pins our dependencies to the
  // versions in ours, so `npm ci --offline` installs them from the cache (`npm install
  // --offline` would need registry metadata, which `npm ci` does not cache).
  project = join(work, "project");
  const dependency = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    "": { name: "empty-project", version: "1.0.0", dependencies: { "nrf-provision": dependency } },
    "node_modules/nrf-provision": {
      version: manifest.version,
      resolved: dependency,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
    if (path !== "" && !entry.dev) packages[path] = entry;
  }
  await run("mkdir", ["-p", project], { cwd: work });
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({
      name: "empty-project",
      version: "1.0.0",
      private: true,
      type: "module",
      dependencies: { "nrf-provision": dependency },
    }),
  );
  await writeFile(
    join(project, "package-lock.json"),
    JSON.stringify({ name: "empty-project", version: "1.0.0", lockfileVersion: 3, packages }),
  );
  const install = run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: project });
  installOutput = install.out + install.err;
  expect(install.code, installOutput).toBe(0);
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("has no C, no native build and no install script of ours", () => {
    expect(
      packed.filter((path) => /\.(c|cc|h|gyp|node)$|binding\.gyp|native\//.test(path)),
    ).toEqual([]);
    const scripts = Object.keys(manifest.scripts ?? {});
    for (const hook of ["preinstall", "install", "postinstall"])
      expect(scripts).not.toContain(hook);
    expect(installOutput).not.toMatch(/nrf-provision@/);
  });

  it("has the licence, the changelog, declarations and no source maps pointing nowhere", () => {
    expect(packed).toEqual(expect.arrayContaining(["LICENSE", "CHANGELOG.md", "README.md"]));
    expect(packed).toEqual(expect.arrayContaining(["dist/index.d.ts", "dist/sim/index.d.ts"]));
    expect(packed.filter((path) => path.endsWith(".map"))).toEqual([]);
  });

  it("ships the line's database migrations next to the code that applies them", async () => {
    const shipped = (await readdir(join(root, "src", "store", "postgres", "migrations"))).map(
      (name) => `dist/store/postgres/migrations/${name}`,
    );
    expect(shipped.length).toBeGreaterThan(0);
    expect(packed).toEqual(expect.arrayContaining(shipped));
  });

  it("holds every file the README links to (other links are absolute)", () => {
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((match) => match[1]!);
    const relative = links.filter((link) => !/^[a-z]+:/.test(link));
    expect(relative.length).toBeGreaterThan(0);
    for (const link of relative) expect(packed, link).toContain(link.replace(/^\.\//, ""));
  });

  it("passes publint and arethetypeswrong", () => {
    const publint = run("npx", ["publint", "run", tarball, "--strict"], { cwd: root });
    expect(publint.code, publint.out + publint.err).toBe(0);
    expect(publint.out).toContain("All good!");
    // ESM only (Node >= 20.19): CommonJS consumers use import(), so attw's esm-only profile.
    const attw = run("npx", ["attw", tarball, "--profile", "esm-only", "--format", "json"], {
      cwd: root,
    });
    expect(attw.code, attw.out + attw.err).toBe(0);
    const problems = JSON.parse(attw.out).analysis.problems as unknown[];
    expect(problems.filter((p) => !/node10|node16-cjs/.test(JSON.stringify(p)))).toEqual([]);
  });
});

describe("installed from the tarball into an empty project", () => {
  const node = (code: string) =>
    run(process.execPath, ["--input-type=module", "-e", code], { cwd: project });

  it("imports the library and the simulators; internals stay private", () => {
    const imported = node(`
      import * as lib from "nrf-provision";
      import * as sim from "nrf-provision/sim";
      console.log(JSON.stringify({ lib: Object.keys(lib), sim: Object.keys(sim) }));
    `);
    expect(imported.code, imported.err).toBe(0);
    const { lib, sim } = JSON.parse(imported.out) as { lib: string[]; sim: string[] };
    expect(lib).toEqual(
      expect.arrayContaining([
        "openAtClient",
        "readIdentity",
        "keygen",
        "parseKeygenOutput",
        "initCa",
        "issueDeviceCertificate",
        "createCloudClient",
        "mintDeviceJwt",
        "verifyDeviceJwt",
        "provisionBoard",
        "runStation",
        "NrfProvisionError",
      ]),
    );
    for (const internal of ["writeHeader", "TaskPool", "LiveView", "socatAvailable", "Ledger"]) {
      expect(lib).not.toContain(internal);
      expect(sim).not.toContain(internal);
    }
    expect(sim).toEqual(
      expect.arrayContaining(["SimModem", "startSimModemOnPty", "startSimCloud"]),
    );
    expect(lib.length).toBeLessThan(100);

    const deep = node(`await import("nrf-provision/dist/ca/issue.js")`);
    expect(deep.code).not.toBe(0);
    expect(deep.err).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });

  it("loads nothing heavy on import: no @peculiar/x509, reflect-metadata, serialport, zod, jose", async () => {
    // A resolve hook logs every module the import pulls in.
    await writeFile(
      join(project, "log-modules.mjs"),
      `import { register } from "node:module";\nregister("./log-modules-hook.mjs", import.meta.url);\n`,
    );
    await writeFile(
      join(project, "log-modules-hook.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.MODULE_LOG, resolved.url + "\\n");
  return resolved;
}
`,
    );
    const log = join(work, "modules.log");
    const loaded = run(
      process.execPath,
      [
        "--import",
        "./log-modules.mjs",
        "--input-type=module",
        "-e",
        `await import("nrf-provision"); console.log(typeof Reflect.getMetadata);`,
      ],
      { cwd: project, env: { MODULE_LOG: log } },
    );
    expect(loaded.code, loaded.err).toBe(0);
    expect(loaded.out.trim()).toBe("undefined"); // no global reflect-metadata
    const modules = (await readFile(log, "utf8")).split("\n");
    expect(modules.some((url) => url.includes("/nrf-provision/dist/index.js"))).toBe(true);
    const heavy = modules.filter((url) =>
      /node_modules\/(zod|@peculiar|serialport|@serialport|reflect-metadata|jose|tsyringe)\//.test(
        url,
      ),
    );
    expect(heavy).toEqual([]);
  });

  it("runs `npx nrf-provision --help` and `npx nrf-provision demo`", () => {
    const help = run("npx", ["nrf-provision", "--help"], { cwd: project });
    expect(help.code, help.err).toBe(0);
    expect(help.out).toMatch(/^Usage: nrf-provision/);
    const demo = run("npx", ["nrf-provision", "demo"], { cwd: project });
    expect(demo.code, demo.out + demo.err).toBe(0);
    expect(demo.out + demo.err).toContain("onboarded");
  }, 120_000);

  it("runs every example of the README's Library section", async () => {
    const section = readme.slice(readme.indexOf("## Library"), readme.indexOf("## Bench"));
    const examples = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(examples).toHaveLength(4);

    const modem = await startSimModemOnPty({ seed: "readme-library" });
    const cloud = await startSimCloud({ apiKey: "library-key" });
    const keygenLine = await keygenOutput();
    await writeFile(join(project, "device.keygen.txt"), `${keygenLine}\n`);
    try {
      for (const [index, example] of examples.entries()) {
        const file = join(project, `library-example-${index + 1}.mjs`);
        await writeFile(file, example);
        const result = await runAsync(file, {
          PORT: modem.path,
          NRF_CLOUD_BASE_URL: cloud.baseUrl,
          NRF_CLOUD_API_KEY: "library-key",
          [CA_PASSPHRASE_ENV]: "a long passphrase for the library example",
        });
        expect({ example: index + 1, code: result.code, err: result.err }).toEqual({
          example: index + 1,
          code: 0,
          err: "",
        });
        expect(result.out.trim().length).toBeGreaterThan(0);
      }
    } finally {
      await modem.close();
      await cloud.close();
    }
  }, 120_000);
});

/** A %KEYGEN line from a simulated modem, as a user would copy it from a terminal. */
async function keygenOutput(): Promise<string> {
  const { openAtClient } = await import("../src/at/index.js");
  const { createMemoryTransportPair } = await import("../src/serial/index.js");
  const { keygen, withOfflineMode } = await import("../src/modem/index.js");
  const [host, device] = createMemoryTransportPair();
  const modem = new SimModem({ seed: "readme-keygen" });
  modem.attach(device);
  const at = await openAtClient(host, { mode: "at" });
  try {
    const result = await withOfflineMode(at, () => keygen(at, { secTag: 42, content: "csr" }));
    return result.response;
  } finally {
    await at.close();
  }
}

/** Runs a script in the project without blocking this process (the simulators live here). */
function runAsync(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return import("node:child_process").then(
    ({ execFile }) =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [file],
          { cwd: project, env: { ...process.env, ...env }, timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? ((error.code as number) ?? 1) : 0, out: stdout, err: stderr }),
        );
      }),
  );
}
