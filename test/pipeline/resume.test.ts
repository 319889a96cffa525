import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAtClient } from "../../src/at/index.js";
import { createCloudClient } from "../../src/cloud/index.js";
import {
  type BoardConnection,
  Journal,
  type JournalFact,
  parseDeviceIdPolicy,
  runStation,
  type StationJournal,
} from "../../src/pipeline/index.js";
import { createMemoryTransportPair, type MemoryTransport } from "../../src/serial/index.js";
import { SimModem } from "../../src/sim/modem/index.js";
import { usePipelineBench } from "./fixtures.js";

/** A simulated board on an in-memory link that can be yanked, as a killed host would. */
function memoryBoard(modem: SimModem, port: string) {
  let link: MemoryTransport | undefined;
  const connection: BoardConnection = {
    port,
    open: async () => {
      const [host, device] = createMemoryTransportPair([port, `${port}:modem`]);
      modem.attach(device);
      link = host;
      return openAtClient(host);
    },
  };
  return { connection, pull: () => link?.disconnect("host killed") };
}

class SimulatedCrash extends Error {}

/**
 * The real journal, except that the (limit+1)-th record never reaches the disk: the host
 * "dies" right there (its link to the board drops, nothing it does afterwards counts).
 */
function crashingJournal(journal: Journal, limit: number, die: () => void): StationJournal {
  let written = 0;
  let dead = false;
  return {
    path: journal.path,
    get records() {
      return journal.records;
    },
    histories: () => journal.histories(),
    recall: (deviceId) => journal.recall(deviceId),
    async record(fact: JournalFact) {
      if (!dead && written++ < limit) return journal.record(fact);
      dead = true;
      die();
      throw new SimulatedCrash(`crashed before journaling ${fact.type}`);
    },
  };
}

describe("resume after a crash at every journal record (deterministic sweep)", () => {
  const bench = usePipelineBench();
  const onboardRequests: string[] = [];

  const client = () =>
    createCloudClient({
      baseUrl: bench.cloud.baseUrl,
      apiKey: bench.cloud.apiKey,
      // Counts OnboardDevice calls: the sweep checks none is ever sent twice.
      fetch: async (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        if (init?.method === "POST" && /\/devices\/[^/]+$/.test(url)) onboardRequests.push(url);
        return fetch(input, init);
      },
    });

  // Records of one board: station-start, then identity, offline, keygen-start, keygen-done,
  // issued, provisioned, mode-restored, onboard-start, onboarded. A crash before each of
  // those nine, then a clean restart.
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9])(
    "crash before record %i: the restart finishes with one key, one certificate, one upload (two when its answer was lost)",
    async (limit) => {
      const { ca, cloud, dir, rootCaPem } = bench;
      const modem = new SimModem({});
      const deviceId = `nrf-${modem.imei}`;
      const board = memoryBoard(modem, `memory:board-${limit}`);
      const path = join(dir, `journal-${limit}.jsonl`);
      const station = (journal: StationJournal) =>
        runStation({
          listPorts: async () => [board.connection.port],
          connect: () => board.connection,
          ca,
          journal,
          board: { deviceIdPolicy: parseDeviceIdPolicy("imei"), rootCaPem },
          onboard: "single",
          cloud: client(),
          concurrency: 1,
          interrupted: new Promise(() => {}),
        });

      const first = await Journal.open(path);
      const crashed = await station(crashingJournal(first, limit, board.pull));
      await first.close();
      expect(crashed.failed).toBe(1);

      const second = await Journal.open(path);
      const resumed = await station(second);
      await second.close();
      expect(resumed.failures).toEqual([]);
      expect(resumed.succeeded).toBe(1);

      const ledger = await ca.ledger.find({ deviceId });
      expect(ledger).toHaveLength(1);
      const stored = modem.credentials().filter((c) => c.secTag === 16842753);
      expect(stored.map((c) => c.type).sort()).toEqual([0, 1, 2]);
      expect(stored.find((c) => c.type === 1)?.content).toBe(ledger[0]!.pem);
      expect(modem.functionalMode).toBe(1);
      expect(cloud.devices.get(deviceId)?.onboardingPem).toBe(ledger[0]!.pem);
      // Crash before `onboarded` (9): the upload's answer was lost. FetchDevice cannot show
      // which certificate nRF Cloud holds, so the same row is sent once more, as the check.
      expect(onboardRequests.filter((url) => url.endsWith(`/devices/${deviceId}`))).toHaveLength(
        limit === 9 ? 2 : 1,
      );
      const keygens = second.records.filter((r) => r.type === "keygen-done");
      expect(keygens).toHaveLength(1);
    },
  );
});
