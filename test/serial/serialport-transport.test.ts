import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { SerialPortStream } from "@serialport/stream";
import { SerialPort } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { openAtClient } from "../../src/at/index.js";
import { type ByteTransport, fromDuplex, openSerialTransport } from "../../src/serial/index.js";
import { HangUpAwareBinding, portOpenError } from "../../src/serial/serialport-transport.js";
import { basicModem, serveScript } from "../at/scripted-modem.js";
import { type PtyPair, startPtyPair } from "./socat.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function ptyPair(): Promise<PtyPair> {
  const pair = await startPtyPair();
  cleanups.push(() => pair.kill());
  return pair;
}

async function open(path: string): Promise<ByteTransport> {
  const transport = await openSerialTransport(path);
  cleanups.push(() => transport.close());
  return transport;
}

function collect(transport: ByteTransport): () => string {
  const chunks: Buffer[] = [];
  transport.onData((chunk) => chunks.push(Buffer.from(chunk)));
  return () => Buffer.concat(chunks).toString("utf8");
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("openSerialTransport on a socat pseudo-terminal pair", () => {
  it("opens both ends through their symlinks and carries bytes both ways", async () => {
    const pair = await ptyPair();
    const host = await open(pair.a);
    const modem = await open(pair.b);
    expect(host.name).toBe(pair.a);
    const atModem = collect(modem);
    const atHost = collect(host);
    await host.write("AT+CGSN\r\n");
    await modem.write(new Uint8Array(Buffer.from("352656100367872\r\nOK\r\n")));
    await until(() => atModem() === "AT+CGSN\r\n" && atHost() === "352656100367872\r\nOK\r\n");
  });

  it("runs an AT round trip with a scripted modem on the other end", async () => {
    const pair = await ptyPair();
    serveScript(await open(pair.b), basicModem());
    const at = await openAtClient(await open(pair.a), {
      mode: "auto",
      flushMs: 20,
      // Only a silent port waits this long (the shell probe gets ERROR at once): room for a
      // loaded machine, where socat and this process share the CPUs.
      probeTimeoutMs: 2000,
    });
    expect(at.mode).toBe("at");
    expect((await at.send("AT+CGSN")).lines).toEqual(["352656100367872"]);
  });

  it("fails the pending command with ERR_AT_DISCONNECTED when socat dies mid-command", async () => {
    const pair = await ptyPair();
    serveScript(
      await open(pair.b),
      basicModem((c) => (c === "AT%KEYGEN=42,2,0" ? [] : undefined)),
    );
    const host = await open(pair.a);
    const closed = new Promise<Error | undefined>((resolve) => host.onClose(resolve));
    const at = await openAtClient(host, { mode: "at", flushMs: 0 });
    // Default timeout 60 s: only the unplug can end it. Caught now so no rejection goes unhandled.
    const keygen = at.send("AT%KEYGEN=42,2,0").catch((error: unknown) => error);
    const queued = at.send("AT+CGSN").catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pair.kill();
    await expect(keygen).resolves.toMatchObject({
      code: "ERR_AT_DISCONNECTED",
      details: { port: pair.a, command: "AT%KEYGEN=42,2,0" },
    });
    await expect(queued).resolves.toMatchObject({ code: "ERR_AT_DISCONNECTED" });
    expect(await closed).toMatchObject({
      code: "ERR_TRANSPORT_DISCONNECTED",
      details: { port: pair.a },
    });
  });

  it("reports a hang-up that came before the read started (serialport alone retries 0-byte reads forever)", async () => {
    const pair = await ptyPair();
    const port = new SerialPortStream({
      binding: new HangUpAwareBinding(SerialPort.binding),
      path: pair.a,
      baudRate: 115200,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) =>
      port.open((error) => (error ? reject(error) : resolve())),
    );
    cleanups.push(async () => {
      if (port.isOpen) await new Promise((resolve) => port.close(resolve));
    });
    const closed = new Promise<unknown>((resolve) => port.once("close", resolve));
    await pair.kill();
    // Nothing has read the port yet: the first read meets a tty that is already hung up.
    port.on("data", () => {});
    expect(await closed).toMatchObject({
      disconnected: true,
      message: expect.stringMatching(/hung up/),
    });
  });

  it("refuses a second open of a locked port", async () => {
    const pair = await ptyPair();
    await open(pair.a);
    await expect(openSerialTransport(pair.a)).rejects.toMatchObject({
      code: "ERR_PORT_OPEN",
      message: expect.stringMatching(/the port is in use.*another program/),
      details: { reason: "in-use" },
    });
  });

  it("explains a missing port in words, without the system call, saying what to do once", async () => {
    const path = "/dev/serial/by-id/usb-SEGGER_J-Link_000960000000-if00";
    await expect(openSerialTransport(path)).rejects.toMatchObject({
      code: "ERR_PORT_OPEN",
      message:
        `cannot open ${path}: no such port (ENOENT). Next: check the USB cable, and list ` +
        "attached boards with `nrf-provision ports`",
      details: { reason: "not-found" },
    });
  });

  it("explains permission and lock failures the way each OS words them", () => {
    const denied = Object.assign(new Error("Error: Permission denied, cannot open /dev/ttyACM0"), {
      code: "EACCES",
    });
    expect(portOpenError("/dev/ttyACM0", denied).message).toMatch(/dialout.*udev rule/);
    expect(portOpenError("COM35", new Error("Opening COM35: Access denied")).details.reason).toBe(
      "in-use",
    );
    expect(portOpenError("COM9", new Error("Opening COM9: File not found")).details.reason).toBe(
      "not-found",
    );
  });
});

describe("fromDuplex", () => {
  async function socketPair(): Promise<[Socket, Socket]> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
    const client = tcpConnect(address.port, "127.0.0.1");
    const serverSide = await accepted;
    server.close();
    return [client, serverSide];
  }

  it("runs the AT client over a TCP socket", async () => {
    const [client, serverSide] = await socketPair();
    serveScript(fromDuplex(serverSide, "tcp:modem"), basicModem());
    const at = await openAtClient(fromDuplex(client, "tcp:host"), { mode: "at", flushMs: 0 });
    expect((await at.send("AT+CGSN")).lines).toEqual(["352656100367872"]);
    await at.close();
    expect(client.destroyed).toBe(true);
  });

  it("reports the peer going away as a disconnect, and our own close as a normal close", async () => {
    const [client, serverSide] = await socketPair();
    const host = fromDuplex(client, "tcp:host");
    const device = fromDuplex(serverSide, "tcp:modem");
    const hostClosed = new Promise<Error | undefined>((resolve) => host.onClose(resolve));
    const deviceClosed = new Promise<Error | undefined>((resolve) => device.onClose(resolve));
    await device.close();
    expect(await deviceClosed).toBeUndefined();
    expect(await hostClosed).toMatchObject({
      code: "ERR_TRANSPORT_DISCONNECTED",
      details: { port: "tcp:host" },
    });
    expect(host.isOpen).toBe(false);
    await expect(host.write("AT\r\n")).rejects.toMatchObject({ code: "ERR_TRANSPORT_CLOSED" });
  });
});
