import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureDirectory, readInputFile, writeNewFile } from "../../src/files/index.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nrf-files-"));
  dirs.push(dir);
  return dir;
}

describe("writeNewFile", () => {
  it("creates a file with the exact mode, whatever the umask, and leaves no temporary file", async () => {
    const dir = await tempDir();
    const previous = process.umask(0o000);
    try {
      await writeNewFile(join(dir, "key.pem"), "secret", { private: true });
      await writeNewFile(join(dir, "cert.pem"), "public");
    } finally {
      process.umask(previous);
    }
    expect((await stat(join(dir, "key.pem"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "cert.pem"))).mode & 0o777).toBe(0o644);
    expect((await readdir(dir)).sort()).toEqual(["cert.pem", "key.pem"]);
  });

  it("refuses an existing file (ERR_IO_EXISTS) and keeps it", async () => {
    const dir = await tempDir();
    const path = join(dir, "out.pem");
    await writeFile(path, "keep me");
    await expect(writeNewFile(path, "new")).rejects.toMatchObject({
      code: "ERR_IO_EXISTS",
      details: { path },
    });
    expect(await readFile(path, "utf8")).toBe("keep me");
    expect(await readdir(dir)).toEqual(["out.pem"]);
  });

  it("never writes through a symbolic link, dangling or not, not even with force", async () => {
    const dir = await tempDir();
    const target = join(dir, "target.txt");
    await writeFile(target, "victim");
    await symlink(target, join(dir, "link.pem"));
    await symlink(join(dir, "nowhere.txt"), join(dir, "dangling.pem"));
    for (const name of ["link.pem", "dangling.pem"]) {
      for (const force of [false, true]) {
        await expect(writeNewFile(join(dir, name), "evil", { force })).rejects.toMatchObject({
          code: "ERR_IO_SYMLINK",
        });
      }
    }
    expect(await readFile(target, "utf8")).toBe("victim");
    expect((await readdir(dir)).sort()).toEqual(["dangling.pem", "link.pem", "target.txt"]);
    expect((await lstat(join(dir, "dangling.pem"))).isSymbolicLink()).toBe(true);
  });

  it("with force replaces a regular file, a private one always ends 0600 (an old 0644 file too)", async () => {
    const dir = await tempDir();
    const path = join(dir, "dev.key.pem");
    await writeFile(path, "old", { mode: 0o644 });
    await writeNewFile(path, "new key", { private: true, force: true });
    expect(await readFile(path, "utf8")).toBe("new key");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("never replaces a CA file, even with force", async () => {
    const dir = await tempDir();
    for (const name of ["ca.key.pem", "ca.pem", "ledger.jsonl"]) {
      await writeFile(join(dir, name), "CA");
      for (const force of [false, true]) {
        await expect(writeNewFile(join(dir, name), "x", { force })).rejects.toMatchObject({
          code: "ERR_IO_PROTECTED",
        });
      }
      expect(await readFile(join(dir, name), "utf8")).toBe("CA");
    }
  });

  it("reports a folder where the file belongs, and a file where a folder belongs", async () => {
    const dir = await tempDir();
    await ensureDirectory(join(dir, "sub"));
    await expect(writeNewFile(join(dir, "sub"), "x")).rejects.toMatchObject({
      code: "ERR_IO_EXISTS",
    });
    await writeFile(join(dir, "file"), "");
    await expect(ensureDirectory(join(dir, "file"))).rejects.toMatchObject({
      code: "ERR_IO_NOT_A_DIRECTORY",
    });
    await expect(writeNewFile(join(dir, "missing", "x.pem"), "x")).rejects.toMatchObject({
      code: "ERR_IO_WRITE",
      message: expect.stringContaining("ENOENT"),
    });
  });
});

describe("readInputFile", () => {
  it("reads up to the cap and refuses more, naming the file", async () => {
    const dir = await tempDir();
    const path = join(dir, "in.txt");
    await writeFile(path, "x".repeat(100));
    expect((await readInputFile(path, { maxBytes: 100 })).length).toBe(100);
    await expect(readInputFile(path, { maxBytes: 99, what: "CSR file" })).rejects.toMatchObject({
      code: "ERR_IO_TOO_LARGE",
      message: expect.stringContaining(`The CSR file ${path} is larger than 99 bytes`),
    });
    await expect(readInputFile(join(dir, "none"))).rejects.toMatchObject({
      code: "ERR_IO_READ",
    });
  });
});
