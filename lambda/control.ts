// Placeholder entry: replaced by the operator control handler (issue 3).
export const handler = async (_event: unknown): Promise<unknown> => ({});
