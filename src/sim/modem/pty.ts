import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type ByteTransport, openSerialTransport } from "../../serial/index.js";
import { SimError } from "../errors.js";
import type { SimModemOptions } from "./options.js";
import { SimModem } from "./sim-modem.js";

const LINK_WAIT_MS = 5_000;

/**
 * Runs socat under a small shell watchdog: when our end of the shell's stdin closes (close(), or
 * this process dying, even by SIGKILL) it stops socat, so no orphaned PTY pairs stay behind.
 * The shell itself exits as soon as socat does.
 */
// (Background jobs of a non-interactive shell get /dev/null as stdin, hence the copy on fd 3.)
const socatUnderWatchdog =
  'exec 3<&0; socat "$@" & pid=$!; (read -r _ <&3; kill "$pid" 2>/dev/null) & wait "$pid"';

/** Whether `socat` can be run (needed for the pseudo-terminal pair). */
export function socatAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("socat", ["-V"], { stdio: "ignore" });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}

/**
 * The modem end of the PTY pair, opened like a host opens a board (so it also notices the pair
 * going away). `disconnect` (the drop-link fault) also removes the pair, so the host's end sees
 * the hang-up.
 */
async function openModemEnd(
  path: string,
  removePair: () => Promise<void>,
): Promise<ByteTransport & { disconnect(): void }> {
  const transport = await openSerialTransport(path, { rtscts: false });
  return Object.assign(transport, {
    disconnect: () => void transport.close().then(removePair),
  });
}

async function waitForLinks(
  paths: string[],
  socat: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + LINK_WAIT_MS;
  while (!paths.every((path) => existsSync(path))) {
    if (socat.exitCode !== null || Date.now() > deadline) {
      throw new SimError(
        "ERR_SIM_PTY",
        `socat did not create the pseudo-terminal pair (${paths.join(", ")}): ${stderr().trim() || "no output"}`,
        { details: { paths } },
      );
    }
    await delay(20);
  }
}

/**
 * Runs a simulated modem on a socat pseudo-terminal pair. Returns the user end (`path`, what a
 * host passes as `--port`); the modem serves AT on the other end, opened with `serialport`.
 */
export async function startSimModemOnPty(
  options: SimModemOptions & { linkPath?: string | undefined } = {},
): Promise<{ path: string; modem: SimModem; close(): Promise<void> }> {
  const { linkPath, ...modemOptions } = options;
  const modem = new SimModem(modemOptions);
  const dir = await mkdtemp(join(tmpdir(), "nrf-provision-sim-"));
  const userPath = linkPath ?? join(dir, "user");
  const modemPath = join(dir, "modem");
  const socat = spawn(
    "sh",
    [
      "-c",
      socatUnderWatchdog,
      "sh",
      "-d",
      "-d",
      `pty,raw,echo=0,link=${userPath}`,
      `pty,raw,echo=0,link=${modemPath}`,
    ],
    { stdio: ["pipe", "ignore", "pipe"] },
  );
  let socatOutput = "";
  socat.stderr?.on("data", (chunk) => {
    socatOutput += String(chunk);
  });
  const spawnError = new Promise<never>((_, reject) =>
    socat.once("error", (error) =>
      reject(
        new SimError(
          "ERR_SIM_PTY",
          `cannot run socat via sh: ${error.message}; install socat (apt-get install socat)`,
          { cause: error },
        ),
      ),
    ),
  );
  const stopSocat = async () => {
    const exited =
      socat.exitCode === null && socat.signalCode === null
        ? new Promise((resolve) => socat.once("exit", resolve))
        : Promise.resolve();
    socat.stdin?.end(); // the watchdog stops socat
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitForLinks([userPath, modemPath], socat, () => socatOutput), spawnError]);
    const transport = await openModemEnd(modemPath, stopSocat);
    const detach = modem.attach(transport);
    let closing: Promise<void> | undefined;
    return {
      path: userPath,
      modem,
      close: () => {
        closing ??= (async () => {
          detach();
          await transport.close();
          await stopSocat();
        })();
        return closing;
      },
    };
  } catch (error) {
    await stopSocat();
    throw error;
  }
}
