import {
  baseUrlWithoutCredentials,
  type HttpClientOptions,
  httpOptionsFrom,
} from "../cloud/context.js";
import { sleep as defaultSleep } from "../cloud/http.js";
import {
  type BulkClaimResult,
  type BulkClaimRow,
  bulkClaim,
  type ClaimCheck,
  checkClaim,
  claimDevice,
  MAX_BULK_CLAIM_ROWS,
} from "./claims.js";
import type { ProvisioningCommandRequest } from "./commands.js";
import { ProvisioningError } from "./errors.js";
import { ProvisioningHttp } from "./http.js";
import type {
  ClaimedDevice,
  ProvisioningCommand,
  ProvisioningCommandList,
  ProvisioningRule,
  ProvisioningRuleList,
  ProvisioningTagList,
} from "./schemas.js";
import { type WaitForCommandOptions, waitForCommand } from "./wait.js";

export const DEFAULT_PROVISIONING_BASE_URL = "https://api.provisioning.nrfcloud.com/v1";

/** `apiKey` is the team's nRF Cloud REST API key (the same as the main API's). */
export interface ProvisioningClientOptions extends HttpClientOptions {
  /** Default `https://api.provisioning.nrfcloud.com/v1`. */
  baseUrl?: string;
  /** How `waitForCommand` waits between polls (default a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Rows per bulk-claim request: at most 1000 (utils' MAX_CSV_ROWS), the default. */
  bulkChunkSize?: number;
  /** Where bulk claims go: `/claimed-devices` (what utils uses) or the older docs' `/claimed-devices/bulk`. */
  bulkClaimPath?: string;
  /** How several tags share the one CSV tags field (reference §2.4; `,` by default) [I]. */
  bulkTagSeparator?: string;
}

export interface NewRule {
  name: string;
  description?: string;
  active?: boolean;
  tags: readonly string[];
  commands: ReadonlyArray<{ request: ProvisioningCommandRequest }>;
}

/** The owner side of nRF Cloud's Provisioning Service: claims, commands, rules, tags. */
export interface ProvisioningClient {
  readonly baseUrl: string;
  /** Dry-run claim: 202 means claimable; otherwise the service's reason. */
  checkClaim(claimToken: string): Promise<ClaimCheck>;
  claimDevice(claim: {
    claimToken: string;
    tags?: readonly string[] | undefined;
  }): Promise<ClaimedDevice>;
  /** Bulk claim as text/csv in chunks of at most 1000 rows; one result per row, in order. */
  claimDevices(rows: readonly BulkClaimRow[]): Promise<BulkClaimResult>;
  unclaimDevice(deviceUuid: string): Promise<void>;
  createCommand(
    deviceUuid: string,
    o: { request: ProvisioningCommandRequest; description?: string },
  ): Promise<ProvisioningCommand>;
  getCommand(deviceUuid: string, commandId: string): Promise<ProvisioningCommand>;
  /** Path inferred (`GET /claimed-devices/{uuid}/provisioning`), answer `{items}`. */
  listCommands(deviceUuid: string): Promise<ProvisioningCommandList>;
  /** Polls until the command is neither PENDING nor IN_PROGRESS, or throws on timeout. */
  waitForCommand(
    deviceUuid: string,
    commandId: string,
    options?: WaitForCommandOptions,
  ): Promise<ProvisioningCommand>;
  listRules(): Promise<ProvisioningRuleList>;
  createRule(rule: NewRule): Promise<ProvisioningRule>;
  listTags(): Promise<ProvisioningTagList>;
  /** Creates a tag; a tag that already exists (409) is not an error. */
  createTag(tag: { tag: string; description?: string }): Promise<void>;
}

/** A typed Provisioning Service client over the nRF Cloud client's HTTP layer. */
export function createProvisioningClient(
  options: ProvisioningClientOptions = {},
): ProvisioningClient {
  const http = provisioningHttp(options);
  const bulk = {
    chunkSize: chunkSizeOf(options.bulkChunkSize),
    path: options.bulkClaimPath ?? "/claimed-devices",
    tagSeparator: options.bulkTagSeparator ?? ",",
  };
  const pollSleep = options.sleep ?? defaultSleep;
  const client: ProvisioningClient = {
    baseUrl: http.url("").href.replace(/\/+$/, ""),
    checkClaim: (claimToken) => checkClaim(http, claimToken),
    claimDevice: (o) => claimDevice(http, o),
    claimDevices: (rows) => bulkClaim(http, rows, bulk),
    unclaimDevice: async (uuid) => {
      await http.send({
        method: "DELETE",
        path: devicePath(uuid),
        expect: [204],
        deviceUuid: uuid,
      });
    },
    ...commandEndpoints(http),
    waitForCommand: (uuid, id, waitOptions = {}) =>
      waitForCommand(client, uuid, id, { now: http.options.now, sleep: pollSleep, ...waitOptions }),
    ...ruleAndTagEndpoints(http),
  };
  return client;
}

/** The HTTP layer with the client's options and defaults (as the nRF Cloud client's). */
function provisioningHttp(options: ProvisioningClientOptions): ProvisioningHttp {
  const base = baseUrlWithoutCredentials(
    options.baseUrl ?? DEFAULT_PROVISIONING_BASE_URL,
    "Provisioning Service",
  );
  return new ProvisioningHttp(
    base,
    { kind: "api-key", apiKey: options.apiKey },
    httpOptionsFrom(options),
  );
}

const devicePath = (uuid: string) => `/claimed-devices/${encodeURIComponent(uuid)}`;

function commandEndpoints(
  http: ProvisioningHttp,
): Pick<ProvisioningClient, "createCommand" | "getCommand" | "listCommands"> {
  return {
    createCommand: (uuid, command) =>
      http.sendJson(
        {
          method: "POST",
          path: `${devicePath(uuid)}/provisioning`,
          json: {
            description: command.description, // JSON leaves it out when undefined
            request: command.request,
          },
          expect: [201],
          deviceUuid: uuid,
        },
        "ProvisioningCommandSchema",
      ),
    getCommand: (uuid, id) =>
      http.sendJson(
        {
          method: "GET",
          path: `${devicePath(uuid)}/provisioning/${encodeURIComponent(id)}`,
          expect: [200],
          deviceUuid: uuid,
        },
        "ProvisioningCommandSchema",
      ),
    listCommands: (uuid) =>
      http.sendJson(
        {
          method: "GET",
          path: `${devicePath(uuid)}/provisioning`,
          expect: [200],
          deviceUuid: uuid,
        },
        "ProvisioningCommandListSchema",
      ),
  };
}

function ruleAndTagEndpoints(
  http: ProvisioningHttp,
): Pick<ProvisioningClient, "listRules" | "createRule" | "listTags" | "createTag"> {
  return {
    listRules: () =>
      http.sendJson(
        { method: "GET", path: "/provisioning-rules", expect: [200] },
        "ProvisioningRuleListSchema",
      ),
    createRule: (rule) =>
      http.sendJson(
        {
          method: "POST",
          path: "/provisioning-rules",
          json: { active: true, ...rule },
          expect: [200, 201],
        },
        "ProvisioningRuleSchema",
      ),
    listTags: () =>
      http.sendJson(
        { method: "GET", path: "/provisioning/tags", expect: [200] },
        "ProvisioningTagListSchema",
      ),
    createTag: async (o) => {
      await http.send({
        method: "POST",
        path: "/provisioning/tags",
        json: o,
        expect: [200, 201, 204, 409],
      });
    },
  };
}

function chunkSizeOf(value: number | undefined): number {
  const size = value ?? MAX_BULK_CLAIM_ROWS;
  if (!Number.isInteger(size) || size < 1 || size > MAX_BULK_CLAIM_ROWS) {
    throw new ProvisioningError(
      "ERR_PROVISIONING_OPTIONS",
      `bulkChunkSize must be an integer from 1 to ${MAX_BULK_CLAIM_ROWS}, got ${value}`,
    );
  }
  return size;
}
