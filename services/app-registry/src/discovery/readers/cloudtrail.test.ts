import { describe, expect, it } from 'vitest';
import { cloudTrailSighting } from './cloudtrail.js';

const origin = { file: 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/x.json.gz', line: 1, text: '{}' };

const dana = {
  type: 'IAMUser',
  principalId: 'AIDAJDPLRKLG7UEXAMPLE',
  arn: 'arn:aws:iam::111122223333:user/dana',
  accountId: '111122223333',
  userName: 'dana',
};

function event(fields: Record<string, unknown>) {
  return {
    eventVersion: '1.09',
    userIdentity: dana,
    eventTime: '2026-12-01T09:02:11Z',
    awsRegion: 'eu-west-1',
    eventID: 'e-1',
    recipientAccountId: '111122223333',
    requestParameters: null,
    responseElements: null,
    ...fields,
  };
}

describe('cloudTrailSighting', () => {
  it('reads a Lambda CreateFunction with its ARN and the IAM user who created it', () => {
    const sighting = cloudTrailSighting(
      event({
        eventSource: 'lambda.amazonaws.com',
        eventName: 'CreateFunction20150331',
        requestParameters: { functionName: 'invoice-parser' },
        responseElements: {
          functionName: 'invoice-parser',
          functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:invoice-parser',
        },
      }),
      origin,
    );
    expect(sighting).toEqual({
      format: 'cloudtrail',
      kind: 'function',
      action: 'create',
      match: { resourceId: 'arn:aws:lambda:eu-west-1:111122223333:function:invoice-parser' },
      label: 'invoice-parser',
      at: new Date('2026-12-01T09:02:11Z'),
      actor: 'arn:aws:iam::111122223333:user/dana',
      recordId: 'e-1',
      evidence: origin,
    });
  });

  it('builds the function ARN from the request when the response has none, and drops version qualifiers', () => {
    const built = cloudTrailSighting(
      event({
        eventSource: 'lambda.amazonaws.com',
        eventName: 'CreateFunction',
        requestParameters: { functionName: 'tax-calc' },
      }),
      origin,
    );
    expect(built?.match.resourceId).toBe('arn:aws:lambda:eu-west-1:111122223333:function:tax-calc');
    const deploy = cloudTrailSighting(
      event({
        eventSource: 'lambda.amazonaws.com',
        eventName: 'UpdateFunctionCode20150331v2',
        requestParameters: { functionName: 'arn:aws:lambda:eu-west-1:111122223333:function:tax-calc' },
        responseElements: { functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:tax-calc:7' },
      }),
      origin,
    );
    expect(deploy).toMatchObject({
      action: 'deploy',
      label: 'tax-calc',
      match: { resourceId: 'arn:aws:lambda:eu-west-1:111122223333:function:tax-calc' },
    });
  });

  it('marks a function URL without authentication as public and gives its host', () => {
    const sighting = cloudTrailSighting(
      event({
        eventSource: 'lambda.amazonaws.com',
        eventName: 'CreateFunctionUrlConfig20211031',
        requestParameters: { functionName: 'invoice-parser', authType: 'NONE' },
        responseElements: {
          functionUrl: 'https://abc123.lambda-url.eu-west-1.on.aws/',
          functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:invoice-parser',
          authType: 'NONE',
        },
      }),
      origin,
    );
    expect(sighting).toMatchObject({
      kind: 'function',
      action: 'create',
      public: true,
      match: {
        resourceId: 'arn:aws:lambda:eu-west-1:111122223333:function:invoice-parser',
        host: 'abc123.lambda-url.eu-west-1.on.aws',
      },
    });
    const iam = cloudTrailSighting(
      event({
        eventSource: 'lambda.amazonaws.com',
        eventName: 'CreateFunctionUrlConfig20211031',
        requestParameters: { functionName: 'invoice-parser', authType: 'AWS_IAM' },
      }),
      origin,
    );
    expect(iam?.public).toBe(false);
  });

  it('reads API gateways, App Runner and ECS services, buckets and CloudFront distributions', () => {
    const read = (fields: Record<string, unknown>) => cloudTrailSighting(event(fields), origin);
    expect(
      read({
        eventSource: 'apigateway.amazonaws.com',
        eventName: 'CreateRestApi',
        requestParameters: { name: 'orders' },
        responseElements: { id: 'k2l3m4n5o6', name: 'orders' },
      }),
    ).toMatchObject({
      kind: 'api-gateway',
      label: 'orders',
      match: {
        resourceId: 'arn:aws:apigateway:eu-west-1::/restapis/k2l3m4n5o6',
        host: 'k2l3m4n5o6.execute-api.eu-west-1.amazonaws.com',
      },
    });
    expect(
      read({
        eventSource: 'apprunner.amazonaws.com',
        eventName: 'CreateService',
        responseElements: {
          service: {
            serviceName: 'menu',
            serviceArn: 'arn:aws:apprunner:eu-west-1:111122223333:service/menu/8fe1e10304f84fd2b0df550fe98a71fa',
            serviceUrl: 'xyz.eu-west-1.awsapprunner.com',
          },
        },
      }),
    ).toMatchObject({ kind: 'container-app', label: 'menu', match: { host: 'xyz.eu-west-1.awsapprunner.com' } });
    expect(
      read({
        eventSource: 'ecs.amazonaws.com',
        eventName: 'CreateService',
        requestParameters: { cluster: 'apps', serviceName: 'payroll' },
      }),
    ).toMatchObject({
      kind: 'container-app',
      match: { resourceId: 'arn:aws:ecs:eu-west-1:111122223333:service/apps/payroll' },
    });
    expect(
      read({ eventSource: 's3.amazonaws.com', eventName: 'CreateBucket', requestParameters: { bucketName: 'scans' } }),
    ).toMatchObject({ kind: 'bucket', action: 'create', match: { resourceId: 'arn:aws:s3:::scans' } });
    expect(
      read({
        eventSource: 's3.amazonaws.com',
        eventName: 'PutBucketPolicy',
        requestParameters: { bucketName: 'scans' },
      }),
    ).toMatchObject({ kind: 'bucket', action: 'deploy' });
    expect(
      read({
        eventSource: 'cloudfront.amazonaws.com',
        eventName: 'CreateDistribution2020_05_31',
        responseElements: { distribution: { id: 'E1', domainName: 'd1.cloudfront.net' } },
      }),
    ).toMatchObject({
      kind: 'cdn',
      match: { resourceId: 'arn:aws:cloudfront::111122223333:distribution/E1', host: 'd1.cloudfront.net' },
    });
  });

  it('ignores failed calls, read-only calls and events of other services', () => {
    const failed = event({
      eventSource: 'lambda.amazonaws.com',
      eventName: 'CreateFunction20150331',
      requestParameters: { functionName: 'x' },
      errorCode: 'AccessDeniedException',
      errorMessage: 'User is not authorized',
    });
    expect(cloudTrailSighting(failed, origin)).toBeUndefined();
    expect(
      cloudTrailSighting(event({ eventSource: 'lambda.amazonaws.com', eventName: 'ListFunctions20150331' }), origin),
    ).toBeUndefined();
    // CreateService exists in many services; only App Runner's and ECS's are apps.
    expect(
      cloudTrailSighting(
        event({
          eventSource: 'servicediscovery.amazonaws.com',
          eventName: 'CreateService',
          requestParameters: { name: 'x' },
        }),
        origin,
      ),
    ).toBeUndefined();
    expect(cloudTrailSighting('not an object', origin)).toBeUndefined();
  });

  it('names the actor from the role session issuer, the principal or the invoking service when there is no ARN', () => {
    const read = (userIdentity: unknown) =>
      cloudTrailSighting(
        event({
          userIdentity,
          eventSource: 's3.amazonaws.com',
          eventName: 'CreateBucket',
          requestParameters: { bucketName: 'b' },
        }),
        origin,
      )?.actor;
    expect(read({ type: 'AssumedRole', sessionContext: { sessionIssuer: { userName: 'ci-deployer' } } })).toBe(
      'ci-deployer',
    );
    expect(read({ type: 'Unknown', principalId: 'AIDAEXAMPLE' })).toBe('AIDAEXAMPLE');
    expect(read({ type: 'AWSService', invokedBy: 'cloudformation.amazonaws.com' })).toBe(
      'cloudformation.amazonaws.com',
    );
    expect(read(undefined)).toBeUndefined();
  });
});
