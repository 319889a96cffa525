import type { Command } from "commander";
import { type CliContext, writeJson, writeLines } from "../context.js";

/**
 * `ca revoke-station S1 --store URL`: the station's CA (its intermediate) is refused line-wide
 * in the shared store; its later issuances fail with ERR_STORE_STATION_REVOKED, and what it
 * issued before stays listed by `line export` (stationRevoked: true).
 */
export function registerRevokeStation(ca: Command, ctx: CliContext): void {
  ca.command("revoke-station")
    .description("Refuse one station's CA on the whole line (the shared store): it issues no more.")
    .argument("<station-id>", "the station's --station-id")
    .option("--store <postgres://…>", "the line's PostgreSQL (default: NRF_PROVISION_STORE)")
    .option("--json", "print one JSON document")
    .action(async (stationId: string, flags: { store?: string; json?: boolean }) => {
      const { openLineStore } = await import("../../store/open.js");
      const store = await openLineStore(flags.store, ctx.io.env, { retryForMs: 10_000 });
      try {
        const { issuerFingerprint } = await store.revokeStation(stationId);
        if (flags.json) return writeJson(ctx.io, { ok: true, stationId, issuerFingerprint });
        writeLines(
          ctx.io,
          `station ${stationId} revoked on ${store.location}: its CA${issuerFingerprint ? ` (SHA-256 ${issuerFingerprint})` : ""} issues no more certificates on this line`,
        );
      } finally {
        await store.close();
      }
    });
}
