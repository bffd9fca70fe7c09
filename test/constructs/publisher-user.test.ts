import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PublisherUser, PublisherUserProps } from '../../lib/constructs/publisher-user';
import { allowedPairs, identityStatements, logicalId, patternMatches, testStack } from './helpers';

function deploy(props: Partial<PublisherUserProps> = {}) {
  const stack = testStack();
  const bucket = new s3.Bucket(stack, 'Bucket');
  const publisher = new PublisherUser(stack, 'Publisher', { bucket, ...props });
  const template = Template.fromStack(stack);
  const statements = identityStatements(template, logicalId(publisher.user));
  return { stack, bucket, publisher, template, statements, pairs: allowedPairs(statements, bucket) };
}

const FORBIDDEN_KEYS = [
  'content/g1/resources/3f2a',
  'content/g1/manifests/ab.dmanifest',
  'channels/g1/stable.json',
  'releases/g1/r1.json',
  'quarantine/g1/u1/x',
  'state/g1/u1/manifest.json',
];

describe(PublisherUser, () => {
  test('may put, incl. multipart, under staging/ and read status/ — and nothing else on objects', () => {
    const { pairs } = deploy();
    expect([...pairs].filter((p) => !p.startsWith('s3:ListBucket ')).sort()).toEqual([
      's3:AbortMultipartUpload staging/*',
      's3:GetObject status/*',
      's3:ListMultipartUploadParts staging/*',
      's3:PutObject staging/*',
    ]);
  });

  test.each(FORBIDDEN_KEYS)('allows no object action on %s', (key) => {
    const { pairs } = deploy();
    const objectGrants = [...pairs].filter((p) => !p.startsWith('s3:ListBucket ') && !p.endsWith(' <bucket>') && !p.endsWith(' *'));
    expect(objectGrants.filter((p) => patternMatches(p.split(' ')[1], key))).toEqual([]);
  });

  test('never deletes and never reads staging', () => {
    const { statements, pairs } = deploy({ editorCompatibility: true });
    expect(statements.flatMap((s) => s.actions).filter((a) => /delete|\*/i.test(a))).toEqual([]);
    expect([...pairs].filter((p) => p.startsWith('s3:GetObject ') && patternMatches(p.split(' ')[1], 'staging/g1/u1/x'))).toEqual([]);
    expect(statements.every((s) => s.effect === 'Allow')).toBe(true);
  });

  test('lists the bucket only under content/ and status/', () => {
    const { statements } = deploy();
    const list = statements.filter((s) => s.actions.includes('s3:ListBucket'));
    expect(list).toHaveLength(1);
    expect(list[0].condition).toEqual({ StringLike: { 's3:prefix': ['content/*', 'status/*'] } });
  });

  test('scoped to one game, every grant names that game', () => {
    const { pairs, statements } = deploy({ games: ['g1'] });
    expect([...pairs].filter((p) => !p.startsWith('s3:ListBucket ')).sort()).toEqual([
      's3:AbortMultipartUpload staging/g1/*',
      's3:GetObject status/g1/*',
      's3:ListMultipartUploadParts staging/g1/*',
      's3:PutObject staging/g1/*',
    ]);
    expect(statements.find((s) => s.actions.includes('s3:ListBucket'))?.condition).toEqual({
      StringLike: { 's3:prefix': ['content/g1/*', 'status/g1/*'] },
    });
    expect([...pairs].some((p) => patternMatches(p.split(' ')[1], 'staging/g2/u1/x'))).toBe(false);
  });

  test('editorCompatibility adds exactly s3:ListAllMyBuckets and s3:GetBucketAcl', () => {
    const without = deploy().pairs;
    const withEditor = deploy({ editorCompatibility: true }).pairs;
    expect([...withEditor].filter((p) => !without.has(p)).sort()).toEqual(['s3:GetBucketAcl <bucket>', 's3:ListAllMyBuckets *']);
    expect([...without].some((p) => p.startsWith('s3:ListAllMyBuckets') || p.startsWith('s3:GetBucketAcl'))).toBe(false);
  });

  test('stores the access key in Secrets Manager, never in an output', () => {
    const { publisher, template } = deploy();
    const keyId = logicalId(publisher.accessKey as never);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: {
        'Fn::Join': ['', ['{"accessKeyId":"', { Ref: keyId }, '","secretAccessKey":"', { 'Fn::GetAtt': [keyId, 'SecretAccessKey'] }, '"}']],
      },
    });
    expect(JSON.stringify(template.toJSON().Outputs ?? {})).not.toContain('SecretAccessKey');
    expect(publisher.secret).toBeDefined();
  });

  test('without accessKey creates neither key nor secret', () => {
    const { publisher, template } = deploy({ accessKey: false });
    template.resourceCountIs('AWS::IAM::AccessKey', 0);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(publisher.accessKey).toBeUndefined();
    expect(publisher.secret).toBeUndefined();
  });

  test('reports every invalid prop together, naming each', () => {
    expect(() => deploy({ games: ['Bad Game', 'ok'], accessKeySerial: 0 })).toThrow(
      expect.objectContaining({
        problems: [
          expect.objectContaining({ location: { field: 'Test/Publisher.games[0]' } }),
          expect.objectContaining({ location: { field: 'Test/Publisher.accessKeySerial' } }),
        ],
      }),
    );
    expect(() => deploy({ games: [] })).toThrow(/Test\/Publisher\.games/);
  });
});
