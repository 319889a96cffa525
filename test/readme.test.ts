/**
 * Runs every command the README shows, in order, as a user would type them: the built
 * `nrf-provision` binary on PATH, in one shell session that keeps what earlier commands exported
 * and set. The simulators are started exactly as the README tells a user to (its own `sim modem`
 * and `sim cloud` command lines, as child processes), one simulated board per /dev/ttyACM* the
 * README names. Where the README says an example value stands for "your" device ID (or bulk
 * operation ID), the value is taken from the earlier output that printed it, as a reader would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../src/ca/index.js";
import { SimModem } from "../src/sim/modem/index.js";
import { Database } from "../src/store/index.js";
import { type PgCluster, startPgCluster } from "./store/pg-cluster.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const readme = await readFile(join(repo, "README.md"), "utf8");

/** Each ```sh block of the README, split into commands (continuation lines joined). */
function readmeShellBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  for (const match of markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const commands = (match[1] ?? "")
      .replace(/\\\n\s*/g, " ")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    blocks.push(commands);
  }
  return blocks;
}

/** The README's prose paragraphs (code blocks left out). */
function readmeParagraphs(markdown: string): string[] {
  return markdown
    .replace(/^```[\s\S]*?^```/gm, "")
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s+/g, " "));
}

/**
 * Example values the README tells the reader to replace with their own, and where the reader
 * finds theirs: the output of an earlier command.
 */
const yours = [
  {
    example: "352656100367872",
    printedBy: /^nrf-provision modem info\b/,
    read: /IMEI:\s+(\d{15})/,
  },
  {
    example: "50363154-3931-44f0-8022-121b6401627d",
    printedBy: /^nrf-provision modem info\b/,
    read: /device UUID:\s+([0-9a-f-]{36})/,
  },
  {
    example: "01FP9690MHBTMBHBMER0HWABCD",
    printedBy: /^nrf-provision cloud register-certs\b.*--wait/,
    read: /^([0-9A-HJKMNP-TV-Z]{26}) REGISTER_CERTIFICATES: SUCCEEDED/m,
  },
];

/** One simulated board per port the README names. */
const boardPorts = [
  "ttyACM0",
  "ttyACM2",
  "ttyACM4",
  "ttyACM6",
  "ttyACM8",
  "ttyACM10",
  "ttyACM12",
  "ttyACM14",
];
/** The line's database as the README names it; the test's own throwaway cluster stands in. */
const readmeStoreUrl = "postgres://postgres@127.0.0.1:5432/line";
const longRunning = /^nrf-provision sim (modem|cloud|provisioning)\b/;
/** Boards running the device side of nrf_provisioning, and the `--board-seed` each has. */
const remoteBoards = [
  { port: "ttyACM16", seed: "remote-1" },
  { port: "ttyACM18", seed: "remote-2" },
];

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The reader's terminal: one bash that runs one command at a time (read from fd 3, so stdin
 * stays free and is /dev/null for every command) and reports its exit status.
 */
class ReaderShell {
  private readonly child: ChildProcess;
  private stdout = "";
  private stderr = "";
  private waiting: (() => void) | null = null;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    const loop = [
      "set -o pipefail",
      "export PS4='+ '",
      "while IFS= read -r -u 3 __command; do",
      '  eval "$__command" </dev/null',
      "  __status=$?",
      "  printf '\\n__README_DONE__ %d\\n' \"$__status\"",
      "  printf '\\n__README_DONE__\\n' >&2",
      "done",
    ].join("\n");
    this.child = spawn("bash", ["--noprofile", "--norc", "-c", loop], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (chunk) => this.received(() => (this.stdout += chunk)));
    this.child.stderr?.on("data", (chunk) => this.received(() => (this.stderr += chunk)));
  }

  private received(append: () => void): void {
    append();
    this.waiting?.();
  }

  async run(command: string): Promise<RunResult> {
    const input = this.child.stdio[3] as NodeJS.WritableStream;
    input.write(`${command}\n`);
    const done = /\n__README_DONE__ (\d+)\n/;
    const stderrDone = "\n__README_DONE__\n";
    while (!done.test(this.stdout) || !this.stderr.includes(stderrDone)) {
      if (this.child.exitCode !== null) throw new Error(`the shell exited: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
    const match = done.exec(this.stdout) as RegExpExecArray;
    const stderrEnd = this.stderr.indexOf(stderrDone);
    const result = {
      code: Number(match[1]),
      stdout: this.stdout.slice(0, match.index),
      stderr: this.stderr.slice(0, stderrEnd),
    };
    this.stdout = this.stdout.slice(match.index + match[0].length);
    this.stderr = this.stderr.slice(stderrEnd + stderrDone.length);
    return result;
  }

  close(): void {
    (this.child.stdio[3] as NodeJS.WritableStream).end();
  }
}

/** A long-running command started in bash (exec'd, so signals reach it) until `stop()`. */
function startLongRunning(command: string, cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn("bash", ["-c", `exec ${command}`], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    /** Waits until it says "Press Ctrl-C to stop." (it is ready); returns what it printed. */
    async ready(): Promise<string> {
      while (!stdout.includes("Press Ctrl-C to stop.")) {
        if (child.exitCode !== null) throw new Error(`${command} exited: ${stdout}${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return stdout;
    },
    /** Ctrl-C, then its exit code. */
    async stop(): Promise<number | null> {
      if (child.exitCode === null) child.kill("SIGINT");
      return exit;
    },
  };
}

describe("every command in the README", () => {
  let sandbox: string;
  let env: NodeJS.ProcessEnv;
  let shell: ReaderShell;
  const simulators: Array<ReturnType<typeof startLongRunning>> = [];
  let apiKey = "";
  let cluster: PgCluster | undefined;
  let storeUrl = "";
  /** Example value → the reader's own, once earlier output has printed it. */
  const own = new Map<string, string>();

  /** The README's sim command for `kind`, exactly as written (`--provisioning`: the nRF91x1 board). */
  function readmeSimCommand(
    kind: "modem" | "cloud" | "provisioning",
    provisioning = false,
  ): string {
    const command = readmeShellBlocks(readme)
      .flat()
      .find(
        (line) =>
          line.startsWith(`nrf-provision sim ${kind} `) &&
          (kind !== "modem" || / --provisioning\b/.test(line) === provisioning),
      );
    if (!command) throw new Error(`the README shows no \`nrf-provision sim ${kind}\` command`);
    return command;
  }

  /** Rewrites the README's device paths to the sandbox's and examples to the reader's own. */
  function localise(command: string): string {
    let local = command
      .replace(/(--ports?) auto\b/g, "$1 /dev/ttyACM0")
      .replace(/(^|[\s=,])\/dev\/(ttyACM\d+)/g, `$1${sandbox}/dev/$2`)
      .replace(/\/tmp\/nrf91-sim/g, `${sandbox}/nrf91-sim`)
      .replace(/(^|\s)scripts\//g, `$1${repo}scripts/`)
      .replace(/export NRF_CLOUD_API_KEY=.*$/g, `export NRF_CLOUD_API_KEY=${apiKey}`)
      .replaceAll(readmeStoreUrl, storeUrl);
    for (const { example } of yours) {
      if (!local.includes(example)) continue;
      const value = own.get(example);
      if (value === undefined) {
        throw new Error(`"${command}" uses ${example} before any earlier output printed yours`);
      }
      local = local.replaceAll(example, value);
    }
    return local;
  }

  beforeAll(async () => {
    const binary = join(repo, "bin", "nrf-provision.js");
    if (!existsSync(join(repo, "dist", "cli", "run.js"))) {
      throw new Error("dist/ is missing: run `npm run build` (npm test does it first)");
    }
    sandbox = await mkdtemp(join(tmpdir(), "nrf-provision-readme-"));
    // The "Production line" section's PostgreSQL, with the empty database it starts from.
    cluster = await startPgCluster();
    storeUrl = cluster.url(await cluster.createDatabase("line"));
    await mkdir(join(sandbox, "bin"));
    await mkdir(join(sandbox, "dev"));
    const wrapper = join(sandbox, "bin", "nrf-provision");
    await writeFile(wrapper, `#!/bin/sh\nexec node "${binary}" "$@"\n`);
    await chmod(wrapper, 0o755);
    const baseEnv = { PATH: `${join(sandbox, "bin")}:${process.env.PATH}`, HOME: sandbox };

    // The simulated nRF Cloud, started with the README's command; its printed URL and key
    // are what the reader exports.
    const cloud = startLongRunning(readmeSimCommand("cloud"), sandbox, baseEnv);
    simulators.push(cloud);
    // One board per port, each with the README's `sim modem` command: its own link and seed.
    const modemCommand = readmeSimCommand("modem");
    for (const name of boardPorts) {
      const command = modemCommand
        .replace(/--link \S+/, `--link ${join(sandbox, "dev", name)}`)
        .replace(/--seed \S+/, `--seed readme-${name}`);
      simulators.push(startLongRunning(command, sandbox, baseEnv));
    }
    const printed = await cloud.ready();
    await Promise.all(simulators.map((simulator) => simulator.ready()));
    const baseUrl = /export NRF_CLOUD_BASE_URL=(\S+)/.exec(printed)?.[1];
    apiKey = /export NRF_CLOUD_API_KEY=(\S+)/.exec(printed)?.[1] ?? "";
    expect(baseUrl, printed).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(apiKey).toBe("rehearsal-key");
    env = { ...baseEnv, NRF_CLOUD_BASE_URL: baseUrl, NRF_CLOUD_API_KEY: apiKey };
    // The simulated Provisioning Service, with the README's command, trusting the boards above
    // and the nRF91x1 boards below; it registers auto-onboarded keys with the cloud in `env`.
    const seeds = [
      ...boardPorts.map((name) => `readme-${name}`),
      ...remoteBoards.map(({ seed }) => seed),
    ].join(",");
    const provisioning = startLongRunning(
      readmeSimCommand("provisioning").replace(/--board-seed \S+/, `--board-seed ${seeds}`),
      sandbox,
      env,
    );
    simulators.push(provisioning);
    const provisioningUrl = /export NRF_PROVISIONING_BASE_URL=(\S+)/.exec(
      await provisioning.ready(),
    )?.[1];
    expect(provisioningUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    env.NRF_PROVISIONING_BASE_URL = provisioningUrl;
    const remoteCommand = readmeSimCommand("modem", true);
    const remotes = remoteBoards.map(({ port, seed }) =>
      startLongRunning(
        remoteCommand
          .replace(/--link \S+/, `--link ${join(sandbox, "dev", port)}`)
          .replace(/--seed \S+/, `--seed ${seed}`),
        sandbox,
        env,
      ),
    );
    simulators.push(...remotes);
    await Promise.all(remotes.map((remote) => remote.ready()));
    shell = new ReaderShell(sandbox, env);
  }, 120_000);

  afterAll(async () => {
    shell?.close();
    const codes = await Promise.all(simulators.map((simulator) => simulator.stop()));
    expect(codes.every((code) => code === 0)).toBe(true);
    if (sandbox) await rm(sandbox, { recursive: true, force: true });
    await cluster?.destroy();
  }, 60_000);

  it("names each example that stands for the reader's own value as theirs", () => {
    const paragraphs = readmeParagraphs(readme);
    for (const { example } of yours) {
      expect(
        paragraphs.some((p) => p.includes(`\`${example}\``) && /\byours?\b/.test(p)),
        `no README paragraph says \`${example}\` stands for yours`,
      ).toBe(true);
    }
  });

  it("runs them all, in order, against the simulators started as the README says", async () => {
    const blocks = readmeShellBlocks(readme);
    let executed = 0;
    for (const block of blocks) {
      const [first] = block;
      if (first === "npm ci && npm run demo") {
        // The first of the README's two commands (npm ci is what CI itself runs first).
        const result = await shell.run(`(cd ${repo} && npm run --silent demo)`);
        expect(result.stderr + result.stdout).not.toMatch(/error/i);
        expect(result.code, result.stderr).toBe(0);
        expect(block[1]).toBe("npm test"); // the second is the command running this test
        executed += 2;
        continue;
      }
      if (first === "npm install -g nrf-provision") {
        // Install: test/package.test.ts installs the packed tarball into an empty project
        // (the registry has no unreleased version) and runs `npx nrf-provision --help` there.
        expect(block).toEqual(["npm install -g nrf-provision", "nrf-provision --help"]);
        executed += 2;
        continue;
      }
      for (const command of block) {
        if (longRunning.test(command)) {
          // Shown to be started by hand: it starts, says where it listens, and stops on Ctrl-C.
          const simulator = startLongRunning(localise(command), sandbox, env);
          expect(await simulator.ready()).toMatch(/tmp|http:\/\/127\.0\.0\.1/);
          expect(await simulator.stop(), command).toBe(0);
        } else {
          const result = await shell.run(localise(command));
          expect(
            result.code,
            `README command failed: ${command}\n${result.stdout}\n${result.stderr}`,
          ).toBe(0);
          for (const { example, printedBy, read } of yours) {
            const value = printedBy.test(command) ? read.exec(result.stdout)?.[1] : undefined;
            if (value !== undefined && !own.has(example)) own.set(example, value);
          }
        }
        executed += 1;
      }
    }
    expect(executed).toBe(blocks.flat().length);
    expect(executed).toBeGreaterThan(40);
    // Every example was replaced by the reader's own value.
    expect([...own.keys()].sort()).toEqual(yours.map((y) => y.example).sort());

    // What the commands did, seen from the simulated nRF Cloud and the files they left.
    const imeiDevice = `nrf-${own.get("352656100367872")}`;
    const uuid = own.get("50363154-3931-44f0-8022-121b6401627d") ?? "";
    const ledger = await readLedger(join(sandbox, "ca", "ledger.jsonl"));
    const deviceIds = new Set(ledger.entries.map((entry) => entry.deviceId));
    expect(deviceIds).toContain(imeiDevice);
    expect(deviceIds).toContain(uuid);
    const fetchDevice = async (id: string) =>
      fetch(`${env.NRF_CLOUD_BASE_URL}/devices/${id}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
    const board = await fetchDevice(imeiDevice);
    expect(board.status).toBe(200);
    expect(await board.json()).toMatchObject({
      firmware: { supports: ["APP", "MODEM"] },
      state: { reported: { test: { run: 2 } } },
    });
    const software = await fetchDevice("my-dev");
    expect(await software.json()).toMatchObject({
      cloudMqttEnabled: false,
      state: { reported: { test: { run: 1 } } },
    });
    expect((await fetchDevice(uuid)).status).toBe(404); // deleted by `cloud device delete`
    // provision-remote: the nRF91x1 board's certificate in the ledger; the auto-onboarded board
    // on the simulated nRF Cloud (the service registered its key there).
    const [remote, autoOnboarded] = remoteBoards.map(
      ({ seed }) => new SimModem({ seed }).deviceUuid,
    );
    expect(deviceIds).toContain(remote);
    expect((await fetchDevice(autoOnboarded as string)).status).toBe(200);
    const tokens = (await readFile(join(sandbox, "tokens.jsonl"), "utf8")).trim().split("\n");
    expect(tokens).toHaveLength(10);
    // gather-tokens (one board) and station --gather-tokens (two): three rows, Nordic's format.
    const gathered = (await readFile(join(sandbox, "tokens.csv"), "utf8")).trim().split("\n");
    expect(gathered).toHaveLength(3);
    for (const row of gathered)
      expect(row).toMatch(/^\d{15},[0-9a-f-]{36},[\w-]+\.[\w-]+,\S+\+00:00$/);
    const saved = await readFile(join(sandbox, "devices", imeiDevice, "device.json"), "utf8");
    expect(JSON.parse(saved)).toMatchObject({ deviceId: imeiDevice });

    // The production line's station left both of its boards done in the shared store.
    const line = new Database(storeUrl);
    const states = await line.query<{ state: string; onboarding: string }>(
      "SELECT state, onboarding FROM devices",
    );
    await line.close();
    expect(states).toEqual([
      { state: "done", onboarding: "succeeded" },
      { state: "done", onboarding: "succeeded" },
    ]);
  }, 900_000);
});
