import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { OperatorRole, OperatorRoleProps } from '../../lib/constructs/operator-role';
import { allowedPairs, identityStatements, logicalId, testStack } from './helpers';

function deploy(props: Partial<OperatorRoleProps> = {}) {
  const stack = testStack();
  const bucket = new s3.Bucket(stack, 'Bucket');
  const fn = (id: string) => new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>{}') });
  const controlFunction = fn('Control');
  fn('Other');
  const operator = new OperatorRole(stack, 'Operator', { bucket, controlFunction, ...props });
  const template = Template.fromStack(stack);
  const statements = identityStatements(template, logicalId(operator.role));
  return { stack, bucket, controlFunction, operator, template, statements, pairs: allowedPairs(statements, bucket) };
}

describe(OperatorRole, () => {
  test('may invoke only the control function, unqualified, and read releases, channels and status', () => {
    const { pairs, controlFunction } = deploy();
    expect([...pairs].filter((p) => !p.startsWith('s3:ListBucket ')).sort()).toEqual([
      `lambda:InvokeFunction <${logicalId(controlFunction)}.Arn>`,
      's3:GetObject channels/*',
      's3:GetObject releases/*',
      's3:GetObject status/*',
    ]);
  });

  test('lists only releases/, channels/ and status/', () => {
    const { statements } = deploy();
    expect(statements.find((s) => s.actions.includes('s3:ListBucket'))?.condition).toEqual({
      StringLike: { 's3:prefix': ['releases/*', 'channels/*', 'status/*'] },
    });
  });

  test('writes and deletes nothing itself', () => {
    const { statements } = deploy();
    expect(statements.flatMap((s) => s.actions).filter((a) => /put|delete|\*|create/i.test(a))).toEqual([]);
  });

  test('is assumable by the account root principal by default, with MFA only', () => {
    const { template } = deploy();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{
          Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
          Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
        }],
      },
    });
  });

  test('drops the MFA condition when requireMfa is false (automation that cannot present MFA)', () => {
    const { template, operator } = deploy({ requireMfa: false, assumedBy: [new iam.ArnPrincipal('arn:aws:iam::111122223333:role/ci')] });
    const role = template.toJSON().Resources[logicalId(operator.role)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:role/ci' } },
    ]);
  });

  test('is assumable by exactly the given principals', () => {
    const { template, operator } = deploy({ assumedBy: [new iam.ArnPrincipal('arn:aws:iam::111122223333:role/release-manager')] });
    const role = template.toJSON().Resources[logicalId(operator.role)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:role/release-manager' }, Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } },
    ]);
  });

  test('fails naming assumedBy when it is empty', () => {
    expect(() => deploy({ assumedBy: [] })).toThrow(/Test\/Operator\.assumedBy/);
  });
});
