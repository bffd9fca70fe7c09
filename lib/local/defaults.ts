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

/** Access keys for the local endpoint. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * The publisher's key on the local stack: what `lup publish`, rclone, aws-cli and the Defold editor
 * sign with. It may do what the deployed publisher user may: put (incl. multipart) under
 * `staging/<game>/`, read `status/`, list `content/` and `status/`, and the editor's two read-only
 * calls (list buckets, read the bucket ACL). Fixed and documented, so tools can be configured once.
 */
export const LOCAL_PUBLISHER_CREDENTIALS: LocalCredentials = { accessKeyId: 'LUPLOCALPUBLISHER', secretAccessKey: 'lup-local-publisher-secret' };

/**
 * The operators' key on the local stack: what `lup status|releases|verify|promote|rollback|gc`
 * sign with against a running `lup local`. Locally these commands act through the endpoint
 * directly, as the control function does on AWS, so the key has the pipeline's full reach.
 */
export const LOCAL_OPERATOR_CREDENTIALS: LocalCredentials = { accessKeyId: 'LUPLOCALOPERATOR', secretAccessKey: 'lup-local-operator-secret' };
