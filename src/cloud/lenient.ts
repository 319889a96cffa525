import { z } from "zod";

/**
 * A response field read leniently: missing or of another shape, it becomes undefined instead
 * of failing the whole answer (nRF Cloud's and the Provisioning Service's schemas both use it).
 */
export const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

const lenientString = () => lenient(z.string());

/** Several lenient string fields at once: most of a device record is optional text. */
export const lenientStrings = <const K extends string>(...names: K[]) =>
  Object.fromEntries(names.map((name) => [name, lenientString()])) as {
    [P in K]: ReturnType<typeof lenientString>;
  };
