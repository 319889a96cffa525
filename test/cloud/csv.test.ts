import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildOnboardingCsv,
  buildRegisterCertificatesCsv,
  buildRegisterPublicKeysCsv,
  CSV_FIRMWARE_TYPES,
  CsvError,
  chunkRows,
  formatPemRow,
  type OnboardingRow,
  onboardingModality,
  parseCertificatesCsv,
  parseCsvRecords,
  parseOnboardingCsv,
  parsePublicKeysCsv,
  recordDeviceId,
  splitCsvRecords,
} from "../../src/cloud/index.js";
import { type SimCloud, startSimCloud } from "../../src/sim/cloud/index.js";
import { clientFor, fastWait, testCa, useSimCloud } from "./helpers.js";

const CERT =
  "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAbCd==\n-----END CERTIFICATE-----\n";
const KEY =
  "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";

/** An ERR_CSV_INVALID CsvError whose details (and message) match these. */
function csvInvalid(details: Record<string, unknown>, message?: unknown) {
  return expect.objectContaining({
    name: CsvError.name,
    code: "ERR_CSV_INVALID",
    details: expect.objectContaining(details),
    ...(message === undefined ? {} : { message }),
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("buildOnboardingCsv", () => {
  it("builds the documented 5-column rows with the PEM quoted and its line break kept", () => {
    const [body] = buildOnboardingCsv([
      {
        deviceId: "f69c0e45-7f04",
        certificate: CERT,
        subType: "my-thing",
        tags: ["t1", "t2"],
        supportedFirmwareTypes: ["APP", "MODEM"],
      },
      { deviceId: "nrf-352656100000001", certificate: CERT, supportedFirmwareTypes: ["APP"] },
    ]);
    expect(body?.body).toBe(
      `f69c0e45-7f04,my-thing,t1|t2,APP|MODEM,"${CERT}"\nnrf-352656100000001,,,APP,"${CERT}"\n`,
    );
    expect(body?.deviceIds).toEqual(["f69c0e45-7f04", "nrf-352656100000001"]);
  });

  it("accepts the public-key modality and CRLF / CR PEM line breaks", () => {
    const crlf = CERT.replaceAll("\n", "\r\n");
    const cr = CERT.replaceAll("\n", "\r");
    const [body] = buildOnboardingCsv([
      { deviceId: "a", certificate: KEY },
      { deviceId: "b", certificate: crlf },
      { deviceId: "c", certificate: cr },
    ]);
    expect(parseCsvRecords(body?.body ?? "").map((r) => r.fields[4])).toEqual([KEY, crlf, cr]);
  });

  it("names the modality a PEM stands for, and a broken key as a key", () => {
    expect(onboardingModality(KEY)).toBe("public-key");
    expect(onboardingModality(CERT)).toBe("certificate");
    expect(() => buildOnboardingCsv([{ deviceId: "k", certificate: KEY.trimEnd() }])).toThrow(
      csvInvalid({ field: "certPem", reason: "PUBLIC KEY PEM must end with a line break" }),
    );
  });

  it("splits 2,500 rows into requests of at most 1000 and keeps the row→device maps", () => {
    const rows = Array.from({ length: 2500 }, (_, i) => ({ deviceId: `d${i}`, certificate: CERT }));
    const bodies = buildOnboardingCsv(rows);
    expect(bodies.map((b) => b.deviceIds.length)).toEqual([1000, 1000, 500]);
    expect(bodies.map((b) => b.firstRow)).toEqual([0, 1000, 2000]);
    expect(bodies[2]?.deviceIds[17]).toBe("d2017");
    expect(bodies.every((b) => !b.body.startsWith("deviceId") && !b.body.includes("\n\n"))).toBe(
      true,
    );
  });

  it.each<[string, Partial<OnboardingRow>, string, RegExp]>([
    ["empty device ID", { deviceId: "" }, "deviceId", /"" is not valid: a device ID is 1 to 64/],
    ["65-char device ID", { deviceId: "a".repeat(65) }, "deviceId", /this one has 65/],
    ["device ID with a dot", { deviceId: "a.b" }, "deviceId", /"a.b" is not valid/],
    ["comma in subType", { subType: "a,b" }, "subType", /comma/],
    ["unanchored subType match", { subType: "ok type" }, "subType", /must match/],
    ["800-char subType", { subType: "a".repeat(800) }, "subType", /must match/],
    ["tag with a pipe", { tags: ["a|b"] }, "tags", /tag "a\|b"/],
    ["empty tag", { tags: [""] }, "tags", /tag ""/],
    ["SMP in CSV fwTypes", { supportedFirmwareTypes: ["SMP"] }, "fwTypes", /"SMP" is not one of/],
    ["lower-case fwType", { supportedFirmwareTypes: ["app"] }, "fwTypes", /not one of/],
    [
      "PEM without final line break",
      { certificate: CERT.trimEnd() },
      "certPem",
      /must end with a line break/,
    ],
    ["certificate chain", { certificate: CERT + CERT }, "certPem", /exactly one/],
    [
      "private key",
      { certificate: KEY.replaceAll("PUBLIC", "PRIVATE") },
      "certPem",
      /not a single CERTIFICATE PEM/,
    ],
    ["leading blank line", { certificate: `\n${CERT}` }, "certPem", /not a single/],
  ])("refuses a %s, naming row, device and field", (_name, change, field, reason) => {
    const rows: OnboardingRow[] = [
      { deviceId: "ok-0", certificate: CERT },
      { deviceId: "ok-1", certificate: CERT, ...change },
    ];
    expect(() => buildOnboardingCsv(rows)).toThrow(
      csvInvalid(
        { row: 1, deviceId: rows[1]?.deviceId, field, reason: expect.stringMatching(reason) },
        expect.stringMatching(new RegExp(`^CSV row 2 \\(device .*${field}`)),
      ),
    );
  });

  it("refuses duplicate device IDs and empty input", () => {
    expect(() =>
      buildOnboardingCsv([
        { deviceId: "x", certificate: CERT },
        { deviceId: "x", certificate: CERT },
      ]),
    ).toThrow(
      csvInvalid(
        { row: 1, field: "deviceId", reason: "duplicates row 1" },
        expect.stringMatching(/^CSV row 2 \(device "x"\)/),
      ),
    );
    expect(() => buildOnboardingCsv([])).toThrow(csvInvalid({ reason: "no rows" }));
  });
});

describe("register CSVs", () => {
  it('builds deviceId,"pem" rows', () => {
    expect(buildRegisterCertificatesCsv([{ deviceId: "a", certificate: CERT }])[0]?.body).toBe(
      `a,"${CERT}"\n`,
    );
    expect(buildRegisterPublicKeysCsv([{ deviceId: "a", publicKey: KEY }])[0]?.body).toBe(
      `a,"${KEY}"\n`,
    );
  });

  it("refuses a certificate where a key is expected and vice versa", () => {
    expect(() => buildRegisterPublicKeysCsv([{ deviceId: "a", publicKey: CERT }])).toThrow(
      csvInvalid({ field: "keyPem" }),
    );
    expect(() => buildRegisterCertificatesCsv([{ deviceId: "a", certificate: KEY }])).toThrow(
      csvInvalid({ field: "certPem" }),
    );
  });
});

describe("parseCsvRecords", () => {
  it("handles quoted line breaks, doubled quotes, CRLF rows and a missing final terminator", () => {
    expect(parseCsvRecords('a,"x\n""y"""\r\nb,c')).toEqual([
      { row: 0, fields: ["a", 'x\n"y"'] },
      { row: 1, fields: ["b", "c"] },
    ]);
  });

  it("round-trips every PEM body the builder accepts", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9+/=\n" ]{1,80}$/), (inner) => {
        const pem = `-----BEGIN CERTIFICATE-----\n${inner}\n-----END CERTIFICATE-----\n`;
        const [body] = buildRegisterCertificatesCsv([{ deviceId: "d", certificate: pem }]);
        expect(parseCsvRecords(body?.body ?? "")[0]?.fields).toEqual(["d", pem]);
      }),
    );
  });
});

// Arbitrary rows that are valid by construction, and single-field corruptions of them.
const deviceId = fc.stringMatching(/^[a-zA-Z0-9:_-]{1,64}$/);
const base64Body = fc.stringMatching(/^[A-Za-z0-9+/]{4,64}={0,2}$/);
const lineBreak = fc.constantFrom("\n", "\r\n", "\r");
const pem = (label: "CERTIFICATE" | "PUBLIC KEY") =>
  fc
    .tuple(base64Body, lineBreak)
    .map(([b, nl]) => `-----BEGIN ${label}-----${nl}${b}${nl}-----END ${label}-----${nl}`);
const validRow: fc.Arbitrary<OnboardingRow> = fc.record({
  deviceId,
  certificate: fc.oneof(pem("CERTIFICATE"), pem("PUBLIC KEY")),
  subType: fc.stringMatching(/^[a-zA-Z0-9_.@/:#-]{0,40}$/),
  tags: fc.array(fc.stringMatching(/^[a-zA-Z0-9_.@:#-]{1,12}$/), { maxLength: 3 }),
  supportedFirmwareTypes: fc.subarray([...CSV_FIRMWARE_TYPES]),
});
const uniqueRows = fc.uniqueArray(validRow, {
  minLength: 1,
  maxLength: 8,
  selector: (r) => r.deviceId,
});
const corruption = fc.constantFrom<
  [keyof OnboardingRow, string, (row: OnboardingRow) => OnboardingRow]
>(
  ["deviceId", "deviceId", (r) => ({ ...r, deviceId: `${r.deviceId}.x` })],
  ["subType", "subType", (r) => ({ ...r, subType: "a b" })],
  ["tags", "tags", (r) => ({ ...r, tags: ["ok", "no space"] })],
  ["supportedFirmwareTypes", "fwTypes", (r) => ({ ...r, supportedFirmwareTypes: ["CUSTOM"] })],
  [
    "certificate",
    "certPem",
    (r) => ({ ...r, certificate: r.certificate.replace(/(\r\n|\r|\n)$/, "") }),
  ],
);

describe("parsing each kind of nRF Cloud CSV", () => {
  it("reads OnboardDevices rows back as written: list columns split on |, empty lists empty", () => {
    const rows: OnboardingRow[] = [
      {
        deviceId: "a-1",
        certificate: CERT,
        subType: "s",
        tags: ["t1", "t2"],
        supportedFirmwareTypes: ["APP", "MODEM"],
      },
      { deviceId: "a-2", certificate: KEY, subType: "", tags: [], supportedFirmwareTypes: [] },
    ];
    const [body] = buildOnboardingCsv(rows);
    expect(parseOnboardingCsv(body?.body ?? "")).toEqual(rows);
  });

  it("reads RegisterPublicKeys and RegisterCertificates rows back as written", () => {
    const keys = [
      { deviceId: "k-1", publicKey: KEY },
      { deviceId: "k-2", publicKey: KEY.replaceAll("\n", "\r\n") },
    ];
    expect(parsePublicKeysCsv(buildRegisterPublicKeysCsv(keys)[0]?.body ?? "")).toEqual(keys);
    const certificates = [{ deviceId: "c-1", certificate: CERT }];
    expect(parseCertificatesCsv(buildRegisterCertificatesCsv(certificates)[0]?.body ?? "")).toEqual(
      certificates,
    );
  });

  it("refuses a wrong column count, a blank line and an open quote, naming the row", () => {
    expect(() => parsePublicKeysCsv(`k-1,"${KEY}"\nk-2\n`)).toThrow(
      csvInvalid(
        { row: 1, deviceId: "k-2", field: "row" },
        "CSV row 2: 1 columns, expected 2. Fix the file; nothing was uploaded.",
      ),
    );
    expect(() => parseCertificatesCsv(`c-1,"${CERT}"\n\nc-2,"${CERT}"\n`)).toThrow(
      csvInvalid({ row: 1, reason: "blank line (nRF Cloud refuses blank lines)" }),
    );
    expect(() => parseOnboardingCsv(`d,,,,"${CERT}`)).toThrow(
      csvInvalid(
        { reason: "malformed" },
        expect.stringMatching(/^The CSV file is malformed: unterminated quoted field/),
      ),
    );
  });

  it('formats a deviceId,"PEM" row with doubled quotes, which the parser undoes', () => {
    const row = formatPemRow("q-1", 'a "quoted" PEM\n');
    expect(row).toBe('q-1,"a ""quoted"" PEM\n"\n');
    expect(parseCsvRecords(row)[0]?.fields).toEqual(["q-1", 'a "quoted" PEM\n']);
  });

  it("splits record texts at unquoted line breaks only, and names each record's device", () => {
    const text = `a,"${CERT}"\n\nb,"${KEY}"`;
    const records = splitCsvRecords(text);
    expect(records).toEqual([`a,"${CERT}"\n`, `b,"${KEY}"\n`]);
    expect(records.map(recordDeviceId)).toEqual(["a", "b"]);
  });

  it("chunks rows into lists of at most 1000", () => {
    const rows = Array.from({ length: 2001 }, (_, i) => i);
    expect(chunkRows(rows).map((chunk) => [chunk[0], chunk.length])).toEqual([
      [0, 1000],
      [1000, 1000],
      [2000, 1],
    ]);
    expect(chunkRows(rows, 1500).map((chunk) => chunk.length)).toEqual([1500, 501]);
  });

  it("round-trips any valid onboarding rows through write and parse", () => {
    fc.assert(
      fc.property(uniqueRows, (rows) => {
        const parsed = buildOnboardingCsv(rows).flatMap((body) => parseOnboardingCsv(body.body));
        expect(parsed).toEqual(
          rows.map((row) => ({
            ...row,
            subType: row.subType ?? "",
            tags: row.tags ?? [],
            supportedFirmwareTypes: row.supportedFirmwareTypes ?? [],
          })),
        );
      }),
      { numRuns: 50 },
    );
  });
});

describe("builder and simulator agree", () => {
  const startSim = useSimCloud();

  it("what the builder accepts, the simulator accepts (202); with a different validator", async () => {
    const sim = await startSim({ bulkDelayMs: 60_000 });
    await fc.assert(
      fc.asyncProperty(uniqueRows, async (rows) => {
        const [body] = buildOnboardingCsv(rows);
        const response = await fetch(`${sim.baseUrl}/devices`, {
          method: "POST",
          headers: { authorization: `Bearer ${sim.apiKey}`, "content-type": "text/csv" },
          body: body?.body ?? null,
        });
        expect(response.status, await response.clone().text()).toBe(202);
        await response.text();
      }),
      { numRuns: 60 },
    );
  });

  it("what it rejects carries the row, device ID and field; the simulator rejects it too (422)", async () => {
    const sim = await startSim({ bulkDelayMs: 60_000 });
    await fc.assert(
      fc.asyncProperty(
        uniqueRows,
        fc.nat(),
        corruption,
        async (rows, pick, [_key, field, corrupt]) => {
          const index = pick % rows.length;
          const bad = rows.map((row, i) => (i === index ? corrupt(row) : row));
          expect(() => buildOnboardingCsv(bad)).toThrow(
            csvInvalid({ row: index, deviceId: bad[index]?.deviceId, field }),
          );
          // The same row, serialised naively, is refused by the server naming the same row.
          const row = bad[index] as OnboardingRow;
          const naive = `${row.deviceId},${row.subType},${row.tags?.join("|")},${row.supportedFirmwareTypes?.join("|")},"${row.certificate}"\n`;
          const response = await fetch(`${sim.baseUrl}/devices`, {
            method: "POST",
            headers: { authorization: `Bearer ${sim.apiKey}`, "content-type": "text/csv" },
            body: naive,
          });
          const answer = (await response.json()) as { code: number; message: string };
          expect(response.status).toBe(422);
          expect(answer.code).toBe(42200);
          expect(answer.message).toContain("row 0");
        },
      ),
      { numRuns: 60 },
    );
  });
});

// Register CSVs against the simulator. Keys and certificates must be real P-256 ones (the
// simulator parses them), so they come from small pools made once: a handful of key pairs,
// and certificates issued per row from them (a fresh serial each, so no two devices share a
// certificate, which the simulator refuses). PEM formatting varies the way the builder allows.
const KEY_POOL_SIZE = 12;
const keyPool = Array.from(
  { length: KEY_POOL_SIZE },
  () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey,
);
const keyPemPool = keyPool.map((key) => key.export({ type: "spki", format: "pem" }).toString());

/** `pem` (LF, 64 columns) with other line breaks and, optionally, the base64 on one line. */
function reformatPem(pem: string, nl: string, oneLine: boolean): string {
  const [begin = "", ...rest] = pem.trimEnd().split("\n");
  const end = rest.pop() ?? "";
  const body = oneLine ? [rest.join("")] : rest;
  return [begin, ...body, end].map((line) => `${line}${nl}`).join("");
}
const pemStyle = fc.record({ nl: lineBreak, oneLine: fc.boolean() });

interface RegisterRowSpec {
  deviceId: string;
  /** Index in the key pool; no two rows share one. */
  key: number;
  style: { nl: string; oneLine: boolean };
}

/** 1–8 rows of distinct device IDs, each with its own pool key and PEM style. */
const registerRows: fc.Arbitrary<RegisterRowSpec[]> = fc
  .uniqueArray(deviceId, { minLength: 1, maxLength: 8 })
  .chain((ids) =>
    fc.tuple(
      fc.constant(ids),
      fc.shuffledSubarray(
        keyPool.map((_, i) => i),
        { minLength: ids.length, maxLength: ids.length },
      ),
      fc.array(pemStyle, { minLength: ids.length, maxLength: ids.length }),
    ),
  )
  .map(([ids, keys, styles]) =>
    ids.map((id, i) => ({ deviceId: id, key: keys[i]!, style: styles[i]! })),
  );

/**
 * Corruptions of one row (either CSV): the field and reason the builder must name, and
 * whether the simulator refuses the row too (it allows device IDs up to 128 characters).
 */
type RegisterCorruption = [
  field: "deviceId" | "pem",
  reason: RegExp,
  corrupt: (row: { deviceId: string; pem: string }) => { deviceId: string; pem: string },
  serverRefuses: boolean,
];
const registerCorruption = fc.constantFrom<RegisterCorruption>(
  ["deviceId", /^"[^"]*\.x" is not valid/, (r) => ({ ...r, deviceId: `${r.deviceId}.x` }), true],
  ["deviceId", /^"[^"]* x" is not valid/, (r) => ({ ...r, deviceId: `${r.deviceId} x` }), true],
  ["deviceId", /^"" is not valid/, (r) => ({ ...r, deviceId: "" }), true],
  ["deviceId", /this one has 65/, (r) => ({ ...r, deviceId: "d".repeat(65) }), false],
  ["pem", /must end with a line break$/, (r) => ({ ...r, pem: r.pem.trimEnd() }), true],
  ["pem", /^exactly one .+ PEM block is allowed$/, (r) => ({ ...r, pem: r.pem + r.pem }), true],
  ["pem", /^not a single .+ PEM block/, (r) => ({ ...r, pem: `\n${r.pem}` }), true],
  [
    "pem",
    /^not a single .+ PEM block/,
    (r) => ({ ...r, pem: r.pem.replaceAll(/CERTIFICATE|PUBLIC KEY/g, "PRIVATE KEY") }),
    true,
  ],
);

/** POSTs a CSV body as it is to a bulk endpoint of the simulator. */
function postCsv(sim: SimCloud, path: string, body: string): Promise<Response> {
  return fetch(`${sim.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${sim.apiKey}`, "content-type": "text/csv" },
    body,
  });
}

/** The job a 202 answer started, waited for: its status and failures. */
async function finishedJob(sim: SimCloud, response: Response) {
  const text = await response.text();
  expect(response.status, text).toBe(202);
  const { bulkOpsRequestId } = JSON.parse(text) as { bulkOpsRequestId: string };
  return clientFor(sim).waitForBulkOps(bulkOpsRequestId, fastWait);
}

/**
 * The register CSV property both builders must have: corrupt one row of a valid list, and the
 * builder refuses with ERR_CSV_INVALID naming that row, its device ID, the field and a precise
 * reason (in the details and the message); the simulator refuses the row too (422, row 0, the
 * same field) when it is stricter than its own rules.
 */
async function checkRegisterRejection(o: {
  sim: SimCloud;
  path: string;
  pemField: "certPem" | "keyPem";
  rows: Array<{ deviceId: string; pem: string }>;
  index: number;
  corruption: RegisterCorruption;
  build: (rows: Array<{ deviceId: string; pem: string }>) => unknown;
}) {
  const [field, reason, corrupt, serverRefuses] = o.corruption;
  const rows = o.rows.map((row, i) => (i === o.index ? corrupt(row) : row));
  const bad = rows[o.index]!;
  // A corrupted device ID may now equal an earlier row's: that is the first problem then.
  fc.pre(!rows.slice(0, o.index).some((row) => row.deviceId === bad.deviceId));
  const csvField = field === "pem" ? o.pemField : "deviceId";
  const prefix = `CSV row ${o.index + 1} (device "${bad.deviceId}"), field ${csvField}: `;
  expect(() => o.build(rows)).toThrow(
    csvInvalid(
      {
        row: o.index,
        deviceId: bad.deviceId,
        field: csvField,
        reason: expect.stringMatching(reason),
      },
      expect.stringMatching(
        new RegExp(`${escapeRegExp(prefix)}.*(?:${reason.source.replace(/^\^|\$$/g, "")})`),
      ),
    ),
  );
  if (!serverRefuses) return;
  const response = await postCsv(o.sim, o.path, `${bad.deviceId},"${bad.pem}"\n`);
  const answer = (await response.json()) as { code: number; message: string };
  expect(response.status, answer.message).toBe(422);
  expect(answer.code).toBe(42200);
  expect(answer.message).toContain(`row 0, field ${csvField}:`);
}

describe("RegisterPublicKeys CSV: builder and simulator agree", () => {
  const startSim = useSimCloud();
  const keyRows = (rows: RegisterRowSpec[]) =>
    rows.map((r) => ({
      deviceId: r.deviceId,
      pem: reformatPem(keyPemPool[r.key]!, r.style.nl, r.style.oneLine),
    }));

  it("what the builder accepts, the simulator accepts (202) and registers every key", async () => {
    const sim = await startSim();
    await fc.assert(
      fc.asyncProperty(registerRows, async (rows) => {
        const input = keyRows(rows).map((r) => ({ deviceId: r.deviceId, publicKey: r.pem }));
        const [body, ...more] = buildRegisterPublicKeysCsv(input);
        expect(more).toEqual([]);
        expect(body?.deviceIds).toEqual(input.map((r) => r.deviceId));
        const job = await finishedJob(sim, await postCsv(sim, "/devices/public-keys", body!.body));
        expect(job.failures).toEqual([]);
        expect(job.status).toBe("SUCCEEDED");
        for (const r of rows) {
          expect(sim.registry.publicKeys.get(r.deviceId)?.equals(keyPool[r.key]!)).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("what it rejects carries the row, device ID, field and reason; the simulator refuses it too", async () => {
    const sim = await startSim();
    await fc.assert(
      fc.asyncProperty(registerRows, fc.nat(), registerCorruption, (rows, pick, corruption) =>
        checkRegisterRejection({
          sim,
          path: "/devices/public-keys",
          pemField: "keyPem",
          rows: keyRows(rows),
          index: pick % rows.length,
          corruption,
          build: (input) =>
            buildRegisterPublicKeysCsv(
              input.map((r) => ({ deviceId: r.deviceId, publicKey: r.pem })),
            ),
        }),
      ),
      { numRuns: 100 },
    );
  });
});

describe("RegisterCertificates CSV: builder and simulator agree", () => {
  const startSim = useSimCloud();
  /** A certificate of its own for each row (the CA gives each a fresh serial). */
  const certificateRows = async (rows: RegisterRowSpec[]) => {
    const ca = await testCa();
    return rows.map((r) => ({
      deviceId: r.deviceId,
      pem: reformatPem(
        ca.issue({ deviceId: r.deviceId, publicKey: keyPool[r.key]! }),
        r.style.nl,
        r.style.oneLine,
      ),
    }));
  };

  it("what the builder accepts, the simulator accepts (202) and the job replaces every certificate", async () => {
    await fc.assert(
      fc.asyncProperty(registerRows, async (rows) => {
        // RegisterCertificates replaces the certificate of onboarded devices: a fresh
        // account per run, the devices onboarded there with their public keys first.
        const sim = await startSimCloud({ bulkDelayMs: 10 });
        try {
          const client = clientFor(sim);
          const onboarded = await client.onboardDevices(
            rows.map((r) => ({ deviceId: r.deviceId, certificate: keyPemPool[r.key]! })),
          );
          expect((await client.waitForBulkUpload(onboarded, fastWait)).failures).toEqual([]);
          const input = (await certificateRows(rows)).map((r) => ({
            deviceId: r.deviceId,
            certificate: r.pem,
          }));
          const [body, ...more] = buildRegisterCertificatesCsv(input);
          expect(more).toEqual([]);
          expect(body?.deviceIds).toEqual(input.map((r) => r.deviceId));
          const response = await postCsv(sim, "/devices/certificates", body!.body);
          const job = await finishedJob(sim, response);
          expect(job.failures).toEqual([]);
          expect(job.status).toBe("SUCCEEDED");
          for (const r of input) {
            expect(sim.devices.get(r.deviceId)?.onboardingPem).toBe(r.certificate);
          }
        } finally {
          await sim.close();
        }
      }),
      { numRuns: 25 },
    );
  });

  it("what it rejects carries the row, device ID, field and reason; the simulator refuses it too", async () => {
    const sim = await startSim();
    await fc.assert(
      fc.asyncProperty(registerRows, fc.nat(), registerCorruption, async (rows, pick, corruption) =>
        checkRegisterRejection({
          sim,
          path: "/devices/certificates",
          pemField: "certPem",
          rows: await certificateRows(rows),
          index: pick % rows.length,
          corruption,
          build: (input) =>
            buildRegisterCertificatesCsv(
              input.map((r) => ({ deviceId: r.deviceId, certificate: r.pem })),
            ),
        }),
      ),
      { numRuns: 100 },
    );
  });
});
