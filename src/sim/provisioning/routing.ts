import type { IncomingMessage } from "node:http";
import type { NewSimCommand, ProvisioningState, SimCommand } from "./state.js";

/** Faults and behaviours a test switches at run time (`sim.faults.fail500 = 3`). */
export interface SimProvisioningFaults {
  /** What a device that is not claimed gets: 403 (the HTTP sample's log) or 401 (newer clients). */
  unclaimedStatus: 401 | 403;
  /** The next this many requests are answered 500 (a 500 storm). */
  fail500: number;
  /** Added before every answer. */
  latencyMs: number;
  /** Key-generation answers in the pre-2024 `csr` field instead of `message` (reference §5.6). */
  legacyCsrField: boolean;
  /** A bulk claim answers `{claimedIds, failed}` or, as the older docs, 202 `{bulkOpsRequestId}`. */
  bulkAnswer: "claimed-ids" | "bulk-ops-id";
  /** Send every open command regardless of the device's `limit` (to test a device's "too many commands"). */
  ignoreLimit: boolean;
}

export interface SimProvisioningConfig {
  ownerId: string;
  maxCommandsPerDevice: number;
  bulkTagSeparator: string;
  acceptAttestationTokenAuth: boolean;
}

export type SimReply = { status: number; json?: unknown } | { status: number; cbor: Uint8Array };

export interface RouteContext {
  request: IncomingMessage;
  url: URL;
  body: Buffer;
  state: ProvisioningState;
  faults: SimProvisioningFaults;
  config: SimProvisioningConfig;
  csvRecords(text: string): string[][];
  /** Adds a command mapped to its device commands; undefined for an unknown type. */
  addCommand(deviceUuid: string, input: NewSimCommand): SimCommand | undefined;
  /** The hook for `cloudAccessKeyGeneration`: registers the key with (simulated) nRF Cloud. */
  cloudAccessKey(event: CloudAccessKeyEvent): Promise<void>;
}

export interface CloudAccessKeyEvent {
  deviceUuid: string;
  /** The `%KEYGEN` blob the device returned. */
  keygen: string;
  /** The public key from it (SPKI PEM). */
  publicKeyPem: string;
}

export interface Route {
  method: string;
  path: RegExp;
  /** Device routes authenticate with a device JWT, owner routes with the API key. */
  device?: boolean;
  handle(ctx: RouteContext, params: [string, string]): SimReply | Promise<SimReply>;
}
