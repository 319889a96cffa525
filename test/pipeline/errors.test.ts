import { describe, expect, it } from "vitest";
import { AtError } from "../../src/at/index.js";
import { ExitCode, exitCodeForErrorCode } from "../../src/cli/exit-codes.js";
import { ProvisionError } from "../../src/pipeline/index.js";

const board = { port: "/dev/ttyACM0", imei: "352656100367872" };

describe("ProvisionError.wrap", () => {
  it("keeps a lower layer's code and details", () => {
    const lower = new AtError("ERR_AT_TIMEOUT", "AT+CGSN timed out", {
      details: { port: board.port, command: "AT+CGSN" },
    });
    const wrapped = ProvisionError.wrap("identity", board, lower);
    expect(wrapped).toMatchObject({
      code: "ERR_AT_TIMEOUT",
      step: "identity",
      cause: lower,
      details: { step: "identity", command: "AT+CGSN", causeCode: "ERR_AT_TIMEOUT" },
    });
  });

  it("gives a failure no layer classified a fixed code, with the step as a field", () => {
    for (const step of ["connect", "keygen", "write-root-ca", "restore-mode"] as const) {
      const wrapped = ProvisionError.wrap(step, board, new TypeError("boom"));
      expect(wrapped).toMatchObject({
        code: "ERR_PROVISION_STEP_FAILED",
        step,
        details: { step, port: board.port },
      });
      expect(wrapped.message).toMatch(new RegExp(`^${step} failed on /dev/ttyACM0 .*: boom\\.`));
      expect(exitCodeForErrorCode(wrapped.code)).toBe(ExitCode.DEVICE);
    }
  });

  it("keeps the exit codes of the steps that are not on the board: issue 4, onboard 5", () => {
    const issue = ProvisionError.wrap("issue", board, new Error("disk gone"));
    const onboard = ProvisionError.wrap("onboard", board, new Error("socket hang up"));
    expect(issue).toMatchObject({ code: "ERR_PROVISION_ISSUE", step: "issue" });
    expect(onboard).toMatchObject({ code: "ERR_PROVISION_ONBOARD", step: "onboard" });
    expect(exitCodeForErrorCode(issue.code)).toBe(ExitCode.CA);
    expect(exitCodeForErrorCode(onboard.code)).toBe(ExitCode.CLOUD);
  });
});
