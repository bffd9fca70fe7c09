/** Defaults of `lup verify`, apart from the verifier so that `lup verify --help` can show them without loading it. */

/** Downloads in flight at once. */
export const DEFAULT_VERIFY_CONCURRENCY = 16;
