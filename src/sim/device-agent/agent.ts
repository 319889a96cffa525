import { type AtClient, openAtClient } from "../../at/index.js";
import { createMemoryTransportPair } from "../../serial/index.js";
import type { SimModem } from "../modem/index.js";
import { type DeviceAgentOptions, runProvisioningSession, type SessionResult } from "./session.js";

/** The firmware's log line for each way a session ends (sdk-nrf sample and library). */
const outcomeLog: Record<SessionResult["outcome"], ["inf" | "wrn" | "err", string]> = {
  finished: ["inf", "Provisioning done"],
  "no-commands": ["inf", "No commands to process on server side"],
  "not-claimed": ["wrn", "Unauthorized access: device is not yet claimed"],
  "no-valid-time": ["err", "Modem does not have valid date/time, JWT not generated"],
  "too-many-commands": ["err", "Too many commands for the device"],
  failed: ["err", "Provisioning failed"],
};

/** The simulated device's nrf_provisioning client, started by the board's triggers. */
export interface DeviceAgent {
  /** Starts a session, or one more after the running one; false when one is already waiting. */
  trigger(source: "shell" | "at" | "api"): boolean;
  readonly running: boolean;
  /** Every finished session's result, oldest first. */
  readonly results: readonly SessionResult[];
  /** The running session's result (or the last one when idle). */
  idle(): Promise<SessionResult | undefined>;
  /** The device's Zephyr settings written by config commands. */
  readonly settings: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

/**
 * Runs the device side of nRF Cloud provisioning on a simulated board: its own AT channel to
 * the modem (the real AT client, as the library uses `nrf_modem_at_cmd`), triggered by the
 * shell's `nrf_provisioning now` or `AT#PROVSTART`. Log lines go to the board's links.
 */
export async function startDeviceAgent(
  modem: SimModem,
  options: DeviceAgentOptions & { onResult?: (result: SessionResult) => void },
): Promise<DeviceAgent> {
  const [appEnd, modemEnd] = createMemoryTransportPair(["nrf_modem_at", "modem"]);
  const detach = modem.attachInternal(modemEnd);
  const at: AtClient = await openAtClient(appEnd, { mode: "at", enableCmee: false, flushMs: 0 });
  const state = { after: "", settings: new Map<string, string>() };
  const results: SessionResult[] = [];
  let current: Promise<SessionResult> | undefined;
  const log = (level: "inf" | "wrn" | "err", text: string) =>
    modem.log(level, "nrf_provisioning", text);
  const run = async (): Promise<SessionResult> => {
    const result = await runProvisioningSession(at, { ...options, log }, state);
    const [level, text] = outcomeLog[result.outcome];
    log(
      level,
      result.outcome === "finished" || result.outcome === "no-commands"
        ? text
        : `${text}: ${result.message}`,
    );
    results.push(result);
    options.onResult?.(result);
    return result;
  };
  let again = false;
  const start = () => {
    current = run().finally(() => {
      current = undefined;
      if (again) {
        again = false;
        start();
      }
    });
  };
  const agent: DeviceAgent = {
    trigger(source) {
      if (source !== "api") log("inf", "Externally initiated provisioning");
      // Like the library's work item: a trigger during a session runs one more session after it.
      if (current) {
        if (again) return false;
        again = true;
        return true;
      }
      start();
      return true;
    },
    get running() {
      return current !== undefined;
    },
    results,
    idle: async () => {
      while (current) await current;
      return results.at(-1);
    },
    settings: state.settings,
    async close() {
      modem.setProvisioningTrigger(undefined);
      await current?.catch(() => undefined);
      await at.close();
      detach();
    },
  };
  modem.setProvisioningTrigger((source) => agent.trigger(source));
  return agent;
}
