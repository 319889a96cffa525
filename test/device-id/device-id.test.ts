import { describe, expect, it } from "vitest";
import { DEVICE_ID_API_PATTERN, deviceIdProblem } from "../../src/device-id/index.js";

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

  it("names the rule a bad ID breaks: the API's alphabet and length, or the firmware's 64", () => {
    for (const id of ["", "a b", "a.b", "gerät", "x".repeat(129)]) {
      expect(deviceIdProblem(id)).toMatch(/may contain only letters, digits/);
    }
    for (const length of [65, 128]) {
      const id = "x".repeat(length);
      expect(DEVICE_ID_API_PATTERN.test(id)).toBe(true); // nRF Cloud would take it…
      expect(deviceIdProblem(id)).toBe(
        `device firmware accepts at most 64 characters, this one has ${length}`,
      );
    }
  });
});
