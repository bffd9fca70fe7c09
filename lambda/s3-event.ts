/**
 * S3 event notifications as Lambda receives them, and the adapter from an event to a step.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
import type { S3Event } from 'aws-lambda';
import type { PipelineContext } from '../lib/core/pipeline/context';

export type { S3Event };

/** Object keys in S3 events are URL-encoded, with `+` for spaces. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/**
 * A Lambda handler running `step` for every created object in the event. A failure is thrown, not
 * caught: Lambda retries the event twice and then sends it to the on-failure queue.
 */
export function s3StepHandler(
  step: (context: PipelineContext, key: string) => Promise<void>,
  context: () => PipelineContext,
): (event: S3Event) => Promise<void> {
  return async (event) => {
    for (const record of event.Records ?? []) {
      if (!record.eventName.startsWith('ObjectCreated:')) continue;
      await step(context(), decodeEventKey(record.s3.object.key));
    }
  };
}
