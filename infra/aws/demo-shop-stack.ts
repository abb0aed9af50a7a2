import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import type { DataStack } from './data-stack.js';
import { type FunctionNetwork, SelfHealFunction } from './selfheal-function.js';

/** Properties of the {@link DemoShopStack}. */
export interface DemoShopStackProps extends StackProps {
  readonly repoRoot: string;
  readonly network: FunctionNetwork;
  readonly data: DataStack;
}

/**
 * The demo target (`-c demoShop=true`): the shop's API on its own Function URL, its product
 * records in their own table. Its API reports schema mismatches as signals on the bus, so it runs
 * in the VPC with the pipeline's streams and trace store; the probes call it at its URL, which
 * needs egress (a NAT gateway: `-c demoShop=true` turns one on unless `natGateways` says
 * otherwise).
 */
export class DemoShopStack extends Stack {
  readonly shop: SelfHealFunction;
  readonly url: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: DemoShopStackProps) {
    super(scope, id, props);
    const { data } = props;
    this.shop = new SelfHealFunction(this, 'Shop', {
      entry: 'infra/aws/handlers/shop.ts',
      repoRoot: props.repoRoot,
      description: 'Demo shop (the target the pipeline heals)',
      timeout: Duration.seconds(30),
      memorySize: 1024,
      network: props.network,
      toolchain: true,
    });
    this.shop
      .bindRedis(data.cache)
      .bindTraceStore(data.database)
      .bindTable(data.tables, 'snapshots', 'read')
      .bindTable(data.tables, 'kv', 'read')
      .bindNamedTable(data.shopRecords, 'SELFHEAL_SHOP_TABLE', 'readWrite');
    this.url = this.shop.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    new CfnOutput(this, 'ShopUrl', { value: this.url.url });
  }
}
