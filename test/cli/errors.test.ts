import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.js";
import { allCommandModules, buildProgram } from "../../src/cli/main.js";
import { type ChildResult, runChild } from "./child.js";
import { type CliResult, captureIo, runCliCaptured } from "./harness.js";
import { readmeExitCodes } from "./readme-exit-codes.js";

// Every command × every mistake a user makes on the command line: the exit code the README's
// table gives for it, a message naming what was wrong, and never a stack trace. In-process for
// the whole table; the built CLI as a child process for one case of each kind.

const dir = mkdtempSync(join(tmpdir(), "nrf-provision-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A file that does not exist, and a directory where a file belongs (EISDIR, even for root). */
const MISSING = "missing.pem";
const DIRECTORY = "a-directory";
mkdirSync(join(dir, DIRECTORY));
const PRESENT = "present.txt";
writeFileSync(join(dir, PRESENT), "not used: the mistake is found before the file is read\n");
/** A port that is not there: a command that touched the board would exit 3. */
const NO_PORT = join(dir, "no-such-port");
/** Nothing listens there: a command that sent a request would exit 5. */
const DEAD_URL = "http://127.0.0.1:9/v1";

interface CommandSpec {
  path: string[];
  /** Arguments that make a valid command line (for the unknown-option case). */
  args: string[];
  /** Per input-file flag, the full arguments with `file` as that flag's value. */
  files?: Record<string, (file: string) => string[]>;
  /** Arguments for a command that talks to nRF Cloud (needs the API key and a base URL). */
  cloud?: string[];
}

const commands: CommandSpec[] = [
  { path: ["ports"], args: [] },
  { path: ["modem", "info"], args: ["--port", NO_PORT] },
  { path: ["modem", "keygen"], args: ["--port", NO_PORT, "--sec-tag", "42"] },
  { path: ["modem", "creds", "list"], args: ["--port", NO_PORT] },
  {
    path: ["modem", "creds", "write"],
    args: ["--port", NO_PORT, "--sec-tag", "42", "--type", "root-ca", "--file", PRESENT],
    files: {
      "--file": (file) => [
        "--port",
        NO_PORT,
        "--sec-tag",
        "42",
        "--type",
        "root-ca",
        "--file",
        file,
      ],
    },
  },
  {
    path: ["modem", "creds", "delete"],
    args: ["--port", NO_PORT, "--sec-tag", "42", "--type", "root-ca"],
  },
  { path: ["modem", "jwt"], args: ["--port", NO_PORT] },
  { path: ["parse", "keygen"], args: ["AAAA.BBBB"] },
  { path: ["parse", "attesttoken"], args: ["AAAA.BBBB"] },
  { path: ["sim", "modem"], args: [] },
  { path: ["sim", "cloud"], args: [] },
  { path: ["sim", "provisioning"], args: [] },
  { path: ["ca", "init"], args: ["--dir", "new-ca"] },
  { path: ["ca", "show"], args: ["--dir", "ca"] },
  {
    path: ["ca", "issue"],
    args: ["--dir", "ca", "--csr", PRESENT],
    files: {
      "--csr": (file) => ["--dir", "ca", "--csr", file],
      "--keygen-file": (file) => ["--dir", "ca", "--keygen-file", file],
    },
  },
  { path: ["ca", "ledger"], args: ["--dir", "ca"] },
  {
    path: ["cloud", "onboard"],
    args: ["--device", "dev-1", "--cert", PRESENT],
    files: {
      "--cert": (file) => ["--device", "dev-1", "--cert", file],
      "--public-key": (file) => ["--device", "dev-1", "--public-key", file],
      "--csv": (file) => ["--csv", file],
    },
    cloud: ["--device", "dev-1", "--cert", PRESENT],
  },
  {
    path: ["cloud", "register-keys"],
    args: ["--csv", PRESENT],
    files: { "--csv": (file) => ["--csv", file] },
    cloud: ["--csv", PRESENT],
  },
  {
    path: ["cloud", "register-certs"],
    args: ["--csv", PRESENT],
    files: { "--csv": (file) => ["--csv", file] },
    cloud: ["--csv", PRESENT],
  },
  {
    path: ["cloud", "associate"],
    args: ["--device", "nrf-1", "--ownership-code", "c"],
    cloud: ["--device", "nrf-1", "--ownership-code", "c"],
  },
  { path: ["cloud", "dissociate"], args: ["--device", "d"], cloud: ["--device", "d"] },
  {
    path: ["cloud", "create-cert"],
    args: ["--device", "nrf-1", "--ownership-code", "c"],
    cloud: ["--device", "nrf-1", "--ownership-code", "c"],
  },
  {
    path: ["cloud", "state"],
    args: ["--device", "d", "--reported", "{}"],
    files: { "--jwt-key": (file) => ["--device", "d", "--reported", "{}", "--jwt-key", file] },
    cloud: ["--device", "d", "--reported", "{}"],
  },
  { path: ["cloud", "device", "get"], args: ["--device", "d"], cloud: ["--device", "d"] },
  { path: ["cloud", "device", "delete"], args: ["--device", "d"], cloud: ["--device", "d"] },
  { path: ["cloud", "bulk-status"], args: ["some-id"], cloud: ["some-id"] },
  { path: ["jwt", "keygen"], args: ["--device", "dev-1", "--out-dir", "keys"] },
  {
    path: ["jwt", "mint"],
    args: ["--key", PRESENT, "--device", "dev-1"],
    files: {
      "--key": (file) => ["--key", file, "--device", "dev-1"],
      "--batch": (file) => ["--batch", file],
    },
  },
  {
    path: ["jwt", "verify"],
    args: ["--token", "a.b.c", "--key", PRESENT],
    files: {
      "--key": (file) => ["--token", "a.b.c", "--key", file],
      "--cert": (file) => ["--token", "a.b.c", "--cert", file],
    },
  },
  { path: ["jwt", "decode"], args: ["--token", "a.b.c"] },
  {
    path: ["provision"],
    args: ["--port", NO_PORT, "--ca-dir", "ca"],
    files: { "--root-ca": (file) => ["--port", NO_PORT, "--ca-dir", "ca", "--root-ca", file] },
    cloud: ["--port", NO_PORT, "--ca-dir", "ca"],
  },
  {
    path: ["station"],
    args: ["--ports", NO_PORT, "--journal", "station.jsonl", "--ca-dir", "ca"],
    files: {
      "--root-ca": (file) => [
        "--ports",
        NO_PORT,
        "--journal",
        "station.jsonl",
        "--ca-dir",
        "ca",
        "--onboard",
        "none",
        "--root-ca",
        file,
      ],
    },
    cloud: ["--ports", NO_PORT, "--journal", "station.jsonl", "--ca-dir", "ca"],
  },
  { path: ["demo"], args: [] },
  { path: ["line", "status"], args: [] },
  { path: ["line", "export"], args: ["--csv"] },
  { path: ["line", "db", "migrate"], args: [] },
  { path: ["line", "db", "check"], args: [] },
  { path: ["ca", "revoke-station"], args: ["S1"] },
  { path: ["ca", "delegate"], args: ["--root-dir", "root", "--station", "S1", "--out-dir", "s1"] },
  { path: ["line", "dashboard"], args: [] },
  { path: ["gather-tokens"], args: ["--port", NO_PORT, "--csv", "tokens.csv"] },
  { path: ["claim"], args: ["--token", "a.b"] },
  { path: ["provision-remote"], args: ["--port", NO_PORT, "--ca-dir", "ca"] },
];

/** Commands that only group others: run bare, they show their help and exit 2. */
const groups = [
  [],
  ["modem"],
  ["modem", "creds"],
  ["parse"],
  ["sim"],
  ["ca"],
  ["cloud"],
  ["cloud", "device"],
  ["jwt"],
  ["line"],
  ["line", "db"],
];

interface Case {
  name: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  exit: number;
  /** What stderr must say about the mistake. */
  says: RegExp[];
}

const keyed = { NRF_CLOUD_API_KEY: "test-key", NRF_CLOUD_BASE_URL: DEAD_URL };
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function casesFor(spec: CommandSpec): Case[] {
  const name = spec.path.join(" ");
  const cases: Case[] = [
    {
      name: `${name}: unknown option`,
      argv: [...spec.path, ...spec.args, "--no-such-flag"],
      env: keyed,
      exit: ExitCode.USAGE,
      says: [/unknown option '--no-such-flag'/],
    },
  ];
  for (const [flag, args] of Object.entries(spec.files ?? {})) {
    cases.push(
      {
        name: `${name}: missing ${flag} file`,
        argv: [...spec.path, ...args(MISSING)],
        env: keyed,
        exit: ExitCode.USAGE,
        says: [new RegExp(literally(flag)), new RegExp(literally(MISSING)), /ENOENT/],
      },
      {
        name: `${name}: unreadable ${flag} file (a directory)`,
        argv: [...spec.path, ...args(DIRECTORY)],
        env: keyed,
        exit: ExitCode.USAGE,
        says: [new RegExp(literally(flag)), new RegExp(literally(DIRECTORY)), /EISDIR/],
      },
    );
  }
  if (spec.cloud) {
    cases.push(
      {
        name: `${name}: no API key`,
        argv: [...spec.path, ...spec.cloud],
        env: { NRF_CLOUD_BASE_URL: DEAD_URL },
        exit: ExitCode.USAGE,
        says: [/NRF_CLOUD_API_KEY/, /--api-key/],
      },
      {
        name: `${name}: --base-url that is not a URL`,
        argv: [...spec.path, ...spec.cloud, "--base-url", "not a url"],
        env: keyed,
        exit: ExitCode.USAGE,
        says: [/--base-url "not a url" is not a URL/],
      },
    );
  }
  return cases;
}

const cases: Case[] = [
  ...commands.flatMap(casesFor),
  ...groups.map((path) => ({
    name: `${["nrf-provision", ...path].join(" ")}: no command`,
    argv: path,
    env: keyed,
    exit: ExitCode.USAGE,
    says: [/^Usage: nrf-provision/m],
  })),
  {
    name: "cloud device get: NRF_CLOUD_BASE_URL that is not a URL",
    argv: ["cloud", "device", "get", "--device", "d"],
    env: { NRF_CLOUD_API_KEY: "test-key", NRF_CLOUD_BASE_URL: "ftp://example.com" },
    exit: ExitCode.USAGE,
    says: [/NRF_CLOUD_BASE_URL "ftp:\/\/example.com" must be an http:\/\/ or https:\/\/ URL/],
  },
];

const stackTrace = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

function expectCase(testCase: Case, result: CliResult | ChildResult): void {
  const output = `exit ${result.code}\nstdout: ${result.out}\nstderr: ${result.err}`;
  expect(result.code, output).toBe(testCase.exit);
  for (const pattern of testCase.says) expect(result.err, output).toMatch(pattern);
  expect(`${result.out}${result.err}`, output).not.toMatch(stackTrace);
  expect(result.err, output).not.toMatch(/ERR_UNEXPECTED|TypeError/);
}

describe("every command × every command-line mistake (in-process)", () => {
  it("covers every command and every group the CLI has", async () => {
    const leaves: string[] = [];
    const parents: string[] = [];
    const walk = (command: Command, path: string[]) => {
      (command.commands.length === 0 ? leaves : parents).push(path.join(" "));
      for (const sub of command.commands) walk(sub, [...path, sub.name()]);
    };
    walk(
      buildProgram(
        { io: captureIo().io as never, exitCode: ExitCode.OK },
        await allCommandModules(),
      ),
      [],
    );
    expect(commands.map((spec) => spec.path.join(" ")).sort()).toEqual(leaves.sort());
    expect(groups.map((path) => path.join(" ")).sort()).toEqual(parents.sort());
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, testCase) => {
    expectCase(testCase, await runCliCaptured(testCase.argv, { env: testCase.env, cwd: dir }));
  });
});

describe("the same mistakes in the built CLI, as a child process", () => {
  const picked = [
    "modem creds write: missing --file file",
    "jwt verify: unreadable --key file (a directory)",
    "ca issue: missing --csr file",
    "cloud onboard: no API key",
    "provision: no API key",
    "cloud device get: --base-url that is not a URL",
    "provision: unknown option",
    "nrf-provision: no command",
    "nrf-provision cloud: no command",
  ];

  it.each(picked)("%s", async (name) => {
    const testCase = cases.find((c) => c.name === name);
    if (!testCase) throw new Error(`no case ${name}`);
    expectCase(testCase, await runChild(testCase.argv, { env: testCase.env, cwd: dir }));
  });

  it("help asked for exits 0; help for a missing command goes to stderr only", async () => {
    const asked = await runChild(["cloud", "--help"], { cwd: dir });
    expect(asked.code).toBe(0);
    expect(asked.out).toMatch(/^Usage: nrf-provision cloud/);
    const missing = await runChild(["cloud"], { cwd: dir });
    expect(missing.code).toBe(ExitCode.USAGE);
    expect(missing.out).toBe("");
  });
});

describe("an unexpected error (a bug)", () => {
  /** stdin that fails while it is read: what `jwt decode --token -` meets on a broken pipe. */
  const brokenStdin = () =>
    new Readable({
      read() {
        this.destroy(Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" }));
      },
    });

  it("is one line with ERR_UNEXPECTED and exit 1; the stack only with --verbose", async () => {
    const plain = await runCliCaptured(["jwt", "decode", "--token", "-"], {
      stdin: brokenStdin(),
    });
    expect(plain.code).toBe(ExitCode.FAILURE);
    expect(plain.err).toMatch(
      /^error: unexpected: EIO: i\/o error, read .*--verbose.* \[ERR_UNEXPECTED\]\n$/,
    );
    expect(plain.err).not.toMatch(stackTrace);

    const verbose = await runCliCaptured(["jwt", "decode", "--token", "-", "--verbose"], {
      stdin: brokenStdin(),
    });
    expect(verbose.code).toBe(ExitCode.FAILURE);
    expect(verbose.err).toMatch(/^error: unexpected: EIO: i\/o error, read \[ERR_UNEXPECTED\]\n/);
    expect(verbose.err).toMatch(stackTrace);
  });

  it("with --json, is the one JSON document on stdout", async () => {
    const result = await runCliCaptured(["jwt", "decode", "--token", "-", "--json"], {
      stdin: brokenStdin(),
    });
    expect(JSON.parse(result.out)).toMatchObject({
      ok: false,
      error: { code: "ERR_UNEXPECTED", message: "EIO: i/o error, read" },
    });
  });
});

describe("the README's exit-code table", () => {
  it("documents each of these mistakes under exit 2", () => {
    const usage = readmeExitCodes().get(ExitCode.USAGE) ?? "";
    for (const mistake of [
      /unknown command or option/,
      /no command/,
      /missing or unreadable input file/,
      /no API key/,
      /invalid `--base-url`/,
    ]) {
      expect(usage).toMatch(mistake);
    }
  });
});

describe("a port that is not there", () => {
  it("is exit 3, said once in words, without the system call that failed", async () => {
    const caDir = join(dir, "port-test-ca");
    const init = await runCliCaptured(["ca", "init", "--dir", caDir, "--insecure-no-passphrase"], {
      env: {},
    });
    expect(init.code, init.err).toBe(0);
    for (const argv of [
      ["modem", "info", "--port", NO_PORT],
      ["provision", "--port", NO_PORT, "--ca-dir", caDir, "--onboard", "none"],
    ]) {
      const { code, err } = await runCliCaptured(argv, { env: {}, cwd: dir });
      expect(code, err).toBe(ExitCode.DEVICE);
      expect(err).toContain(`cannot open ${NO_PORT}: no such port (ENOENT)`);
      expect(err.match(/nrf-provision ports/g), err).toHaveLength(1);
      expect(err.match(/Next:/g), err).toHaveLength(1);
      expect(err).not.toMatch(/realpath|open '/);
    }
    // The built CLI says the same.
    const child = await runChild(["modem", "info", "--port", NO_PORT], { cwd: dir });
    expect(child.code, child.err).toBe(ExitCode.DEVICE);
    expect(child.err).toBe(
      `error: cannot open ${NO_PORT}: no such port (ENOENT). Next: check the USB cable, and list ` +
        "attached boards with `nrf-provision ports` [ERR_PORT_OPEN]\n",
    );
  });
});
