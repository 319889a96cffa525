import type { CertificateAuthority } from "../ca/index.js";
import type { CloudClient, WaitForBulkOpsOptions } from "../cloud/index.js";
import { TaskPool } from "../concurrency/index.js";
import { SerialError } from "../serial/index.js";
import type { DeviceIdPolicy } from "./device-id.js";
import { type BoardLabel, PipelineError, ProvisionError } from "./errors.js";
import type { StationJournal } from "./journal.js";
import type { LineUploadQueue } from "./line-uploads.js";
import type { OnboardingFields } from "./onboarder.js";
import { type BoardConnection, type ProvisionResult, provisionBoard } from "./provision.js";
import {
  type OnboardingResult,
  StationOnboarding,
  type StationOnboardMode,
} from "./station-onboarding.js";
import type { StepEvent } from "./steps.js";

/** What happens at a station, as it happens: the live view and `--jsonl` render these. */
export type StationEvent =
  | {
      type: "station-start";
      concurrency: number;
      onboard: StationOnboardMode;
      watch: boolean;
      journal: string;
    }
  | { type: "board-found"; port: string }
  | StepEvent
  | {
      type: "board-done";
      board: BoardLabel;
      outcome: ProvisionResult["outcome"];
      serialNumber: string;
      onboarding: string;
      totalMs: number;
    }
  | { type: "board-failed"; board: BoardLabel; step: string; code: string; message: string }
  /** The station was interrupted: boards in progress finish, queued rows are uploaded. */
  | { type: "station-stopping"; boardsInProgress: number }
  | { type: "onboarding-upload"; bulkOpsRequestId: string; devices: number }
  | ({ type: "onboarding-result" } & OnboardingResult)
  | { type: "station-end"; summary: StationSummary };

/** Options every board gets, as for `provision`. */
export interface StationBoardOptions {
  deviceIdPolicy: DeviceIdPolicy;
  rootCaPem: string;
  secTag?: number;
  replace?: boolean;
  onboardingFields?: OnboardingFields;
  certificateDays?: number;
  saveDir?: string | undefined;
  /** Written after each device certificate in the client-cert slot (`--cert-chain`). */
  certificateChainPem?: string | undefined;
}

export interface StationOptions {
  /** The ports to provision now (and, with `watch`, on every poll: new ones get provisioned). */
  listPorts: () => Promise<string[]>;
  /** Opens one AT client per port (the serial port, or a simulator in tests). */
  connect: (port: string) => BoardConnection;
  ca: CertificateAuthority;
  journal: StationJournal;
  board: StationBoardOptions;
  onboard: StationOnboardMode;
  cloud?: CloudClient | undefined;
  concurrency: number;
  /** Keep polling `listPorts` every `intervalMs` until `interrupted`, which is then the only end. */
  watch?: { intervalMs: number } | undefined;
  interrupted: Promise<void>;
  onEvent?: (event: StationEvent) => void;
  clock?: () => number;
  /** Rows per OnboardDevices request (1000). */
  batchSize?: number | undefined;
  bulkWait?: WaitForBulkOpsOptions;
  /** The line's shared onboarding queue (PostgreSQL store): `batch` uploads go through it. */
  lineQueue?: LineUploadQueue | undefined;
}

export interface StationSummary {
  boards: number;
  succeeded: number;
  failed: number;
  /** Boards provisioned now / resumed / found already provisioned. */
  outcomes: Record<ProvisionResult["outcome"], number>;
  onboarding: { mode: StationOnboardMode; onboarded: number; failed: number };
  failures: Array<{
    port?: string;
    deviceId?: string;
    imei?: string;
    step: string;
    code: string;
    message: string;
  }>;
  interrupted: boolean;
  wallMs: number;
}

/**
 * Provisions many boards at once: each port gets its own AT client, at most `concurrency`
 * run together, and one board's failure never stops the others. Every step is journaled, so
 * a station killed at any moment and started again finishes what was left and re-does
 * nothing (see Journal and StationOnboarding).
 */
export async function runStation(options: StationOptions): Promise<StationSummary> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const emit = options.onEvent ?? (() => {});
  const { journal } = options;
  emit({
    type: "station-start",
    concurrency: options.concurrency,
    onboard: options.onboard,
    watch: options.watch !== undefined,
    journal: journal.path,
  });
  const onboardingResults = new Map<string, OnboardingResult>();
  const onboarding = createOnboarding(options, emit, onboardingResults);
  const run: StationRun = { results: [], boardFailures: [], interrupted: false };
  const pool = new TaskPool(options.concurrency);
  let ended = false;
  options.interrupted.then(() => {
    if (ended) return;
    run.interrupted = true;
    emit({ type: "station-stopping", boardsInProgress: pool.active });
  });
  const provisionPort = (port: string) =>
    provisionStationBoard(port, { options, onboarding, clock, emit, run });

  const ports = options.watch === undefined ? [...new Set(await options.listPorts())] : undefined;
  refuseSharedLiteralId(options.board.deviceIdPolicy, ports);
  const recovered = await onboarding.recover();
  await journal.record({ type: "station-start", pid: process.pid });
  if (ports !== undefined) {
    if (ports.length === 0 && recovered === 0 && journal.histories().length === 0) {
      throw new SerialError(
        "ERR_PORT_NOT_FOUND",
        "no board to provision: no port given and none found; plug the boards in, check `nrf-provision ports`, or use --watch",
      );
    }
    for (const port of ports) pool.submit(() => provisionPort(port));
  } else {
    await watchPorts(options, pool, provisionPort, () => run.interrupted);
  }
  await pool.idle();
  await onboarding.finish();
  const summary = await summarizeStation(options.onboard, run, onboarding, onboardingResults);
  summary.wallMs = clock() - started;
  ended = true;
  emit({ type: "station-end", summary });
  return summary;
}

/** What one station run has seen so far: boards done, boards failed, whether it was stopped. */
interface StationRun {
  results: ProvisionResult[];
  boardFailures: StationSummary["failures"];
  interrupted: boolean;
}

/** The station's onboarding queue, reporting each result and upload as a station event. */
function createOnboarding(
  options: StationOptions,
  emit: (event: StationEvent) => void,
  onboardingResults: Map<string, OnboardingResult>,
): StationOnboarding {
  return new StationOnboarding({
    mode: options.onboard,
    journal: options.journal,
    ledger: options.ca.ledger,
    // With --watch an interruption is the normal end: the last batch still goes out (a second
    // Ctrl-C ends the process; the journal keeps whatever is left for the next run).
    interrupted: options.watch === undefined ? options.interrupted : undefined,
    cloud: options.cloud,
    batchSize: options.batchSize,
    bulkWait: options.bulkWait,
    lineQueue: options.lineQueue,
    rowFields: options.board.onboardingFields,
    onResult: (result) => {
      onboardingResults.set(result.deviceId, result);
      emit({ type: "onboarding-result", ...result });
    },
    onUpload: (upload) => emit({ type: "onboarding-upload", ...upload }),
  });
}

/** Provisions the board on `port`; a failure is recorded (run, event, journal), never thrown. */
async function provisionStationBoard(
  port: string,
  station: {
    options: StationOptions;
    onboarding: StationOnboarding;
    clock: () => number;
    emit: (event: StationEvent) => void;
    run: StationRun;
  },
): Promise<void> {
  const { options, emit, run } = station;
  if (run.interrupted) return;
  emit({ type: "board-found", port });
  try {
    const result = await provisionBoard({
      ...options.board,
      board: options.connect(port),
      ca: options.ca,
      journal: options.journal,
      onboarder: station.onboarding,
      clock: station.clock,
      onEvent: emit,
    });
    run.results.push(result);
    emit({
      type: "board-done",
      board: { port, imei: result.imei, deviceId: result.deviceId },
      outcome: result.outcome,
      serialNumber: result.certificate.serialNumber,
      onboarding: describeOnboarding(result),
      totalMs: result.totalMs,
    });
  } catch (error) {
    const failure = ProvisionError.wrap("connect", { port }, error);
    const reported = { step: failure.step, code: failure.code, message: failure.message };
    run.boardFailures.push({ ...failure.board, ...reported });
    emit({ type: "board-failed", board: failure.board, ...reported });
    await options.journal
      .record({ type: "board-failed", ...failure.board, ...reported })
      .catch(() => {}); // the failure is reported either way; the journal may be the problem
  }
}

/**
 * The verdict comes from the journal's facts, not from what this run happened to see: every
 * device it ever saw must be verified on its modem and (unless none) on nRF Cloud. A device
 * whose board failed in this run is counted once, as that board. `wallMs` is left to the caller.
 */
async function summarizeStation(
  mode: StationOnboardMode,
  run: StationRun,
  onboarding: StationOnboarding,
  onboardingResults: Map<string, OnboardingResult>,
): Promise<StationSummary> {
  const { results, boardFailures } = run;
  const failedBoards = new Set(boardFailures.map((failure) => failure.deviceId));
  const unverified = (await onboarding.unverified()).filter(
    (device) => !failedBoards.has(device.deviceId),
  );
  const onboardingFailures = unverified.map((device) => {
    const result = onboardingResults.get(device.deviceId);
    return result === undefined || result.ok
      ? device
      : {
          deviceId: device.deviceId,
          step: device.step,
          code: result.code ?? device.code,
          message: result.message ?? device.message,
        };
  });
  const notVerified = new Set(unverified.map((device) => device.deviceId));
  const count = (outcome: ProvisionResult["outcome"]) =>
    results.filter((result) => result.outcome === outcome).length;
  return {
    boards: results.length + boardFailures.length,
    succeeded: results.filter((result) => !notVerified.has(result.deviceId)).length,
    failed: boardFailures.length + onboardingFailures.length,
    outcomes: {
      provisioned: count("provisioned"),
      resumed: count("resumed"),
      "already-provisioned": count("already-provisioned"),
    },
    onboarding: {
      mode,
      onboarded: [...onboardingResults.values()].filter((result) => result.ok).length,
      failed: unverified.filter((device) => device.step === "onboard").length,
    },
    failures: [...boardFailures, ...onboardingFailures],
    interrupted: run.interrupted,
    wallMs: 0,
  };
}

/**
 * One literal `--device-id` for many boards would give them all the same nRF Cloud ID with
 * different keys (one onboards, the others are lost): refused before any board is touched.
 */
function refuseSharedLiteralId(policy: DeviceIdPolicy, ports: string[] | undefined): void {
  if (policy.kind !== "fixed") return;
  if (ports !== undefined && ports.length <= 1) return;
  throw new PipelineError(
    "ERR_USAGE",
    `--device-id ${policy.id} is one literal ID, but the station ${ports === undefined ? "watches for any number of boards" : `has ${ports.length} boards`}: every board would get the same nRF Cloud ID. Use --device-id imei, imei:PREFIX or uuid, or provision that one board on its own`,
    { details: { deviceId: policy.id, boards: ports?.length } },
  );
}

/**
 * `--watch`: polls the port list; a port that appears (or re-appears after being unplugged) is
 * provisioned once. Stops when interrupted; boards already running finish.
 */
async function watchPorts(
  options: StationOptions,
  pool: TaskPool,
  provisionPort: (port: string) => Promise<void>,
  isInterrupted: () => boolean,
): Promise<void> {
  const seen = new Set<string>();
  const running = new Set<string>();
  const intervalMs = options.watch?.intervalMs ?? 1000;
  while (!isInterrupted()) {
    const present = new Set(await options.listPorts().catch(() => [...seen]));
    for (const port of present) {
      // A board unplugged and plugged back while still running is not started twice.
      if (seen.has(port) || running.has(port)) continue;
      running.add(port);
      pool.submit(() => provisionPort(port).finally(() => running.delete(port)));
    }
    seen.clear();
    for (const port of present) seen.add(port);
    await delayUnlessInterrupted(intervalMs, options.interrupted);
  }
}

/**
 * Waits `ms`, or less if `interrupted` comes first. The timer is deliberately not unref'd:
 * while no board is attached it is the only thing keeping the process alive, and without it
 * Node ends a watching station within a second (exit 13, an unsettled top-level await).
 */
function delayUnlessInterrupted(ms: number, interrupted: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([interrupted, elapsed]).finally(() => clearTimeout(timer));
}

function describeOnboarding(result: ProvisionResult): string {
  const outcome = result.onboarding;
  return outcome.mode === "none" ? "none" : `${outcome.mode}: ${outcome.status}`;
}
