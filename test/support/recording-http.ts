import { Readable } from 'node:stream';
import { type HttpRequest, HttpResponse } from '@smithy/core/protocols';
import { afterEach, beforeEach, vi } from 'vitest';

// For the tests that hold Onceflow's signed requests to the AWS SDK clients' own: both hand their final, signed
// request to a recording handler, at one frozen instant, with the same credentials. Nothing goes on the network.

export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'a-session-token',
};

/** An HTTP handler that keeps every request it is given and gives each the same answer. */
export function recordingHandler(answer: {
  statusCode: number;
  body: string | Buffer;
  headers?: Record<string, string>;
}) {
  const requests: HttpRequest[] = [];
  return {
    requests,
    handle: async (request: HttpRequest) => {
      requests.push(request);
      return {
        response: new HttpResponse({
          statusCode: answer.statusCode,
          headers: answer.headers ?? {},
          body: Readable.from([Buffer.from(answer.body)]),
        }),
      };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
}

/** The request's URL as sent: protocol, host, port, path. */
export function requestUrl(request: HttpRequest): string {
  const port = request.port === undefined ? '' : `:${request.port}`;
  return `${request.protocol}//${request.hostname}${port}${request.path}`;
}

/** Freezes Date (only) for each test of the calling suite, so two signers sign at the same instant. */
export function signAtOneInstant(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-12-03T10:11:12Z'), toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}
