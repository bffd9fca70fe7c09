// Placeholder entry: replaced by the pipeline handler (issue 3). Keeps the CDK stack bundleable.
export const handler = async (_event: unknown): Promise<void> => {};
