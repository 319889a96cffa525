import { describe, expect, it } from "vitest";
import { createMemoryTransportPair } from "../../src/serial/index.js";

describe("in-memory transport pair", () => {
  it("delivers bytes written on one end to the other", async () => {
    const [host, device] = createMemoryTransportPair();
    const received: string[] = [];
    device.onData((chunk) => received.push(Buffer.from(chunk).toString()));
    await host.write("AT\r\n");
    await new Promise((resolve) => setImmediate(resolve));
    expect(received.join("")).toBe("AT\r\n");
  });

  it("reports an unplug to both ends and refuses later writes", async () => {
    const [host, device] = createMemoryTransportPair();
    const errors: Array<string | undefined> = [];
    host.onClose((error) => errors.push(error?.message));
    device.onClose((error) => errors.push(error?.message));
    device.disconnect("cable pulled");
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/cable pulled/);
    expect(host.isOpen).toBe(false);
    await expect(host.write("AT\r\n")).rejects.toMatchObject({ code: "ERR_TRANSPORT_CLOSED" });
  });
});
