/**
 * The dashboard in a real headless browser: Debian's chromium (never a downloaded one) driven by
 * playwright-core, watching a simulated two-station line until all 32 boards are done.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Dashboard, startDashboard } from "../../../src/line/dashboard/index.js";
import { type Browser, launchChromium } from "./chromium.js";
import { SimulatedLine } from "./simulated-line.js";

const TOKEN = "dashboard-browser-test-token";
const screenshotDir = fileURLToPath(new URL("../../../test-output/", import.meta.url));
/** Upper bound for the whole line to finish; it normally takes a few seconds. */
const LINE_TIMEOUT_MS = 120_000;

describe("line dashboard in headless chromium", () => {
  let browser: Browser | undefined;
  let page: Page;
  let dashboard: Dashboard;
  const line = new SimulatedLine({ boardsPerStation: 16 });

  beforeAll(async () => {
    browser = await launchChromium();
    page = browser.page;
    dashboard = await startDashboard({
      readStatus: line.readStatus,
      pollIntervalMs: 150,
      host: "127.0.0.1",
      port: 0,
      token: TOKEN,
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  it("shows both stations and their boards moving through the steps, a failure with its reason, and all 32 boards done", async () => {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(dashboard.url);

    // Both stations appear with their boards while the line is running.
    await page.locator('[data-station="S1"]').waitFor();
    await page.locator('[data-station="S2"]').waitFor();
    await expect.poll(() => page.locator("#connection").textContent()).toBe("live");
    expect(await page.locator("[data-station] tr[data-device]").count()).toBe(0); // nothing started yet
    line.running = true;
    await page
      .locator('[data-station="S1"] tr[data-state="in-progress"]')
      .first()
      .waitFor({ timeout: LINE_TIMEOUT_MS });
    const stepsSeen = new Set<string>();
    const firstBoard = page.locator('[data-station="S1"] tr[data-device="nrf-352656100000000"]');
    // The same board is seen at more than one step: the page follows it as it moves.
    await expect
      .poll(
        async () => {
          const step = await firstBoard.locator("td.step").textContent();
          if (step) stepsSeen.add(step);
          return stepsSeen.size;
        },
        { timeout: LINE_TIMEOUT_MS, interval: 50 },
      )
      .toBeGreaterThan(2);

    // The failing board: its reason in the failures table, and failed in its station.
    const failure = page.locator('#failures tr[data-device="nrf-352656100000105"]');
    await failure.waitFor({ timeout: LINE_TIMEOUT_MS });
    expect(await failure.locator("td.code").textContent()).toBe("ERR_AT_TIMEOUT");
    expect(await failure.locator("td.reason").textContent()).toBe(
      "no answer to AT%KEYGEN from nrf-352656100000105 within 60 s",
    );
    expect(await failure.textContent()).toContain("S2");
    expect(await failure.textContent()).toContain("keygen");

    // Every board of both stations reaches "done".
    await page.waitForFunction(
      () =>
        document.querySelectorAll('[data-station] tr[data-state="done"]').length === 32 &&
        document.getElementById("line-done")?.textContent === "32",
      undefined,
      { timeout: LINE_TIMEOUT_MS },
    );
    expect(line.allDone).toBe(true);
    for (const station of ["S1", "S2"]) {
      const card = page.locator(`[data-station="${station}"]`);
      expect(await card.locator('tr[data-state="done"]').count()).toBe(16);
      expect(await card.locator('[data-role="stats"]').textContent()).toContain(
        "0 in progress · 16 done",
      );
      expect(await card.locator('[data-role="alive"]').textContent()).toBe("alive");
    }
    expect(await page.locator("#line-in-progress").textContent()).toBe("0");
    expect(await page.locator("#line-failed").textContent()).toBe("0");
    expect(Number(await page.locator("#line-rate").textContent())).toBeGreaterThan(0);
    // The failure stays listed after the board was provisioned again.
    expect(await page.locator("#failures tbody tr").count()).toBe(1);
    // Many snapshots arrived over server-sent events, not one page load.
    expect(Number(await page.evaluate(() => document.body.dataset.updates))).toBeGreaterThan(10);
    expect(pageErrors).toEqual([]);

    await mkdir(screenshotDir, { recursive: true });
    const screenshot = join(screenshotDir, "line-dashboard.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`line dashboard screenshot: ${screenshot}`);
    expect(existsSync(screenshot)).toBe(true);
  }, 180_000);

  it("without the token the browser gets 401 and no dashboard", async () => {
    const response = await page.goto(dashboard.url.replace(/\?token=.*$/, ""));
    expect(response?.status()).toBe(401);
    expect(await page.locator("#stations").count()).toBe(0);
  });
});
