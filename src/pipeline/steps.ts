import { type BoardLabel, ProvisionError } from "./errors.js";

/** The provisioning steps, in the order a fresh board goes through them. */
export const stepNames = [
  "connect",
  "identity",
  "offline",
  "inventory",
  "delete-credentials",
  "keygen",
  "issue",
  "write-root-ca",
  "write-certificate",
  "verify",
  "onboard",
  "restore-mode",
] as const;
export type StepName = (typeof stepNames)[number];

/** How one step went; `note` says why a step was skipped or what it found. */
export interface StepTiming {
  step: StepName;
  ms: number;
  status: "done" | "skipped" | "failed";
  note?: string | undefined;
}

/** Progress of one board, as it happens (the station's live view and JSONL output read these). */
export type StepEvent =
  | { type: "step-start"; board: BoardLabel; step: StepName }
  | { type: "step-end"; board: BoardLabel; timing: StepTiming };

/**
 * Runs a board's steps one after the other: times each, labels failures with the step and the
 * board (see ProvisionError), and keeps the list of timings for the summary.
 */
export class StepRunner {
  readonly timings: StepTiming[] = [];

  constructor(
    /** Filled in as the pipeline learns the IMEI and device ID, so later errors name them. */
    readonly board: BoardLabel,
    private readonly clock: () => number,
    private readonly onEvent: (event: StepEvent) => void = () => {},
  ) {}

  async run<T>(step: StepName, work: () => Promise<T>, note?: (result: T) => string): Promise<T> {
    const started = this.clock();
    this.onEvent({ type: "step-start", board: { ...this.board }, step });
    try {
      const result = await work();
      this.finish({ step, ms: this.clock() - started, status: "done", note: note?.(result) });
      return result;
    } catch (error) {
      const wrapped = ProvisionError.wrap(step, this.board, error);
      this.finish({ step, ms: this.clock() - started, status: "failed", note: wrapped.code });
      throw wrapped;
    }
  }

  /** Records a step the pipeline did not need (e.g. KEYGEN when resuming a journaled board). */
  skip(step: StepName, note: string): void {
    this.finish({ step, ms: 0, status: "skipped", note });
  }

  private finish(timing: StepTiming): void {
    if (timing.note === undefined) delete timing.note;
    this.timings.push(timing);
    this.onEvent({ type: "step-end", board: { ...this.board }, timing });
  }
}
