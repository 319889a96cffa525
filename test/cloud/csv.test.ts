import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildOnboardingCsv,
  buildRegisterCertificatesCsv,
  buildRegisterPublicKeysCsv,
  CsvError,
  type OnboardingRow,
  parseCsvRecords,
} from "../../src/cloud/index.js";
import { useSimCloud } from "./helpers.js";

const CERT =
  "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAbCd==\n-----END CERTIFICATE-----\n";
const KEY =
  "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";

function rejection(fn: () => unknown): CsvError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CsvError);
    return error as CsvError;
  }
  throw new Error("expected a CsvError");
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
    ["empty device ID", { deviceId: "" }, "deviceId", /empty/],
    ["65-char device ID", { deviceId: "a".repeat(65) }, "deviceId", /at most 64/],
    ["device ID with a dot", { deviceId: "a.b" }, "deviceId", /must match/],
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
    const error = rejection(() => buildOnboardingCsv(rows));
    expect(error.code).toBe("ERR_CSV_INVALID");
    expect(error.details).toMatchObject({ row: 1, deviceId: rows[1]?.deviceId, field });
    expect(String(error.details.reason)).toMatch(reason);
    expect(error.message).toContain(`row 1`);
    expect(error.message).toContain(field);
  });

  it("refuses duplicate device IDs and empty input", () => {
    const dup = rejection(() =>
      buildOnboardingCsv([
        { deviceId: "x", certificate: CERT },
        { deviceId: "x", certificate: CERT },
      ]),
    );
    expect(dup.details).toMatchObject({ row: 1, field: "deviceId", reason: "duplicates row 0" });
    expect(rejection(() => buildOnboardingCsv([])).details.reason).toBe("no rows");
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
    expect(
      rejection(() => buildRegisterPublicKeysCsv([{ deviceId: "a", publicKey: CERT }])).details,
    ).toMatchObject({
      field: "keyPem",
    });
    expect(
      rejection(() => buildRegisterCertificatesCsv([{ deviceId: "a", certificate: KEY }])).details,
    ).toMatchObject({
      field: "certPem",
    });
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
  supportedFirmwareTypes: fc.subarray([
    "APP",
    "MODEM",
    "BOOT",
    "SOFTDEVICE",
    "BOOTLOADER",
    "MDM_FULL",
  ]),
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
          body: body?.body,
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
          const error = rejection(() => buildOnboardingCsv(bad));
          expect(error.details).toMatchObject({
            row: index,
            deviceId: bad[index]?.deviceId,
            field,
          });
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
