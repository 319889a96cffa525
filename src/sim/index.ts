// Simulators that are real programs: a simulated nRF91 modem (and, from its own folder, nRF Cloud).

export * from "./modem/index.js";
