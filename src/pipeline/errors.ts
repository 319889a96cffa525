import { NrfProvisionError } from "../errors/index.js";
import type { StepName, StepTiming } from "./steps.js";

/** Who a failure happened to: the port always, the IMEI and device ID once they are known. */
export interface BoardLabel {
  port: string;
  imei?: string;
  deviceId?: string;
}

/** "/dev/ttyACM0 (IMEI 352656100367872, device nrf-352656100367872)" */
export function describeBoard(board: BoardLabel): string {
  const facts = [
    board.imei === undefined ? undefined : `IMEI ${board.imei}`,
    board.deviceId === undefined ? undefined : `device ${board.deviceId}`,
  ].filter((fact) => fact !== undefined);
  return facts.length === 0 ? board.port : `${board.port} (${facts.join(", ")})`;
}

/** What an operator should do when a step fails; appended to the lower layer's own message. */
const adviceByStep: Record<StepName, string> = {
  connect:
    "check the cable and the port (`nrf-provision ports`), and that no other program holds it open",
  identity: "check that the port carries AT (not the trace port) and the modem firmware version",
  offline: "power-cycle the board and run again",
  inventory: "power-cycle the board and run again",
  "delete-credentials": "power-cycle the board and run again",
  keygen:
    "run again (with --replace if the sec tag now holds a key); if it repeats, check the modem firmware (>= 1.3.0)",
  issue: "check the CA directory and its passphrase (NRF_PROVISION_CA_PASSPHRASE)",
  "write-root-ca":
    "run again with --replace, or let the station resume it from its journal; the issued certificate is kept in the CA ledger (`nrf-provision ca ledger`)",
  "write-certificate":
    "run again with --replace, or let the station resume it from its journal; the issued certificate is kept in the CA ledger (`nrf-provision ca ledger`)",
  verify: "run again with --replace; if it repeats, check the line endings of the root CA files",
  onboard:
    "the board itself is provisioned: onboard it later with `nrf-provision cloud onboard` (its certificate is in the CA ledger)",
  "restore-mode": "power-cycle the board to bring it back to its normal mode",
};

/**
 * A provisioning step failed on one board.
 *
 * When a lower layer threw an NrfProvisionError, its `code` is kept (so `ERR_AT_DISCONNECTED`
 * still maps to the device exit code) and its details are merged in; the message is prefixed
 * with the step and the board, and ends with what to do. Failures of the pipeline's own checks
 * carry `ERR_PROVISION_<WHAT>` codes.
 */
export class ProvisionError extends NrfProvisionError {
  readonly step: StepName;
  readonly board: BoardLabel;
  /** The steps run on the board up to and including the failed one (for summaries). */
  timings: StepTiming[] = [];

  constructor(
    step: StepName,
    board: BoardLabel,
    code: string,
    readonly reason: string,
    readonly options: {
      cause?: unknown;
      details?: Record<string, unknown>;
      /** What to do; null when `reason` already says it (the step's advice is not repeated). */
      advice?: string | null;
    } = {},
  ) {
    const advice = options.advice === undefined ? adviceByStep[step] : options.advice;
    super(
      code,
      `${step} failed on ${describeBoard(board)}: ${reason.replace(/\.$/, "")}.${advice === null ? "" : ` Next: ${advice}.`}`,
      {
        cause: options.cause,
        details: { ...options.details, step, ...board },
      },
    );
    this.step = step;
    this.board = { ...board };
  }

  /** The same failure with more facts (e.g. whether the functional mode was restored). */
  withDetails(extra: Record<string, unknown>, note?: string): ProvisionError {
    const reason = note === undefined ? this.reason : `${this.reason.replace(/\.$/, "")}; ${note}`;
    const copy = new ProvisionError(this.step, this.board, this.code, reason, {
      ...this.options,
      details: { ...this.options.details, ...extra },
    });
    copy.timings = this.timings;
    return copy;
  }

  /** Wraps whatever a step threw, keeping a lower layer's code and details visible. */
  static wrap(step: StepName, board: BoardLabel, error: unknown): ProvisionError {
    if (error instanceof ProvisionError) return error;
    if (error instanceof NrfProvisionError) {
      // A lower error whose message already says what to do (details.advice) keeps only that.
      return new ProvisionError(step, board, error.code, error.message, {
        cause: error,
        details: { ...error.details, causeCode: error.code },
        ...(typeof error.details.advice === "string" ? { advice: null } : {}),
      });
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new ProvisionError(step, board, `ERR_PROVISION_${stepCode(step)}`, reason, {
      cause: error,
    });
  }
}

/** "write-root-ca" → "WRITE_ROOT_CA" */
function stepCode(step: StepName): string {
  return step.toUpperCase().replaceAll("-", "_");
}
