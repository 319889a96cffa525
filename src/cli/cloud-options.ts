import type { Command } from "commander";
// The base URL from its own small module and the client's type only: `provision --onboard none`
// loads none of the nRF Cloud client (start-up, issue 12); callers create the client.
import { DEFAULT_BASE_URL } from "../cloud/base-url.js";
import type { CloudClientOptions } from "../cloud/index.js";
import { parseIntegerOption, usageError } from "./context.js";
import type { CliIo } from "./io.js";
import { packageVersion } from "./version.js";

// How a command reaches nRF Cloud: `--api-key` and `--base-url` (or their environment
// variables), defined here once for `cloud …`, `provision` and `station`.

export interface CloudCliOptions {
  apiKey?: string;
  baseUrl?: string;
  httpTimeout?: string;
}

/** Adds `--base-url`, `--api-key` and `--http-timeout`. */
export function addCloudOptions(command: Command): Command {
  return command
    .option(
      "--base-url <url>",
      `nRF Cloud API base URL (default: $NRF_CLOUD_BASE_URL or ${DEFAULT_BASE_URL})`,
    )
    .option("--api-key <key>", "nRF Cloud API key (default: $NRF_CLOUD_API_KEY); never printed")
    .option("--http-timeout <seconds>", "give up on one nRF Cloud request after this long", "30");
}

/**
 * Settings for a cloud client (createCloudClient) from the flags or the environment, checked
 * before anything is sent: the base
 * URL must be an http(s) URL, and the API key must be there unless `apiKey` is "optional" (a
 * device JWT authenticates instead). Both mistakes are usage errors (exit 2). `purpose` says
 * what needs the key (e.g. "--onboard single"); `hint` is the other way out, if any.
 */
export function cloudSettingsFrom(
  options: CloudCliOptions,
  io: CliIo,
  need: { purpose: string; apiKey?: "required" | "optional"; hint?: string },
): CloudClientOptions {
  const baseUrl = options.baseUrl ?? nonEmpty(io.env.NRF_CLOUD_BASE_URL) ?? DEFAULT_BASE_URL;
  checkBaseUrl(baseUrl, options.baseUrl === undefined ? "NRF_CLOUD_BASE_URL" : "--base-url");
  const apiKey = nonEmpty(options.apiKey) ?? nonEmpty(io.env.NRF_CLOUD_API_KEY);
  if (apiKey === undefined && need.apiKey !== "optional") {
    throw usageError(
      `no nRF Cloud API key for ${need.purpose}: set NRF_CLOUD_API_KEY or pass --api-key` +
        `${need.hint === undefined ? "" : `, ${need.hint}`}. Nothing was sent.`,
    );
  }
  const timeoutMs =
    parseIntegerOption("--http-timeout", options.httpTimeout ?? "30", { min: 1, max: 3600 }) * 1000;
  return {
    baseUrl,
    timeoutMs,
    apiKey,
    userAgent: `nrf-provision/${packageVersion}`,
    onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function checkBaseUrl(value: string, source: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(
      `${source} ${JSON.stringify(value)} is not a URL: give the API's base URL including /v1, e.g. ${DEFAULT_BASE_URL}`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw usageError(
      `${source} ${JSON.stringify(value)} must be an http:// or https:// URL, e.g. ${DEFAULT_BASE_URL}`,
    );
  }
}
