// Placeholder entry: replaced by the scheduled sweeper that fails releases that never complete (I4).
export const handler = async (_event: unknown): Promise<void> => {};
