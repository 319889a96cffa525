import { execFile } from "node:child_process";
import {
  appendFile,
  chmod,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLedger } from "../../src/ca/index.js";
import { modemLikeCsr } from "./csr-factory.js";
import { PASSPHRASE, tempDir } from "./helpers.js";

// Issue 11 items 10 and 11: file-system failures under the built CLI, run as a child process
// the way a user runs it. Each is an ERR_LEDGER_* / ERR_IO_* error naming the file, exit 4,
// never "unexpected error" with a stack trace. A full disk is a real one: a 16 KiB tmpfs in a
// private mount namespace (`unshare --map-root-user --mount`, no root needed), or /dev/full.

const CLI = new URL("../../bin/nrf-provision.js", import.meta.url).pathname;
const ENV = { ...process.env, NRF_PROVISION_CA_PASSPHRASE: PASSPHRASE };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: ENV, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
const cli = (args: string[], cwd: string) => run(process.execPath, [CLI, ...args], cwd);
/** A shell script in its own mount namespace, as a mapped root. */
const unshared = (script: string, cwd: string) =>
  run("unshare", ["--map-root-user", "--mount", "bash", "-c", script], cwd);

function expectCleanError(result: Run, code: RegExp) {
  expect(result.code, result.stderr).toBe(4);
  expect(result.stderr).toMatch(code);
  expect(result.stderr).not.toMatch(/unexpected error|\n\s+at /);
}

describe("file-system failures of ca commands (built CLI)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let caDir: string;
  let ledger: string;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    caDir = join(dir, "ca");
    ledger = join(caDir, "ledger.jsonl");
    const init = await cli(["ca", "init", "--dir", "ca"], dir);
    expect(init.code, init.stderr).toBe(0);
    await writeFile(join(dir, "d.pem"), modemLikeCsr("nrf-352656100000001").pem);
  });
  afterEach(() => cleanup());

  it("a folder in the ledger's place: ERR_LEDGER_NOT_A_FILE", async () => {
    await rm(ledger);
    await mkdir(ledger);
    const result = await cli(["ca", "issue", "--dir", "ca", "--csr", "d.pem"], dir);
    expectCleanError(result, /ledger\.jsonl is a folder, not a file.*\[ERR_LEDGER_NOT_A_FILE\]/);
    expectCleanError(await cli(["ca", "show", "--dir", "ca"], dir), /ERR_LEDGER_NOT_A_FILE/);
  });

  it("a missing ledger is an error, not silently recreated", async () => {
    await rm(ledger);
    const result = await cli(["ca", "issue", "--dir", "ca", "--csr", "d.pem"], dir);
    expectCleanError(
      result,
      /ledger\.jsonl is missing.*Restore it from your backup.*\[ERR_LEDGER_MISSING\]/,
    );
    await expect(stat(ledger)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a ledger on a read-only file system: ERR_LEDGER_UNWRITABLE naming the file and the fix", async () => {
    const result = await unshared(
      `mount --bind ca ca && mount -o remount,ro,bind ca && exec "${process.execPath}" "${CLI}" ca issue --dir ca --csr d.pem`,
      dir,
    );
    expectCleanError(
      result,
      /Cannot open the CA ledger .*ledger\.jsonl \(EROFS\)\. .*read-only file system: remount it read-write.*\[ERR_LEDGER_UNWRITABLE\]/,
    );
  });

  it("a checksum-valid ledger line that is not JSON: ERR_LEDGER_CORRUPT naming the line", async () => {
    const first = await cli(["ca", "issue", "--dir", "ca", "--csr", "d.pem"], dir);
    expect(first.code, first.stderr).toBe(0);
    const junk = "this is not json";
    await appendFile(ledger, `${junk}\t${crc32(junk).toString(16).padStart(8, "0")}\n`);
    const result = await cli(["ca", "issue", "--dir", "ca", "--csr", "d.pem"], dir);
    expectCleanError(
      result,
      /Line 2 of the CA ledger .*ledger\.jsonl passes its checksum but is not a ledger record.*Move that line out.*\[ERR_LEDGER_CORRUPT\]/,
    );
    expectCleanError(
      await cli(["ca", "ledger", "--dir", "ca"], dir),
      /Line 2 .*\[ERR_LEDGER_CORRUPT\]/,
    );
  });

  it("ENOSPC on the ledger (/dev/full): no certificate, no stray lock file, ledger unchanged", async () => {
    await rm(ledger);
    await symlink("/dev/full", ledger);
    const result = await cli(
      ["ca", "issue", "--dir", "ca", "--csr", "d.pem", "--out", "d.crt"],
      dir,
    );
    expectCleanError(
      result,
      /Could not append to the CA ledger .*\(ENOSPC\)\. No certificate was handed out\. .*full.*\[ERR_LEDGER_WRITE\]/,
    );
    expect(result.stdout).toBe("");
    expect(await readdir(caDir)).toEqual(["ca.key.pem", "ca.pem", "ledger.jsonl"]);
    await expect(stat(join(dir, "d.crt"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("ENOSPC in the CA folder itself (full tmpfs): a clean error and no ledger.jsonl.lock.* files left", async () => {
    const result = await unshared(
      `cp -a ca ca-copy && mount -t tmpfs -o size=32k tmpfs ca && cp -a ca-copy/. ca/ && (head -c 1000000 /dev/zero > ca/filler || true) && "${process.execPath}" "${CLI}" ca issue --dir ca --csr d.pem; code=$?; ls -a ca; exit $code`,
      dir,
    );
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toMatch(/ENOSPC.*\[ERR_LEDGER_WRITE\]/);
    expect(result.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(result.stdout).not.toMatch(/ledger\.jsonl\.lock/);
    expect(result.stdout).toMatch(/ledger\.jsonl\n/);
  });

  it("ENOSPC while writing batch output: says what was issued and what was written; no empty files", async () => {
    const files: string[] = [];
    for (let i = 0; i < 40; i++) {
      const file = `c${i}.pem`;
      await writeFile(
        join(dir, file),
        modemLikeCsr(`nrf-3526561000001${String(i).padStart(2, "0")}`).pem,
      );
      files.push(file);
    }
    await mkdir(join(dir, "out"));
    const result = await unshared(
      `mount -t tmpfs -o size=16k tmpfs out && "${process.execPath}" "${CLI}" ca issue --dir ca --csr ${files.join(" ")} --out-dir out --json; code=$?; ls -l out; find out -size 0 -printf 'EMPTY %p\\n'; exit $code`,
      dir,
    );
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).not.toMatch(/unexpected error|\n\s+at /);
    const json = JSON.parse(
      result.stdout.slice(0, result.stdout.lastIndexOf("}") + 1).replace(/\ntotal[\s\S]*$/, ""),
    );
    expect(json.error.code).toBe("ERR_IO_WRITE");
    expect(json.error.message).toMatch(
      /\(ENOSPC\)\. The disk holding .* is full: free space and run again\. 40 certificates were issued and recorded in the ledger .*ledger\.jsonl; \d+ output files were written before this failure\. Export the certificates again with "nrf-provision ca ledger --dir/,
    );
    expect(json.error.details.issued).toHaveLength(40);
    expect(json.error.details.written.length).toBeLessThan(40);
    expect(result.stdout).not.toContain("EMPTY");
    expect((await readLedger(ledger)).entries).toHaveLength(40);
  }, 60_000);

  it("a short ledger write (file size limit) leaves no record for a certificate not reported issued", async () => {
    // Fill the ledger to just under a 12 KiB limit, then issue a batch that crosses it.
    for (let i = 0; i < 8; i++) {
      const r = await cli(["ca", "issue", "--dir", "ca", "--csr", "d.pem"], dir);
      expect(r.code, r.stderr).toBe(0);
    }
    const before = await readLedger(ledger);
    const sizeBefore = (await stat(ledger)).size;
    expect(sizeBefore).toBeLessThan(12 * 1024);
    const files: string[] = [];
    for (let i = 0; i < 6; i++) {
      const file = `s${i}.pem`;
      await writeFile(join(dir, file), modemLikeCsr(`nrf-3526561000002${i}0`).pem);
      files.push(file);
    }
    await chmod(dir, 0o755);
    const result = await run(
      "bash",
      [
        "-c",
        `trap '' XFSZ; ulimit -f 12; exec "${process.execPath}" "${CLI}" ca issue --dir ca --csr ${files.join(" ")} --out-dir out --workers 1 --json`,
      ],
      dir,
    );
    expect(result.stderr).not.toMatch(/unexpected error|\n\s+at /);
    const summary = JSON.parse(result.stdout);
    expect(summary.failed).toBeGreaterThan(0);
    expect(summary.failures[0].code).toBe("ERR_LEDGER_WRITE");
    const after = await readLedger(ledger);
    // Exactly the certificates reported issued were added, and no torn record remains.
    expect(after.entries.length - before.entries.length).toBe(summary.issued);
    expect(after.damagedLines).toBe(0);
    const text = await readFile(ledger, "utf8");
    expect(text.endsWith("\n")).toBe(true);
  }, 60_000);
});
