import type { Command } from "commander";
import type { ProvisioningClient } from "../provisioning/index.js";
import { parseIntegerOption, usageError } from "./context.js";
import type { CliIo } from "./io.js";
import { packageVersion } from "./version.js";

// How a command reaches nRF Cloud's Provisioning Service: its own base URL (a host apart from
// the main API's), the same team API key. Defined once for `claim` and what builds on it.

export const PROVISIONING_BASE_URL_DEFAULT = "https://api.provisioning.nrfcloud.com/v1";

export interface ProvisioningCliOptions {
  provisioningUrl?: string;
  apiKey?: string;
  httpTimeout?: string;
}

/** Adds `--provisioning-url`, `--api-key` and `--http-timeout`. */
export function addProvisioningOptions(command: Command): Command {
  return command
    .option(
      "--provisioning-url <url>",
      `Provisioning Service base URL (default: $NRF_PROVISIONING_BASE_URL or ${PROVISIONING_BASE_URL_DEFAULT})`,
    )
    .option("--api-key <key>", "nRF Cloud API key (default: $NRF_CLOUD_API_KEY); never printed")
    .option("--http-timeout <seconds>", "give up on one request after this long", "30");
}

/** A Provisioning Service client from the flags or the environment; keyless or a bad URL is a usage error. */
export async function provisioningClientFrom(
  options: ProvisioningCliOptions,
  io: CliIo,
  extra: { bulkChunkSize?: number } = {},
): Promise<ProvisioningClient> {
  const fromEnv = io.env.NRF_PROVISIONING_BASE_URL;
  const baseUrl = options.provisioningUrl ?? (fromEnv ? fromEnv : PROVISIONING_BASE_URL_DEFAULT);
  const source =
    options.provisioningUrl === undefined ? "NRF_PROVISIONING_BASE_URL" : "--provisioning-url";
  let url: URL | undefined;
  try {
    url = new URL(baseUrl);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw usageError(
      `${source} ${JSON.stringify(baseUrl)} must be an http(s) URL including /v1, e.g. ${PROVISIONING_BASE_URL_DEFAULT}`,
    );
  }
  const apiKey = options.apiKey || io.env.NRF_CLOUD_API_KEY;
  if (!apiKey) {
    throw usageError(
      "no nRF Cloud API key: set NRF_CLOUD_API_KEY or pass --api-key. Nothing was sent.",
    );
  }
  const timeoutMs =
    parseIntegerOption("--http-timeout", options.httpTimeout ?? "30", { min: 1, max: 3600 }) * 1000;
  const { createProvisioningClient } = await import("../provisioning/client.js");
  return createProvisioningClient({
    baseUrl,
    apiKey,
    timeoutMs,
    userAgent: `nrf-provision/${packageVersion}`,
    ...extra,
  });
}
