import type { SummaryRowError } from "../../cloud/index.js";
import { createSimCertificateAuthority, type SimCertificateAuthority } from "./certificates.js";
import { seededRandom } from "./random.js";
import { DeviceRegistry } from "./registry.js";
import type { BulkEndpoint } from "./validate.js";

export interface SimCloudOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Team API key the server accepts (default: random, see `apiKey` on the handle). */
  apiKey?: string | undefined;
  /** Time from upload to the end of a bulk operation (default 1000 ms; half of it PENDING). */
  bulkDelayMs?: number;
  /**
   * `timed` (default): bulk operations move on by themselves after `bulkDelayMs`. `manual`: they
   * stay where they are until `advanceBulkOps()` is called, so a test sees every state it expects
   * however slow or fast the machine is.
   */
  bulkProgress?: "timed" | "manual";
  /** Added to every response. */
  latencyMs?: number;
  /** Probability (0…1) of answering 429 with `Retry-After: retryAfterSeconds`. */
  rate429?: number;
  retryAfterSeconds?: number;
  /** How Retry-After says it (RFC 9110 allows both): delta seconds (default) or an HTTP date. */
  retryAfterFormat?: "seconds" | "http-date";
  /** Probability (0…1) of answering 500. */
  rate500?: number;
  /** Bulk rows that fail: device IDs, or a predicate. */
  failRows?:
    | ReadonlySet<string>
    | ((row: { deviceId: string; row: number; endpoint: BulkEndpoint }) => boolean);
  /** Error summaries in the current (default) or the pre-2025-12 1-based format. */
  errorSummaryFormat?: "current" | "legacy";
  /** Ownership codes of Nordic devices (AssociateDevice, CreateDeviceCertificate for `nrf-…`). */
  ownershipCodes?: Record<string, string>;
  /** Seed of fault injection and IDs (default 1). */
  seed?: number | string;
  /** Tolerated device clock skew for JWT `iat`/`exp` (default 60 s). */
  jwtClockToleranceSeconds?: number;
  now?: () => number;
}

export interface SimBulkOp {
  details: {
    bulkOpsRequestId: string;
    endpoint: BulkEndpoint;
    status: "PENDING" | "IN_PROGRESS" | "SUCCEEDED" | "FAILED";
    requestedAt: string;
    completedAt?: string;
    uploadedDataUrl: string;
    errorSummaryUrl?: string;
  };
  body: string;
  errors: SummaryRowError[];
}

/** What every route module shares: the options, the devices, the bulk jobs and the clock. */
export interface SimCloudStore {
  readonly options: SimCloudOptions;
  readonly now: () => number;
  /** Seeded: fault injection and IDs repeat for one seed. */
  readonly random: () => number;
  readonly apiKey: string;
  readonly tenantId: string;
  readonly registry: DeviceRegistry;
  readonly bulkOps: Map<string, SimBulkOp>;
  /** The next step of each unfinished bulk operation. */
  readonly pendingSteps: Map<SimBulkOp, () => void>;
  readonly ownershipCodes: Map<string, string>;
  readonly stats: { requests: number; injected429: number; injected500: number };
  /** `http://host:port`, set once the server listens. */
  origin: string;
  /** The CA of CreateDeviceCertificate, made on first use. */
  jitpCa(): Promise<SimCertificateAuthority>;
  /** Runs `action` after `ms` unless the simulator closes first. */
  later(ms: number, action: () => void): void;
  /** Cancels everything `later` scheduled. */
  clearTimers(): void;
}

export function createSimCloudStore(options: SimCloudOptions): SimCloudStore {
  const now = options.now ?? Date.now;
  const random = seededRandom(options.seed ?? 1);
  const apiKey =
    options.apiKey ??
    Buffer.from(Array.from({ length: 20 }, () => Math.floor(random() * 256))).toString("hex");
  const timers = new Set<NodeJS.Timeout>();
  let jitpCa: Promise<SimCertificateAuthority> | null = null;
  return {
    options,
    now,
    random,
    apiKey,
    tenantId: "5a4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c",
    registry: new DeviceRegistry(now),
    bulkOps: new Map(),
    pendingSteps: new Map(),
    ownershipCodes: new Map(Object.entries(options.ownershipCodes ?? {})),
    stats: { requests: 0, injected429: 0, injected500: 0 },
    origin: "",
    jitpCa() {
      jitpCa ??= createSimCertificateAuthority({
        commonName: "nrf-provision simulated JITP CA",
        now,
      });
      return jitpCa;
    },
    later(ms, action) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        action();
      }, ms);
      timers.add(timer);
    },
    clearTimers() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
