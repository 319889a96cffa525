import { type AtClient, AtError } from "../../at/index.js";
import type { DeviceCommand, DeviceResponse } from "./codec.js";

// Running one batch on the modem the way nrf_provisioning_codec.c does (reference §3.5):
// verbose errors on, offline before the first AT command, commands in order until the first
// error, `ignoreCme` codes counted as success, `finished` acknowledged only when nothing
// failed, then CMEE and the functional mode put back.

/** `+CFUN` modes in which credentials may be written (the modem refuses others with CME 518). */
const OFFLINE_MODES = [0, 4, 44];

export interface BatchOptions {
  /** Largest modem answer kept (the codec's buffer grows to 4096 bytes; above: "too big"). */
  maxResponseBytes: number;
  /** The device's Zephyr settings, where config commands land. */
  settings: Map<string, string>;
  log: (text: string) => void;
}

export interface BatchResult {
  responses: DeviceResponse[];
  /** The batch held `finished` and everything before it succeeded (finished_ack sent). */
  finished: boolean;
  failure?: { correlationId: string; cmeError: number; message: string };
  /** Correlation ID of the last command that succeeded: the next poll's `after`. */
  lastSucceeded?: string;
}

async function readNumber(at: AtClient, command: string, prefix: string): Promise<number> {
  const response = await at.send(command, { responsePrefix: prefix });
  const line = response.lines.find((candidate) => candidate.startsWith(prefix)) ?? "";
  return Number(line.slice(prefix.length).trim());
}

/** One AT command: `AT<set>=<params>` → at_response, or error_response unless the CME code is ignored. */
async function runAtCommand(
  at: AtClient,
  command: Extract<DeviceCommand, { kind: "at" }>,
  options: BatchOptions,
): Promise<DeviceResponse> {
  const { correlationId } = command;
  try {
    const response = await at.send(`AT${command.setCommand}=${command.parameters}`, {
      timeoutMs: 120_000,
    });
    const message = response.lines.join("\r\n");
    if (Buffer.byteLength(message) > options.maxResponseBytes) {
      return { kind: "error", correlationId, cmeError: 0, message: "Key or CSR too big" };
    }
    return { kind: "at", correlationId, message };
  } catch (error) {
    if (!(error instanceof AtError)) throw error;
    const cme = error.details.cme;
    if (error.code === "ERR_AT_CME" && typeof cme === "number") {
      if (command.ignoreCme.includes(cme)) {
        options.log(`AT${command.setCommand}: CME ERROR ${cme} ignored, as the command asks`);
        return { kind: "at", correlationId, message: "" };
      }
      return { kind: "error", correlationId, cmeError: cme, message: `+CME ERROR: ${cme}` };
    }
    if (error.code === "ERR_AT_ERROR")
      return { kind: "error", correlationId, cmeError: 0, message: "ERROR" };
    throw error;
  }
}

/** Runs a decoded batch; the modem's CMEE and functional mode are restored whatever happens. */
export async function executeBatch(
  at: AtClient,
  commands: readonly DeviceCommand[],
  options: BatchOptions,
): Promise<BatchResult> {
  const cmeeBefore = await readNumber(at, "AT+CMEE?", "+CMEE:");
  if (cmeeBefore !== 1) await at.send("AT+CMEE=1");
  let modeBefore: number | undefined;
  const result: BatchResult = { responses: [], finished: false };
  let finishedId: string | undefined;
  try {
    for (const command of commands) {
      if (command.kind === "finished") {
        finishedId = command.correlationId;
        continue;
      }
      let response: DeviceResponse;
      if (command.kind === "config") {
        for (const [key, value] of command.settings) options.settings.set(key, value);
        response = { kind: "config-ack", correlationId: command.correlationId };
      } else {
        modeBefore ??= await goOffline(at, options);
        response = await runAtCommand(at, command, options);
      }
      result.responses.push(response);
      if (response.kind === "error") {
        result.failure = response;
        break;
      }
      result.lastSucceeded = command.correlationId;
    }
  } finally {
    if (cmeeBefore !== 1) await at.send(`AT+CMEE=${cmeeBefore}`).catch(() => {});
    if (modeBefore !== undefined && !OFFLINE_MODES.includes(modeBefore)) {
      options.log("LTE link activated again");
      await at.send(`AT+CFUN=${modeBefore}`);
    }
  }
  if (finishedId !== undefined && result.failure === undefined) {
    result.responses.push({ kind: "finished-ack", correlationId: finishedId });
    result.finished = true;
    result.lastSucceeded = finishedId;
  }
  return result;
}

/** NEED_LTE_DEACTIVATED: the modem goes to CFUN=4 before the first AT command; returns the mode it had. */
async function goOffline(at: AtClient, options: BatchOptions): Promise<number> {
  const mode = await readNumber(at, "AT+CFUN?", "+CFUN:");
  if (!OFFLINE_MODES.includes(mode)) {
    options.log("LTE link deactivated for provisioning");
    await at.send("AT+CFUN=4");
  }
  return mode;
}
