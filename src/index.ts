// The library's public face: each concern's index.

export * from "./at/index.js";
export * from "./attest/index.js";
export * from "./ca/index.js";
export * from "./cloud/index.js";
export * from "./der/index.js";
export * from "./device-id/index.js";
export * from "./errors/index.js";
export * from "./jwt/index.js";
export * from "./modem/index.js";
export * from "./p256/index.js";
export * from "./pipeline/index.js";
export * from "./serial/index.js";
export * from "./sim/cloud/index.js";
export * from "./sim/index.js";
