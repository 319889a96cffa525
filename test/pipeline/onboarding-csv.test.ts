import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appendToOnboardingCsv, splitCsvRecords } from "../../src/pipeline/index.js";
import { createSimCertificateAuthority, issueKeyPair } from "../../src/sim/cloud/index.js";
import { usePipelineBench } from "./fixtures.js";
import { runCli } from "./station-child.js";

const secTag = 16842753;

/** Issue 11 scenario 5: concurrent `provision --onboard csv:FILE --replace` on one file. */
describe("onboarding CSV shared by concurrent runs", () => {
  const bench = usePipelineBench({ cloud: false });

  it("four replacements at once (one process) all land: the file holds exactly the new rows", async () => {
    const simCa = await createSimCertificateAuthority();
    const file = join(bench.dir, "in-process.csv");
    const ids = ["dev-1", "dev-2", "dev-3", "dev-4"];
    const stale = ids.map((deviceId) => issueKeyPair(simCa, deviceId).certificatePem);
    const fresh = ids.map((deviceId) => issueKeyPair(simCa, deviceId).certificatePem);
    const append = appendToOnboardingCsv(file, { replace: false });
    for (const [i, deviceId] of ids.entries()) {
      await append.onboard({ deviceId, certificate: stale[i]! });
    }
    const replace = appendToOnboardingCsv(file, { replace: true });
    const outcomes = await Promise.all(
      ids.map((deviceId, i) => replace.onboard({ deviceId, certificate: fresh[i]! })),
    );
    expect(outcomes.map((outcome) => outcome.mode === "csv" && outcome.status)).toEqual(
      ids.map(() => "replaced"),
    );
    const rows = splitCsvRecords(await readFile(file, "utf8"));
    expect(rows).toHaveLength(4);
    for (const [i, deviceId] of ids.entries()) {
      const row = rows.find((r) => r.startsWith(`${deviceId},`));
      expect(row, deviceId).toContain(fresh[i]!);
    }
  });

  it("4 parallel `provision --onboard csv:FILE --replace` runs leave exactly the latest rows", async () => {
    const boards = await bench.startBoards(4, { keygenMs: 100 });
    const file = join(bench.dir, "parallel.csv");
    const provision = (port: string, replace: boolean) =>
      runCli(
        [
          "provision",
          "--port",
          port,
          "--ca-dir",
          bench.caDir,
          "--device-id",
          "imei",
          "--onboard",
          `csv:${file}`,
          ...(replace ? ["--replace"] : []),
        ],
        bench.env,
      );
    for (const board of boards) {
      const first = await provision(board.path, false);
      expect(first.exitCode, first.stderr).toBe(0);
    }

    const runs = await Promise.all(boards.map((board) => provision(board.path, true)));
    for (const run of runs) {
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/replaced/);
    }
    const rows = splitCsvRecords(await readFile(file, "utf8"));
    expect(rows).toHaveLength(4);
    for (const board of boards) {
      const onModem = board.modem
        .credentials()
        .find((credential) => credential.secTag === secTag && credential.type === 1)!.content;
      const row = rows.find((r) => r.startsWith(`nrf-${board.modem.imei},`));
      expect(row, board.modem.imei).toContain(onModem);
    }
  }, 90_000);
});
