import { Journal } from "../pipeline/journal.js";
import type { ProvisionStore, StationStore, StationStoreOptions } from "./types.js";

/**
 * The embedded default: the station journal is its JSONL file and the CA ledger the CA
 * folder's ledger.jsonl, exactly as without a store.
 */
export class FileStore implements ProvisionStore {
  readonly kind = "file";
  readonly location = "files";

  async openStation(options: StationStoreOptions): Promise<StationStore> {
    const journal = await Journal.open(options.journalPath);
    const ca = await options.openCa().catch(async (error: unknown) => {
      await journal.close();
      throw error;
    });
    return {
      journal,
      ca,
      close: async () => {
        try {
          await ca.close();
        } finally {
          await journal.close();
        }
      },
    };
  }

  async close(): Promise<void> {}
}
