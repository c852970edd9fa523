/**
 * The package version, as in package.json and deno.json (a test checks
 * that all three agree).
 *
 * @module
 */

/** The raindrops package version. */
export const VERSION = "0.1.0";
