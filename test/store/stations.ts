import { type StationIdentity, thisHost } from "../../src/store/postgres/stations.js";

/** A station as the store tests register it: this host, an issuer named after it. */
export function testStation(id: string, pid = process.pid): StationIdentity {
  return {
    id,
    host: thisHost(),
    pid,
    issuer: { certificatePem: "(test)", sha256Fingerprint: `issuer-of-${id}`, serialNumber: "01" },
  };
}
