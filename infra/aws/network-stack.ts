import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { FunctionNetwork } from './selfheal-function.js';

/** Name of the subnet group the functions, the cache and the database run in. */
export const APP_SUBNETS = 'app';

/** Properties of the {@link NetworkStack}. */
export interface NetworkStackProps extends StackProps {
  /**
   * NAT gateways. With none (the default) the functions reach AWS services through VPC
   * endpoints only; give one when the pipeline must call the internet: the target's API for the
   * probes (the demo shop's Function URL too), Morph, an LLM endpoint.
   * @default 0
   */
  readonly natGateways?: number;
}

/**
 * The VPC: two AZs, no NAT by default. DynamoDB and S3 through gateway endpoints (free), Secrets
 * Manager and Lambda through interface endpoints: the secrets extension and RDS Proxy read
 * secrets, the Lambda deployer shifts aliases. No endpoint for CloudWatch Logs (Lambda ships the
 * functions' logs, and the metrics inside them, itself), X-Ray (the Lambda service relays trace
 * segments) or EventBridge Scheduler (it invokes the functions from outside the VPC): each
 * interface endpoint costs per AZ and hour, so only those the code calls exist.
 */
export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;
  /** Where functions that need Redis or Postgres run. */
  readonly functionNetwork: FunctionNetwork;

  constructor(scope: Construct, id: string, props: NetworkStackProps = {}) {
    super(scope, id, props);
    const natGateways = props.natGateways ?? 0;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      // Environment-agnostic: two AZs through Fn::GetAZs, no lookup at synth.
      maxAzs: 2,
      natGateways,
      subnetConfiguration:
        natGateways > 0
          ? [
              { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
              { name: APP_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
            ]
          : [{ name: APP_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      gatewayEndpoints: {
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });
    const subnets: ec2.SubnetSelection = { subnetGroupName: APP_SUBNETS };
    this.vpc.addInterfaceEndpoint('SecretsManager', {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets,
      privateDnsEnabled: true,
    });
    this.vpc.addInterfaceEndpoint('Lambda', {
      service: ec2.InterfaceVpcEndpointAwsService.LAMBDA,
      subnets,
      privateDnsEnabled: true,
    });
    this.functionNetwork = { vpc: this.vpc, subnets };
  }
}
