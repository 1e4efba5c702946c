// A call's status is the truth about it: an error after the answer has started is reported
// as that error in the trailers, never as OK.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startTransport, type Transport } from '../../server/grpc/transport.ts';
import type { MethodTable } from '../../server/grpc/calls.ts';

const id = (b: Buffer) => b;
const definition = {
  Unencodable: { path: '/test.Probe/Unencodable', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: (): Buffer => { throw new Error('field out of range'); }, responseDeserialize: id },
  FailsMidStream: { path: '/test.Probe/FailsMidStream', requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
  Fine: { path: '/test.Probe/Fine', requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};
const methods: MethodTable = {
  Unencodable: { kind: 'unary', fn: async () => ({}) },
  // Writes one message, then fails while producing the next.
  FailsMidStream: { kind: 'stream', fn: (_req, _ctx, out) => { out.write(Buffer.from('first')); throw new Error('the producer broke'); } },
  Fine: { kind: 'stream', fn: (_req, _ctx, out) => { out.write(Buffer.from('only')); out.end(); } },
};

describe('the gRPC status of a call that fails after its answer started', () => {
  let transport: Transport;
  let client: grpc.Client & Record<string, Function>;

  before(async () => {
    transport = await startTransport({ host: '127.0.0.1', port: 0, services: [{ definition, methods }], maxMessageBytes: 1 << 20 } as never);
    const Client = grpc.makeGenericClientConstructor(definition as never, 'Probe');
    client = new Client(`127.0.0.1:${transport.port}`, grpc.credentials.createInsecure()) as never;
  });
  after(async () => {
    client.close();
    await transport.close(1000);
  });

  const stream = (method: string) =>
    new Promise<{ messages: string[]; status: grpc.StatusObject }>((resolve) => {
      const messages: string[] = [];
      const call = client[method]!.call(client, Buffer.from('x')) as grpc.ClientReadableStream<Buffer>;
      call.on('data', (m: Buffer) => messages.push(m.toString()));
      call.on('error', () => {});
      call.on('status', (status: grpc.StatusObject) => resolve({ messages, status }));
    });

  test('a streamed call that fails after its first message ends with INTERNAL, not OK', async () => {
    const { messages, status } = await stream('FailsMidStream');
    assert.deepEqual(messages, ['first']);
    assert.equal(status.code, grpc.status.INTERNAL);
  });

  test('a streamed call that ends normally still ends with OK', async () => {
    const { messages, status } = await stream('Fine');
    assert.deepEqual(messages, ['only']);
    assert.equal(status.code, grpc.status.OK);
  });

  test('a unary answer that cannot be encoded is an INTERNAL error with its reason', async () => {
    const err = await new Promise<grpc.ServiceError | null>((resolve) => client['Unencodable']!.call(client, Buffer.from('x'), (e: grpc.ServiceError | null) => resolve(e)));
    assert.equal(err?.code, grpc.status.INTERNAL);
    assert.match(err!.details, /field out of range/);
  });
});
