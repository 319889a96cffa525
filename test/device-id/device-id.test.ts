import { describe, expect, it } from "vitest";
import {
  DEVICE_ID_API_PATTERN,
  DEVICE_ID_RULE,
  deviceIdProblem,
} from "../../src/device-id/index.js";

describe("deviceIdProblem", () => {
  it("accepts 1–64 characters of the API's alphabet, either case", () => {
    for (const id of [
      "a",
      "nrf-352656100367872",
      "50363154-3931-44F0-8022-121b6401627d",
      "x".repeat(64),
      "a:b_c-D",
    ]) {
      expect(deviceIdProblem(id)).toBeNull();
    }
  });

  it("states the one rule, with the length of an ID only the firmware would refuse", () => {
    expect(DEVICE_ID_RULE).toBe(
      "1 to 64 characters, each a letter (a-z, A-Z), a digit, ':', '_' or '-'",
    );
    for (const id of ["", "a b", "a.b", "gerät", "x".repeat(129)]) {
      expect(deviceIdProblem(id)).toBe(`a device ID is ${DEVICE_ID_RULE}`);
    }
    for (const length of [65, 128]) {
      const id = "x".repeat(length);
      expect(DEVICE_ID_API_PATTERN.test(id)).toBe(true); // nRF Cloud would take it…
      expect(deviceIdProblem(id)).toBe(
        `a device ID is ${DEVICE_ID_RULE}; this one has ${length} (nRF Cloud would take up to 128, device firmware only 64)`,
      );
    }
  });
});
