import type { z } from "zod";

/**
 * A response field read leniently: missing or of another shape, it becomes undefined instead
 * of failing the whole answer (nRF Cloud's and the Provisioning Service's schemas both use it).
 */
export const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
