import { ProvisioningError } from "./errors.js";
import type { ProvisioningCommand } from "./schemas.js";

/** PENDING and IN_PROGRESS are the only non-final statuses utils knows (reference §1.5). */
export const NON_FINAL_COMMAND_STATUSES: readonly string[] = ["PENDING", "IN_PROGRESS"];

export interface WaitForCommandOptions {
  /** Overall limit (default 5 min): utils waits forever (reference §5.7), this does not. */
  timeoutMs?: number | undefined;
  /** Between polls (default 5 s, as utils). */
  pollIntervalMs?: number | undefined;
  /** Each status read, e.g. for progress. */
  onPoll?: (command: ProvisioningCommand) => void;
  /** Stops waiting (ERR_PROVISIONING_WAIT_TIMEOUT with `aborted`); the command goes on. */
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** True while a command's status is one utils keeps polling for. */
export function isCommandPending(command: ProvisioningCommand): boolean {
  return command.status === undefined || NON_FINAL_COMMAND_STATUSES.includes(command.status);
}

/**
 * Polls a command until its status is final (anything but PENDING / IN_PROGRESS) and returns
 * it; the caller judges the final status (its names are not documented: reference §1.5).
 */
export async function waitForCommand(
  client: { getCommand(uuid: string, id: string): Promise<ProvisioningCommand> },
  deviceUuid: string,
  commandId: string,
  options: WaitForCommandOptions & Required<Pick<WaitForCommandOptions, "now" | "sleep">>,
): Promise<ProvisioningCommand> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const interval = Math.max(1, options.pollIntervalMs ?? 5_000);
  const deadline = options.now() + timeoutMs;
  for (;;) {
    const command = await client.getCommand(deviceUuid, commandId);
    options.onPoll?.(command);
    if (!isCommandPending(command)) return command;
    const remaining = deadline - options.now();
    if (remaining <= 0 || options.signal?.aborted) {
      const why = options.signal?.aborted ? "stopped waiting" : `gave up after ${timeoutMs} ms`;
      throw new ProvisioningError(
        "ERR_PROVISIONING_WAIT_TIMEOUT",
        `Provisioning command ${commandId} for device ${deviceUuid} is still ${command.status ?? "without a status"}: ${why}. The device runs it when it next polls the service: trigger it (shell \`nrf_provisioning now\`, AT#PROVSTART, or a reboot), then check it again.`,
        {
          details: {
            deviceUuid,
            commandId,
            status: command.status ?? null,
            timeoutMs,
            aborted: options.signal?.aborted === true,
          },
        },
      );
    }
    await options.sleep(Math.min(interval, remaining));
  }
}
