// The `request` member of a provisioning command (reference §1.4). Key names marked [S] there
// are typed; the others the portal shows have no confirmed JSON name, so any object passes.

export interface SecTagRequest {
  secTag: number;
}

export type ProvisioningCommandRequest =
  | { clientPrivateKeyGeneration: SecTagRequest }
  | { cloudAccessKeyGeneration: SecTagRequest }
  | {
      certificateSigningRequest: SecTagRequest & {
        /** e.g. `O=Example,CN=<device ID>` */
        attributes?: string;
        /** 9-character bit string; utils' default is `101010000`. */
        keyUsage?: string;
      };
    }
  | { serverCertificate: SecTagRequest & { content: string } }
  | { clientCertificate: SecTagRequest & { content: string } }
  | { finished: Record<string, never> }
  | Record<string, Record<string, unknown>>;

/** utils' default key usage for a CSR command (reference §2.1 step 12). */
export const DEFAULT_KEY_USAGE = "101010000";

/** The CSR (or public key) a key-generation command returned: `message`, formerly `csr`. */
export function keygenResponseText(
  response: Record<string, unknown> | undefined,
  commandType: string,
): string | null {
  const member = response?.[commandType];
  if (typeof member !== "object" || member === null) return null;
  const { message, csr } = member as { message?: unknown; csr?: unknown };
  if (typeof message === "string" && message !== "") return message;
  return typeof csr === "string" && csr !== "" ? csr : null;
}
