import "reflect-metadata";
import { createPublicKey, type KeyObject, verify, webcrypto } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCertificationRequest, verifyCsr } from "../../src/ca/csr.js";
import { randomSerial, signCertificate, validity } from "../../src/ca/issue.js";
import { readChildren, readElement, Tag, wholeOf } from "../../src/der/index.js";
import { buildCsr, type CsrSpec, OID } from "./csr-factory.js";
import { openssl, useTestCa } from "./helpers.js";
import { buildWithX509Library, type ReferenceCa, referenceCa } from "./reference-issuer.js";

const CSR_COUNT = 2000;
const ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-".split("");

/** Random device IDs and subject shapes: modem-like, multi-RDN, other string types, NULL quirk. */
const csrSpec: fc.Arbitrary<CsrSpec> = fc
  .record({
    id: fc
      .array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 64 })
      .map((c) => c.join("")),
    cnTag: fc.constantFrom<number>(Tag.UTF8_STRING, Tag.PRINTABLE_STRING),
    org: fc.option(
      fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[^\x20-\x7e]/.test(s)),
    ),
    country: fc.option(fc.constantFrom("NO", "US", "DE")),
    nullParameter: fc.boolean(),
  })
  .map(({ id, cnTag, org, country, nullParameter }) => ({
    subject: [
      ...(country ? [{ oid: OID.C, value: country, tag: Tag.PRINTABLE_STRING }] : []),
      ...(org ? [{ oid: OID.O, value: org }] : []),
      {
        oid: OID.CN,
        value: id,
        tag: cnTag === Tag.PRINTABLE_STRING && /[:_]/.test(id) ? Tag.UTF8_STRING : cnTag,
      },
    ],
    nullParameter,
  }));

function tbsOf(der: Uint8Array): Buffer {
  return Buffer.from(wholeOf(der, readChildren(der, readElement(der, 0))[0]!));
}

function signatureOf(der: Uint8Array): Buffer {
  const bits = readChildren(der, readElement(der, 0))[2]!;
  return Buffer.from(der.subarray(bits.contentStart + 1, bits.end));
}

describe("fast path vs @peculiar/x509 generator (differential)", () => {
  const fixture = useTestCa();
  let reference: ReferenceCa;
  let caPublicKey: KeyObject;
  beforeAll(async () => {
    const { ca } = fixture;
    const pkcs8 = ca.privateKey.export({ type: "pkcs8", format: "der" });
    caPublicKey = createPublicKey(ca.privateKey);
    reference = await referenceCa(ca.info.certificatePem, pkcs8, webcrypto as unknown as Crypto);
  });

  it(`builds byte-identical TBSCertificates for ${CSR_COUNT} random CSRs; openssl verifies samples`, async () => {
    const { ca, dir } = fixture;
    const specs = fc.sample(csrSpec, { numRuns: CSR_COUNT, seed: 20261125 });
    const samples: string[] = [];
    for (const [i, spec] of specs.entries()) {
      const csr = buildCsr(spec);
      const serial = randomSerial();
      const times = validity(ca, 1 + (i % 4000));
      const parsed = parseCertificationRequest(csr.der);
      verifyCsr(parsed); // the issuing path's check (the native verifier when built) accepts it
      const fast = await signCertificate(ca, parsed, {
        deviceId: parsed.commonNames[0]!,
        ...times,
        profile: "default",
        serial,
      });
      const request = new x509.Pkcs10CertificateRequest(csr.der as BufferSource);
      const slow = await buildWithX509Library(reference, request, { serial, ...times });
      // Same bytes to be signed means every field decodes the same (signatures differ: ECDSA is randomised).
      expect(tbsOf(fast.der)).toEqual(tbsOf(slow.der));
      expect(verify("sha256", tbsOf(fast.der), caPublicKey, signatureOf(fast.der))).toBe(true);
      if (i % 25 === 0) {
        const ours = new x509.X509Certificate(fast.der as BufferSource);
        const theirs = new x509.X509Certificate(slow.der as BufferSource);
        expect(ours.subject).toBe(theirs.subject);
        expect(ours.issuer).toBe(theirs.issuer);
        expect(ours.serialNumber).toBe(theirs.serialNumber);
        expect(ours.notBefore).toEqual(theirs.notBefore);
        expect(ours.notAfter).toEqual(theirs.notAfter);
        expect(ours.extensions.map((e) => Buffer.from(e.rawData))).toEqual(
          theirs.extensions.map((e) => Buffer.from(e.rawData)),
        );
        samples.push(fast.pem);
      }
    }
    const files = await Promise.all(
      samples.map(async (pem, i) => {
        const file = join(dir, `sample-${i}.pem`);
        await writeFile(file, pem);
        return file;
      }),
    );
    const out = await openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslclient",
      "-CAfile",
      ca.info.files.certificate,
      ...files,
    ]);
    expect(out.trim().split("\n")).toEqual(files.map((f) => `${f}: OK`));
  }, 120_000);
});
