import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';

/** What `npm run build:web` writes (see `web/vite.config.ts`). */
export const WEB_DIST = 'web/dist';

/** Shipped instead of the dashboard when it was not built, so synth and deploy never fail. */
export const WEB_PLACEHOLDER = fileURLToPath(new URL('./web-placeholder', import.meta.url));

/**
 * CloudFront's origin read timeout for the function URLs. Above the SSE heartbeat (15 s), so an
 * idle stream is never cut; 60 s is the most CloudFront allows without a quota increase.
 */
export const ORIGIN_READ_TIMEOUT = Duration.seconds(60);

/** The built web app, or the placeholder when `web/dist/index.html` does not exist. */
export const webAssetDir = (repoRoot: string): string => {
  const dist = path.join(repoRoot, WEB_DIST);
  return existsSync(path.join(dist, 'index.html')) ? dist : WEB_PLACEHOLDER;
};

/** Properties of the {@link WebStack}. */
export interface WebStackProps extends StackProps {
  readonly repoRoot: string;
  readonly apiUrl: lambda.IFunctionUrl;
  readonly streamUrl: lambda.IFunctionUrl;
  /** The demo shop's URL, routed under `/shop/*` when deployed. */
  readonly shopUrl?: lambda.IFunctionUrl;
}

/**
 * Serves the dashboard: a private S3 bucket read through CloudFront with origin access control,
 * and behaviours that send the API, the webhooks and the live stream to their Function URLs, so
 * the app talks to one origin with relative paths, as it does locally.
 *
 * - `/api/stream` → the SSE function (must precede `/api/*`): not cached, not compressed, every
 *   viewer header but `Host` forwarded (`Last-Event-ID`).
 * - `/api/*`, `/webhooks/*`, `/healthz` → the API function: not cached, every viewer header but
 *   `Host` (a Function URL answers only to its own host name); with caching disabled the managed
 *   policy also forwards `Authorization` and the webhook signature headers.
 * - everything else → S3, cached; paths without a file extension get `index.html` (client
 *   routes).
 *
 * `config.json` (written at deploy time) tells the app where its API lives.
 */
export class WebStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    this.bucket = new s3.Bucket(this, 'Site', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Rebuilt on every deploy: nothing here is worth keeping.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    const spaRoutes = new cloudfront.Function(this, 'SpaRoutes', {
      comment: 'Client routes (no file extension) load index.html',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(
        [
          'function handler(event) {',
          '  var request = event.request;',
          "  var last = request.uri.split('/').pop();",
          "  if (last.indexOf('.') === -1) request.uri = '/index.html';",
          '  return request;',
          '}',
        ].join('\n'),
      ),
    });

    const functionOrigin = (url: lambda.IFunctionUrl) =>
      new origins.FunctionUrlOrigin(url, { readTimeout: ORIGIN_READ_TIMEOUT });
    const dynamic = (
      origin: cloudfront.IOrigin,
      allowedMethods: cloudfront.AllowedMethods,
      compress: boolean,
    ): cloudfront.BehaviorOptions => ({
      origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress,
    });
    const api = functionOrigin(props.apiUrl);
    const apiBehavior = dynamic(api, cloudfront.AllowedMethods.ALLOW_ALL, true);

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Self-heal dashboard, API, webhooks and live stream',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        functionAssociations: [
          { function: spaRoutes, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
        ],
      },
      additionalBehaviors: {
        // Frames must leave as they are written: no compression on the event stream.
        '/api/stream': dynamic(
          functionOrigin(props.streamUrl),
          cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
          false,
        ),
        '/api/*': apiBehavior,
        '/webhooks/*': apiBehavior,
        '/healthz': apiBehavior,
        ...(props.shopUrl
          ? {
              '/shop/*': dynamic(
                functionOrigin(props.shopUrl),
                cloudfront.AllowedMethods.ALLOW_ALL,
                true,
              ),
            }
          : {}),
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });

    new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [
        s3deploy.Source.asset(webAssetDir(props.repoRoot)),
        // The app's settings, decided at deploy time: same-origin paths behind this distribution.
        s3deploy.Source.jsonData('config.json', {
          apiBase: '/api',
          streamUrl: '/api/stream',
          webhookUrl: '/webhooks/catalog',
          shopBase: props.shopUrl ? '/shop' : null,
          runtime: 'aws',
          region: Aws.REGION,
        }),
      ],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      memoryLimit: 512,
    });

    const base = `https://${this.distribution.distributionDomainName}`;
    new CfnOutput(this, 'DashboardUrl', { value: base });
    new CfnOutput(this, 'WebhookUrl', { value: `${base}/webhooks/catalog` });
    new CfnOutput(this, 'ShopifyWebhookUrl', { value: `${base}/webhooks/shopify` });
  }
}
