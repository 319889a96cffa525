// The library's public face: each concern's index.
export * from "./errors/index.js";
