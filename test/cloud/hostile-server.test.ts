import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCliCaptured } from "../cli/harness.js";

// Issue 11 items 8, 13 and 14 against a real HTTP server on 127.0.0.1 that answers what a
// hostile or broken server would.

const API_KEY = "sk_live_0123456789abcdef-SECRET";
const FAKE_KEY =
  "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRET\n-----END PRIVATE KEY-----\n";
const FAKE_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: Handler) {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      requests.push(`${request.method} ${request.url}`);
      handler(request, response, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), "hostile-cloud-"));
  const run = (...argv: string[]) =>
    runCliCaptured(argv, {
      cwd: dir,
      env: { NRF_CLOUD_BASE_URL: `http://127.0.0.1:${port}/v1`, NRF_CLOUD_API_KEY: API_KEY },
    });
  return { requests, dir, run, port };
}

function json(response: ServerResponse, status: number, value: unknown) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(value));
}

const createdFor = (clientId: string) => ({
  clientId,
  caCert: FAKE_CERT,
  clientCert: FAKE_CERT,
  privateKey: FAKE_KEY,
});

describe("cloud create-cert --out-dir", () => {
  const args = [
    "cloud",
    "create-cert",
    "--device",
    "nrf-352656100000009",
    "--ownership-code",
    "123456",
  ];

  it("refuses an existing key file before asking the server; --force makes it 0600", async () => {
    const { requests, dir, run } = await serve((_, response) =>
      json(response, 201, createdFor("nrf-352656100000009")),
    );
    const keyPath = join(dir, "jitp", "nrf-352656100000009.key.pem");
    mkdirSync(join(dir, "jitp"));
    writeFileSync(keyPath, "old", { mode: 0o644 });
    const refused = await run(...args, "--out-dir", "jitp");
    expect(refused.code).toBe(4);
    expect(refused.err).toMatch(
      /Refusing to overwrite .*nrf-352656100000009\.key\.pem.*\[ERR_IO_EXISTS\]/,
    );
    expect(requests).toEqual([]);
    expect(readFileSync(keyPath, "utf8")).toBe("old");

    const forced = await run(...args, "--out-dir", "jitp", "--force");
    expect(forced.code, forced.err).toBe(0);
    expect(readFileSync(keyPath, "utf8")).toBe(FAKE_KEY);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
  });

  it("names the files after the requested device, not the server's clientId", async () => {
    const { dir, run } = await serve((_, response) => json(response, 201, createdFor("evil-name")));
    const result = await run(...args, "--out-dir", "jitp");
    expect(result.code, result.err).toBe(0);
    expect(result.err).toMatch(
      /warning: nRF Cloud answered with a certificate for "evil-name", not the requested nrf-352656100000009/,
    );
    expect(readdirSync(join(dir, "jitp")).sort()).toEqual([
      "nrf-352656100000009.ca.pem",
      "nrf-352656100000009.crt.pem",
      "nrf-352656100000009.key.pem",
    ]);
  });

  it("a non-201 reply carrying a private key never prints it", async () => {
    const { run } = await serve((_, response) =>
      json(response, 200, createdFor("nrf-352656100000009")),
    );
    for (const extra of [[], ["--json"]]) {
      const result = await run(...args, ...extra);
      expect(result.code).toBe(5);
      expect(result.out + result.err).not.toContain("SECRETSECRET");
      expect(result.out + result.err).toContain("[private key redacted]");
    }
  });
});

describe("secrets and bounded server text", () => {
  it("a server echoing the Authorization header: the API key is in no output", async () => {
    const { run } = await serve((request, response) =>
      json(response, 400, {
        code: 40000,
        message: `bad request, you sent ${request.headers.authorization}`,
      }),
    );
    for (const extra of [[], ["--json"]]) {
      const result = await run("cloud", "device", "get", "--device", "d-1", ...extra);
      expect(result.code).toBe(5);
      expect(result.out + result.err).not.toContain(API_KEY);
      expect(result.out + result.err).toContain("Bearer [redacted]");
    }
    // Echoed in a raw (non-JSON) body, without the Bearer prefix, too.
    const raw = await serve((_, response) => {
      response.writeHead(500);
      response.end(`upstream said: key=${API_KEY}`);
    });
    const result = await raw.run("cloud", "device", "get", "--device", "d-1", "--json");
    expect(result.out + result.err).not.toContain(API_KEY);
  }, 60_000);

  it("credentials in --base-url are refused and not printed", async () => {
    const { run } = await serve((_, response) => json(response, 200, { id: "d-1" }));
    for (const extra of [[], ["--json"]]) {
      const result = await run(
        "cloud",
        "device",
        "get",
        "--device",
        "d-1",
        "--base-url",
        "https://admin:hunter2pass@api.example.com/v1",
        ...extra,
      );
      expect(result.code).toBe(2); // a bad --base-url is a usage error, before anything is sent
      expect(result.out + result.err).toMatch(/must not carry credentials/);
      expect(result.out + result.err).not.toContain("hunter2pass");
      expect(result.out + result.err).not.toContain("admin");
    }
  });

  it("a 30 MB JSON array error body gives a bounded message", async () => {
    const huge = JSON.stringify(Array.from({ length: 1_000_000 }, (_, i) => `problem number ${i}`));
    expect(huge.length).toBeGreaterThan(20_000_000);
    const { run } = await serve((_, response) => {
      response.writeHead(400, { "content-type": "application/json" });
      response.end(huge);
    });
    const result = await run("cloud", "device", "get", "--device", "d-1", "--json");
    expect(result.code).toBe(5);
    expect(result.err.length).toBeLessThan(2_000);
    expect(result.out.length).toBeLessThan(4_000);
    expect(result.err).toContain("problem number 0; problem number 1");
  }, 60_000);
});

describe("CSV errors", () => {
  it("number rows from 1, as the file's lines", async () => {
    const { dir, run, requests } = await serve((_, response) => json(response, 202, {}));
    writeFileSync(join(dir, "certs.csv"), `dev-1,"${FAKE_CERT}"\ndev-2,a,b\n`);
    const result = await run("cloud", "register-certs", "--csv", "certs.csv");
    expect(result.code).toBe(5);
    expect(result.err).toMatch(
      /^error: CSV row 2: 3 columns, expected 2\. Fix the file; nothing was uploaded\./,
    );
    writeFileSync(join(dir, "dup.csv"), `dev-1,"${FAKE_CERT}"\ndev-1,"${FAKE_CERT}"\n`);
    const dup = await run("cloud", "register-certs", "--csv", "dup.csv");
    expect(dup.err).toMatch(/CSV row 2 \(device "dev-1"\), field deviceId: duplicates row 1/);
    expect(requests).toEqual([]);
  });
});

describe("what the server says is checked", () => {
  it("cloud device get refuses a record for another device", async () => {
    const { run } = await serve((_, response) => json(response, 200, { id: "someone-else" }));
    const result = await run("cloud", "device", "get", "--device", "d-1", "--json");
    expect(result.code).toBe(5);
    expect(JSON.parse(result.out).error).toMatchObject({ code: "ERR_CLOUD_RESPONSE" });
    expect(JSON.parse(result.out).error.message).toContain(
      'describes device "someone-else", not d-1',
    );
  });

  it("a timeout names the option that raises it, and --http-timeout sets it", async () => {
    const { run } = await serve(() => {}); // never answers
    const result = await run("cloud", "device", "get", "--device", "d-1", "--http-timeout", "1");
    expect(result.code).toBe(5);
    expect(result.err).toMatch(/within 1000 ms; .*--http-timeout <seconds>.*\[ERR_CLOUD_TIMEOUT\]/);
  }, 30_000);
});
