/**
 * The environment contract between the CDK stack and the Lambda handlers: the stack sets these
 * variables, `lambda/runtime.ts` reads them. One definition, two consumers.
 */
export const LAMBDA_ENV = {
  /** Name of the content bucket. */
  bucketName: 'LUP_BUCKET_NAME',
  /**
   * Path of the validated studio configuration (JSON; public keys only, no secrets), shipped in a
   * Lambda layer the stack builds at synth time: a studio of 200 games does not fit in the 4 KB
   * of environment variables Lambda allows.
   */
  studioConfigFile: 'LUP_STUDIO_CONFIG_FILE',
  /** SHA-256 of that file's bytes: a function never runs with another deployment's configuration. */
  studioConfigSha256: 'LUP_STUDIO_CONFIG_SHA256',
  /** Base URL players download from, e.g. `https://d111.cloudfront.net/`. */
  cdnBaseUrl: 'LUP_CDN_BASE_URL',
  /** CloudFront distribution whose pointer paths are invalidated on each flip. */
  distributionId: 'LUP_DISTRIBUTION_ID',
} as const;

/**
 * Optional endpoint overrides, never set by the stack: they let the handler test run the real
 * handler entries against the local S3 server and a local stand-in for the CloudFront API.
 */
export const LAMBDA_ENDPOINT_OVERRIDES = {
  /** S3 endpoint (path-style addressing). */
  s3Endpoint: 'LUP_S3_ENDPOINT',
  /** CloudFront API endpoint. */
  cloudFrontEndpoint: 'LUP_CLOUDFRONT_ENDPOINT',
} as const;

/** Where the configuration layer puts the file (layers are extracted under /opt). */
export const STUDIO_CONFIG_LAYER_PATH = 'lup/studio-config.json';
export const STUDIO_CONFIG_FILE = `/opt/${STUDIO_CONFIG_LAYER_PATH}`;
