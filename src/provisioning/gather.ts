import { randomBytes } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import type { AtClient } from "../at/index.js";
import { parseAttestationToken } from "../attest/index.js";
import { TaskPool } from "../concurrency/index.js";
import { NrfProvisionError } from "../errors/index.js";
import { acquireFileLock } from "../file-lock/index.js";
import { readImei, readModel } from "../modem/index.js";
import { ProvisioningError } from "./errors.js";
import { pythonIsoTime, type TokenRow, type TokenRowAction, upsertTokenRow } from "./token-csv.js";

/** Attestation device types 1–3 are nRF9160 SiPs, which cannot be claimed (reference §5.13). */
const NRF9160_DEVICE_TYPES = new Set([1, 2, 3]);

export interface GatheredToken extends TokenRow {
  model: string;
  deviceTypeName: string;
}

function refuseNrf9160(port: string, model: string): never {
  throw new ProvisioningError(
    "ERR_PROVISIONING_MODEL",
    `the modem on ${port} is an ${model}: nRF9160 cannot be claimed by attestation token (nRF91x1 with modem firmware 2.0 or newer can); provision it over AT instead (nrf-provision provision).`,
    { details: { port, model } },
  );
}

/**
 * One board's row for the token file: the model (`AT+CGMM`, nRF9160 refused), the token
 * (`AT%ATTESTTOKEN`, parsed and checked here before it is written) and the IMEI (`AT+CGSN`).
 */
export async function gatherToken(
  at: AtClient,
  now: () => number = Date.now,
): Promise<GatheredToken> {
  const model = await readModel(at);
  if (/nrf9160/i.test(model)) refuseNrf9160(at.portName, model);
  const response = await at.send("AT%ATTESTTOKEN", { responsePrefix: "%ATTESTTOKEN:" });
  const line = response.lines.find((candidate) => candidate.startsWith("%ATTESTTOKEN:"));
  const token = line === undefined ? undefined : /"([^"]*)"/.exec(line)?.[1];
  if (line === undefined || token === undefined) {
    throw new ProvisioningError(
      "ERR_PROVISIONING_MODEL",
      `the modem on ${at.portName} (${model}) answered AT%ATTESTTOKEN without a token; claiming needs modem firmware 2.0 or newer.`,
      { details: { port: at.portName, model, lines: response.lines } },
    );
  }
  const parsed = parseAttestationToken(token);
  if (NRF9160_DEVICE_TYPES.has(parsed.deviceType))
    refuseNrf9160(at.portName, parsed.deviceTypeName);
  const imei = await readImei(at);
  return {
    imei,
    deviceUuid: parsed.deviceUuid,
    token,
    time: pythonIsoTime(now()),
    model,
    deviceTypeName: parsed.deviceTypeName,
  };
}

/**
 * Adds a row to the token file under a lock file (`<file>.lock`, so stations and commands
 * sharing the file never lose a row), written whole to a temporary file and renamed over it.
 */
export async function writeTokenRow(
  file: string,
  row: TokenRow,
  options: { keep: boolean },
): Promise<TokenRowAction> {
  const release = await acquireFileLock(`${file}.lock`);
  try {
    const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    const updated = upsertTokenRow(text, row, { keep: options.keep, file });
    if (updated.action === "kept") return "kept";
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(temporary, updated.text, { mode: 0o644 });
      await rename(temporary, file);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw error;
    }
    return updated.action;
  } finally {
    await release();
  }
}

export type GatherEvent =
  | { type: "board-found"; port: string }
  | { type: "token-gathered"; port: string; row: GatheredToken; action: TokenRowAction }
  | { type: "board-failed"; port: string; code: string; message: string };

export interface GatherSummary {
  gathered: Array<GatheredToken & { port: string; action: TokenRowAction }>;
  failures: Array<{ port: string; code: string; message: string }>;
}

/**
 * Gathers the tokens of many boards (at most `concurrency` at once) into one token file: a
 * failed board is reported and never stops the others. Nothing is claimed: that is `claim`.
 */
export async function gatherTokens(options: {
  ports: readonly string[];
  open: (port: string) => Promise<AtClient>;
  file: string;
  keep: boolean;
  concurrency: number;
  onEvent?: (event: GatherEvent) => void;
  now?: () => number;
}): Promise<GatherSummary> {
  const emit = options.onEvent ?? (() => {});
  const summary: GatherSummary = { gathered: [], failures: [] };
  const pool = new TaskPool(options.concurrency);
  for (const port of new Set(options.ports)) {
    pool.submit(async () => {
      emit({ type: "board-found", port });
      try {
        const at = await options.open(port);
        const row = await gatherToken(at, options.now).finally(() => at.close());
        const action = await writeTokenRow(options.file, row, { keep: options.keep });
        summary.gathered.push({ ...row, port, action });
        emit({ type: "token-gathered", port, row, action });
      } catch (error) {
        const code = error instanceof NrfProvisionError ? error.code : "ERR_UNEXPECTED";
        const failure = {
          port,
          code,
          message: error instanceof Error ? error.message : String(error),
        };
        summary.failures.push(failure);
        emit({ type: "board-failed", ...failure });
      }
    });
  }
  await pool.idle();
  return summary;
}
