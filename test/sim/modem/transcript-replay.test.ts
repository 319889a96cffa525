import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseKeygenOutput } from "../../../src/attest/index.js";
import type { SimModemOptions } from "../../../src/sim/modem/index.js";
import { readTranscript, transcriptNames } from "../../at/transcripts.js";
import { readVector } from "../../vectors.js";
import { connectSim } from "./helpers.js";

// Every real transcript in the vectors, replayed command by command against the simulated
// board configured like the one in the transcript: the same lines, in the same shapes.

/** A line reduced to its shape: values that differ from board to board are replaced. */
function shape(line: string): string {
  if (/^\[\d{2}:\d{2}:\d{2}\.\d{3},\d{3}\] <inf> [\w-]+: /.test(line)) return "<zephyr log line>";
  if (/^\+CSCON: \d$/.test(line)) return line;
  if (/^\+CEREG: \d+(,|$)/.test(line)) return line.replace(/,.*$/, ",…");
  if (/^%KEYGEN: "[\w-]+\.[\w-]+"$/.test(line)) return '%KEYGEN: "<body>.<cose>"';
  return line;
}

/**
 * How the board of each transcript is set up (IMEI and device UUID come from the transcript
 * itself). The firmware is not shown; 1.3.5 is that of the 2021 DK whose %CMNG hashes were
 * byte-verified (nrf91-at.md §5), and lists hashes.
 */
const boards: Record<(typeof transcriptNames)[number], SimModemOptions> = {
  // An nRF9160 DK running asset_tracker: it prints URCs and log lines around AT+CFUN.
  "transcript_2021_nrf9160dk_windows_edited.txt": {
    model: "nRF9160-SICA",
    firmware: "mfw_nrf9160_1.3.5",
    urcs: "cfun",
    functionalMode: 1,
  },
  // A Thingy:91 with the AT client firmware: no application output.
  "transcript_2021_thingy91_linux_edited.txt": {
    model: "nRF9160-SICA",
    firmware: "mfw_nrf9160_1.3.5",
    urcs: "none",
    functionalMode: 1,
  },
};

const quoted = (command: string) => /"([\s\S]*)"$/.exec(command)?.[1] ?? "";

describe.each(transcriptNames)("replaying %s against the simulated board", (name) => {
  const text = readVector(name);
  const exchanges = readTranscript(name);
  const imei = /Device IMEI: (\d{15})/.exec(text)?.[1];
  const deviceUuid = /Device ID: ([0-9a-f-]{36})/.exec(text)?.[1];

  it("answers every command with lines of the same shapes", async () => {
    expect(imei).toBeDefined();
    expect(deviceUuid).toBeDefined();
    const { reader } = connectSim({ ...boards[name], imei, deviceUuid });
    // The board had been provisioned before: the transcript's deletes find credentials.
    expect(await reader.send("AT+CFUN=4")).toContain("OK");
    for (const type of [0, 1]) {
      expect(await reader.send(`AT%CMNG=0,16842753,${type},"old"`)).toEqual(["OK"]);
    }
    expect((await reader.send("AT%KEYGEN=16842753,2,0")).at(-1)).toBe("OK");
    expect(await reader.send(`AT+CFUN=${boards[name].functionalMode}`)).toEqual(["OK"]);
    if (boards[name].urcs !== "none") {
      await reader.until(() => reader.pending.includes("Network registration status"));
      expect(await reader.send("AT")).toContain("OK"); // consumes the registration URCs
    }

    for (const exchange of exchanges) {
      const answer = await reader.send(exchange.command);
      expect(answer.map(shape), exchange.command.split("\n", 1)[0]).toEqual(
        exchange.received.map(shape),
      );
      if (exchange.command.startsWith("AT%KEYGEN=")) {
        const real = parseKeygenOutput(exchange.received.join("\n"));
        const simulated = parseKeygenOutput(answer.join("\n"));
        // The transcripts were edited (sec tag 42 renamed 16842753 in the text); the real
        // attestation still says 42, the simulated one attests the tag that was asked for.
        expect(real.secTag).toBe(42);
        expect(simulated).toMatchObject({
          kind: real.kind,
          deviceUuid: real.deviceUuid,
          secTag: Number(/^AT%KEYGEN=(\d+)/.exec(exchange.command)?.[1]),
          keyId: real.keyId,
          digestStatus: "match",
          csr: { commonName: real.csr?.commonName, signatureValid: true },
        });
      }
    }

    // The hashes the modem lists for what the transcript wrote are those of the same bytes.
    for (const exchange of exchanges.filter((e) => e.command.startsWith("AT%CMNG=0,"))) {
      const [, tag, type] = /^AT%CMNG=0,(\d+),(\d+),/.exec(exchange.command) ?? [];
      const sha256 = createHash("sha256").update(quoted(exchange.command)).digest("hex");
      expect(await reader.send(`AT%CMNG=1,${tag},${type}`)).toEqual([
        `%CMNG: ${tag},${type},"${sha256.toUpperCase()}"`,
        "OK",
      ]);
    }
  });
});

it("the Thingy:91 transcript's root CA lists the hash a real nRF9160 DK listed for it", async () => {
  const write = readTranscript("transcript_2021_thingy91_linux_edited.txt").find((e) =>
    e.command.startsWith("AT%CMNG=0,16842753,0,"),
  );
  const { reader } = connectSim({ functionalMode: 4 });
  expect(await reader.send(write?.command ?? "")).toEqual(["OK"]);
  // nrf91-at.md §5 and cmng_list_reserved_tags_sdk_test_data.txt: Amazon Root CA 1, LF.
  const listed = readVector("cmng_list_reserved_tags_sdk_test_data.txt").split(/\r?\n/)[2];
  expect(await reader.send("AT%CMNG=1,16842753,0")).toEqual([listed, "OK"]);
});
