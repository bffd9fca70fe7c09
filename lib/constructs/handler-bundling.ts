/**
 * How the Lambda handlers are bundled (esbuild through `NodejsFunction`). The stack and the bundle
 * test read this one definition, so the test runs the same code the stack deploys.
 */

/** The Node.js version the functions run on (the Lambda runtime and esbuild's target). */
export const HANDLER_NODE_MAJOR = 24;

/** esbuild options of every handler bundle. */
export const HANDLER_BUNDLING = {
  minify: true,
  sourceMap: true,
  // The SDK's ES module builds tree-shake far better (measured: 1007 -> 764 KiB per handler,
  // bench/bundle-size.ts), which is what cold starts pay for.
  mainFields: ['module', 'main'],
} as const;
