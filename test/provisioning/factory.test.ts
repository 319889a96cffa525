/**
 * The factory flow of issue 15, as a line runs it: 16 simulated nRF9151 boards (and one
 * nRF9160, which must be refused) as `sim modem` child processes; a `station --gather-tokens`
 * child gathers their tokens offline into one CSV; later `claim --csv` (a child, in chunks of 5)
 * claims them on the simulated Provisioning Service, with one device already claimed, one token
 * whose signature does not verify and one malformed token, each reported by line and IMEI.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProvisioningClient, parseTokenCsv } from "../../src/provisioning/index.js";
import { type SimProvisioning, startSimProvisioning } from "../../src/sim/provisioning/index.js";
import { runChild, startSimModemChild } from "../cli/child.js";

type Board = Awaited<ReturnType<typeof startSimModemChild>> & { identityPublicKeyPem: string };

const BOARDS = 16;

describe("factory: gather tokens at a station, claim them in bulk later", () => {
  let dir: string;
  let service: SimProvisioning;
  let boards: Board[] = [];
  let nrf9160: Board;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "factory-claim-"));
    service = await startSimProvisioning();
    const nrf91x1 = ["--model", "nRF9151-LACA", "--firmware", "mfw_nrf91x1_2.0.1"];
    boards = (await Promise.all(
      Array.from({ length: BOARDS }, (_, i) =>
        startSimModemChild([...nrf91x1, "--seed", `factory-${i}`]),
      ),
    )) as Board[];
    nrf9160 = (await startSimModemChild([
      "--model",
      "nRF9160-SICA",
      "--firmware",
      "mfw_nrf9160_1.3.5",
    ])) as Board;
    // The identity database learns the boards' keys over the simulator's test hook.
    for (const board of boards) {
      const registered = await fetch(`${service.baseUrl}/sim/identities`, {
        method: "POST",
        headers: { authorization: `Bearer ${service.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          deviceUuid: board.deviceUuid,
          identityPublicKeyPem: board.identityPublicKeyPem,
          imei: board.imei,
        }),
      });
      expect(registered.status).toBe(204);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...boards, nrf9160].filter(Boolean).map((board) => board.stop()));
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("gathers 16 tokens (the nRF9160 refused), then claims them in chunks: 3 rows fail by line and IMEI, exit 5", async () => {
    const csv = join(dir, "tokens.csv");
    const ports = [...boards, nrf9160].map((board) => board.port).join(",");
    const station = await runChild(
      ["station", "--gather-tokens", csv, "--ports", ports, "--concurrency", "8"],
      { cwd: dir },
    );
    expect(station.err).toBe("");
    expect(station.code, station.out).toBe(6);
    expect(station.out).toContain(`${nrf9160.port}: FAILED`);
    expect(station.out).toContain("ERR_PROVISIONING_MODEL");
    expect(station.out).toContain(`${BOARDS} token(s) gathered`);

    // Nordic's row format: imei,uuid,token,isoformat time; no header; one row per board.
    const text = await readFile(csv, "utf8");
    const lines = text.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(BOARDS);
    for (const line of lines) {
      expect(line).toMatch(
        /^\d{15},[0-9a-f-]{36},[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/,
      );
    }
    const rows = parseTokenCsv(text, csv);
    expect(new Set(rows.map((row) => row.deviceUuid))).toEqual(
      new Set(boards.map((board) => board.deviceUuid)),
    );
    for (const row of rows) {
      expect(row.imei).toBe(boards.find((board) => board.deviceUuid === row.deviceUuid)?.imei);
    }

    // Gathering again replaces each board's row (by UUID) instead of adding one.
    const again = await runChild(
      [
        "station",
        "--gather-tokens",
        csv,
        "--ports",
        boards
          .slice(0, 2)
          .map((b) => b.port)
          .join(","),
      ],
      { cwd: dir },
    );
    expect(again.code, again.err).toBe(0);
    expect(parseTokenCsv(await readFile(csv, "utf8"), csv)).toHaveLength(BOARDS);

    // Line 3's device is already claimed; line 7's signature is broken; line 11 is not a token.
    // Edit the file as it is now: gathering again gave two boards new tokens, wherever their
    // rows stand (the first run wrote rows in the order the boards finished).
    const currentText = await readFile(csv, "utf8");
    const current = parseTokenCsv(currentText, csv);
    const client = createProvisioningClient({ baseUrl: service.baseUrl, apiKey: service.apiKey });
    await client.claimDevice({ claimToken: current[2]!.token });
    const broken = current[6]!.token;
    const at = broken.length - 10;
    const tampered = `${broken.slice(0, at)}${broken[at] === "A" ? "B" : "A"}${broken.slice(at + 1)}`;
    const edited = currentText
      .split("\n")
      .map((line, index) =>
        index === 6
          ? line.replace(broken, tampered)
          : index === 10
            ? line.replace(current[10]!.token, "not-a-token")
            : line,
      )
      .join("\n");
    await writeFile(csv, edited);

    const claim = await runChild(
      ["claim", "--csv", "tokens.csv", "--chunk-size", "5", "--tags", "line-1,batch-7"],
      {
        cwd: dir,
        env: { NRF_PROVISIONING_BASE_URL: service.baseUrl, NRF_CLOUD_API_KEY: service.apiKey },
      },
    );
    expect(claim.code, claim.err).toBe(5);
    expect(claim.out).toContain(`${BOARDS - 3} of ${BOARDS} device(s) claimed`);
    const failedLine = (line: number) =>
      claim.out.split("\n").find((out) => out.startsWith(`line ${line} `)) ?? "";
    expect(failedLine(3)).toContain(`IMEI ${current[2]!.imei}`);
    expect(failedLine(3)).toMatch(/FAILED: .*already claimed/);
    expect(failedLine(7)).toContain(`IMEI ${current[6]!.imei}`);
    expect(failedLine(7)).toMatch(/FAILED: .*signature does not verify/);
    expect(failedLine(11)).toContain(`IMEI ${current[10]!.imei}`);
    expect(failedLine(11)).toMatch(/FAILED: malformed token, not sent/);
    expect(claim.err).toContain("line 3, 7, 11 of tokens.csv");
    expect(claim.err).toContain("[ERR_PROVISIONING_CLAIM_FAILED]");
    // 15 tokens sent (the malformed one never leaves the host) in chunks of at most 5.
    expect(service.state.bulkClaims).toEqual([5, 5, 5]);
    expect(service.state.claimed.size).toBe(BOARDS - 2);
    expect(service.state.claimed.get(current[0]!.deviceUuid)?.tags).toEqual(["line-1", "batch-7"]);
  }, 240_000);
});
