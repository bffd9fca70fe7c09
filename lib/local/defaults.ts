/**
 * The local stack's defaults, in a module of their own so that the CLI can name them in `--help`
 * without loading the stack (s3rver, the AWS SDK).
 */

/** Default folder of the local stack's data, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.lup';
/** Default ports: fixed, so pointers written by one run stay valid in the next. */
export const DEFAULT_S3_PORT = 4569;
export const DEFAULT_CDN_PORT = 4570;
/** Default bucket of the local stack. */
export const LOCAL_BUCKET = 'lup-local';
