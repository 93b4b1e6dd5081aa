import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AwsService, type AwsTarget, CliFailure, describeAwsFailure } from './failures.js';

/** The options every command takes, named as the AWS CLI names them. */
export interface ConnectionOptions {
  /** One endpoint for every service (`--endpoint-url`); otherwise the SDK's variables, then AWS. */
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly profile?: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** The SDK's own per-service variable (AWS_ENDPOINT_URL_<SERVICE_ID>), then AWS_ENDPOINT_URL. */
const ENDPOINT_VARIABLE: Record<AwsService, string> = {
  DynamoDB: 'AWS_ENDPOINT_URL_DYNAMODB',
  SQS: 'AWS_ENDPOINT_URL_SQS',
  CloudFormation: 'AWS_ENDPOINT_URL_CLOUDFORMATION',
};

/** SDK clients for one command, each knowing where it points so a failure can say so in one line. */
export class AwsClients {
  private readonly created: { destroy(): void }[] = [];

  constructor(
    private readonly options: ConnectionOptions,
    private readonly environment: Environment,
  ) {}

  /** The endpoint a service's client uses, when one is configured (flag or variable). */
  endpoint(service: AwsService): string | undefined {
    return (
      nonEmpty(this.options.endpointUrl) ??
      nonEmpty(this.environment[ENDPOINT_VARIABLE[service]]) ??
      nonEmpty(this.environment.AWS_ENDPOINT_URL)
    );
  }

  get region(): string | undefined {
    return nonEmpty(this.options.region) ?? nonEmpty(this.environment.AWS_REGION);
  }

  dynamoDb(): DynamoDBDocumentClient {
    const client = new DynamoDBClient(this.config('DynamoDB'));
    this.created.push(client);
    return DynamoDBDocumentClient.from(client);
  }

  sqs(): SQSClient {
    const endpoint = this.endpoint('SQS');
    // Local emulators hand out queue URLs whose host does not resolve: with an endpoint given, it wins.
    const client = new SQSClient({ ...this.config('SQS'), useQueueUrlAsEndpoint: endpoint === undefined });
    this.created.push(client);
    return client;
  }

  cloudFormation(): CloudFormationClient {
    const client = new CloudFormationClient(this.config('CloudFormation'));
    this.created.push(client);
    return client;
  }

  /** Sends one request; any failure becomes a CliFailure with one line naming the service, action and resource. */
  async call<T>(service: AwsService, action: string, resource: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new CliFailure(describeAwsFailure(error, this.target(service, action, resource)));
    }
  }

  target(service: AwsService, action: string, resource: string): AwsTarget {
    return { service, endpoint: this.endpoint(service), region: this.region, action, resource };
  }

  /** Closes the clients' sockets, so the process ends as soon as the command does. */
  destroy(): void {
    for (const client of this.created) client.destroy();
  }

  private config(service: AwsService) {
    const endpoint = this.endpoint(service);
    return {
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(this.region === undefined ? {} : { region: this.region }),
      ...(nonEmpty(this.options.profile) === undefined ? {} : { profile: this.options.profile }),
      // An operator waits at a terminal: a wrong endpoint should fail in a second, not after long backoff.
      maxAttempts: 2,
    };
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
