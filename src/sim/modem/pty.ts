import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { SerialPort } from "serialport";
import { NrfProvisionError } from "../../errors/index.js";
import type { ByteTransport } from "../../serial/index.js";
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
 * The modem end of the PTY pair as a ByteTransport (the sim's own: no dependency on src/serial's).
 * `disconnect` (the drop-link fault) also removes the pair, so the host's end sees the hang-up.
 */
function serialPortTransport(
  port: SerialPort,
  name: string,
  removePair: () => Promise<void>,
): ByteTransport & { disconnect(): void } {
  let open = true;
  const close = () =>
    new Promise<void>((resolve) => {
      if (!port.isOpen) return resolve();
      port.close(() => resolve());
    });
  const closeListeners = new Set<(error?: Error) => void>();
  port.once("close", (error?: Error) => {
    open = false;
    for (const listener of closeListeners) listener(error ?? undefined);
    closeListeners.clear();
  });
  return {
    name,
    get isOpen() {
      return open;
    },
    write: (data) =>
      new Promise((resolve, reject) => {
        port.write(typeof data === "string" ? Buffer.from(data) : Buffer.from(data), (error) =>
          error ? reject(error) : resolve(),
        );
      }),
    onData: (listener) => {
      const onData = (chunk: Buffer) => listener(new Uint8Array(chunk));
      port.on("data", onData);
      return () => port.off("data", onData);
    },
    onClose: (listener) => {
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
    close,
    disconnect: () => void close().then(removePair),
  };
}

async function waitForLinks(
  paths: string[],
  socat: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + LINK_WAIT_MS;
  while (!paths.every((path) => existsSync(path))) {
    if (socat.exitCode !== null || Date.now() > deadline) {
      throw new NrfProvisionError(
        "ERR_SIM_PTY",
        `socat did not create the pseudo-terminal pair (${paths.join(", ")}): ${stderr().trim() || "no output"}`,
        { details: { paths } },
      );
    }
    await delay(20);
  }
}

function openPort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    port.open((error) => (error ? reject(error) : resolve(port)));
  });
}

/**
 * Runs a simulated modem on a socat pseudo-terminal pair. Returns the user end (`path`, what a
 * host passes as `--port`); the modem serves AT on the other end, opened with `serialport`.
 */
export async function startSimModemOnPty(
  options: SimModemOptions & { linkPath?: string } = {},
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
        new NrfProvisionError(
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
    const port = await openPort(modemPath);
    const transport = serialPortTransport(port, modemPath, stopSocat);
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
