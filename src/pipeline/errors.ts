import {
  type ErrorCode,
  isNrfProvisionError,
  NrfProvisionError,
  type NrfProvisionErrorOptions,
} from "../errors/index.js";
import type { StepName, StepTiming } from "./steps.js";

/** Stable codes of the pipeline's own failures (the exit code of each is in `cli/exit-codes.ts`). */
export type PipelineErrorCode =
  // A step failed with an error no lower layer classified; the step is `details.step`.
  // The two steps that are not on the board keep codes of their own, so they exit 4 and 5.
  | "ERR_PROVISION_STEP_FAILED"
  | "ERR_PROVISION_ISSUE"
  | "ERR_PROVISION_ONBOARD"
  // The pipeline's checks of the board.
  | "ERR_PROVISION_SEC_TAG_IN_USE"
  | "ERR_PROVISION_DEVICE_ID_MISMATCH"
  | "ERR_PROVISION_VERIFY"
  // The station: its journal, its onboarding CSV, the devices it could not finish.
  | "ERR_PROVISION_JOURNAL"
  | "ERR_PROVISION_JOURNAL_CORRUPT"
  | "ERR_PROVISION_JOURNAL_IN_USE"
  | "ERR_PROVISION_CSV_DUPLICATE"
  | "ERR_PROVISION_CSV_LOCKED"
  | "ERR_PROVISION_NOT_IN_LEDGER"
  | "ERR_PROVISION_NOT_ONBOARDED"
  | "ERR_PROVISION_UNFINISHED"
  /** Recorded for an onboarding failure that was no NrfProvisionError. */
  | "ERR_CLOUD_UNEXPECTED"
  // A root CA file or a device ID given by the caller that cannot be used.
  | "ERR_USAGE";

/** A failure of the pipeline's own (outside one board's steps: journal, CSV, inputs). */
export class PipelineError extends NrfProvisionError<PipelineErrorCode> {}

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
 * carry `PipelineErrorCode`s; any other failure of a step `ERR_PROVISION_STEP_FAILED` (or
 * `ERR_PROVISION_ISSUE` / `ERR_PROVISION_ONBOARD`, see `unclassifiedCodeByStep`).
 */
export class ProvisionError extends NrfProvisionError<ErrorCode> {
  readonly step: StepName;
  readonly board: BoardLabel;
  /** The steps run on the board up to and including the failed one (for summaries). */
  timings: StepTiming[] = [];

  constructor(
    step: StepName,
    board: BoardLabel,
    code: ErrorCode,
    readonly reason: string,
    readonly options: NrfProvisionErrorOptions & {
      /** What to do; null when `reason` already says it (the step's advice is not repeated). */
      advice?: string | null | undefined;
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
    if (isNrfProvisionError(error)) {
      // A lower error whose message already says what to do (details.advice) keeps only that.
      return new ProvisionError(step, board, error.code, error.message, {
        cause: error,
        details: { ...error.details, causeCode: error.code },
        advice: typeof error.details.advice === "string" ? null : undefined,
      });
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new ProvisionError(step, board, unclassifiedCodeByStep[step], reason, {
      cause: error,
    });
  }
}

/**
 * The code of a step failure no lower layer classified. Fixed codes, the step being a field
 * (`step`, `details.step`): the board's steps share one (exit 3); issuing (exit 4) and
 * onboarding (exit 5) fail on other things than the board, so they keep their own.
 */
const unclassifiedCodeByStep: Record<
  StepName,
  "ERR_PROVISION_STEP_FAILED" | "ERR_PROVISION_ISSUE" | "ERR_PROVISION_ONBOARD"
> = {
  connect: "ERR_PROVISION_STEP_FAILED",
  identity: "ERR_PROVISION_STEP_FAILED",
  offline: "ERR_PROVISION_STEP_FAILED",
  inventory: "ERR_PROVISION_STEP_FAILED",
  "delete-credentials": "ERR_PROVISION_STEP_FAILED",
  keygen: "ERR_PROVISION_STEP_FAILED",
  issue: "ERR_PROVISION_ISSUE",
  "write-root-ca": "ERR_PROVISION_STEP_FAILED",
  "write-certificate": "ERR_PROVISION_STEP_FAILED",
  verify: "ERR_PROVISION_STEP_FAILED",
  onboard: "ERR_PROVISION_ONBOARD",
  "restore-mode": "ERR_PROVISION_STEP_FAILED",
};
