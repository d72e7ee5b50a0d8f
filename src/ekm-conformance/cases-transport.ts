// Transport cases: health over TLS 1.2+, the EKM's self-description, and
// 405 for a method an operation path does not take.
import assert from 'node:assert/strict';
import { HEALTH_PATH, INFO_PATH, WELL_KNOWN_PATH, operationPath } from '../protocol/ekm';
import { caseMaker, type ConformanceCase } from './case';
import { describeAnswer, expectError, expectOk, type Session } from './session';

const c = caseMaker('transport');

async function describesItself(s: Session, path: string): Promise<void> {
  const res = await s.client.request('GET', path, { token: s.token() });
  expectOk(res);
  const b = res.body ?? {};
  assert.ok(typeof b.vendor === 'string', `${path}: no vendor string`);
  assert.ok(typeof b.version === 'string', `${path}: no version string`);
  assert.ok(Array.isArray(b.operations) && b.operations.includes('wrap') && b.operations.includes('unwrap'),
    `${path}: operations should list wrap and unwrap`);
  assert.ok(Array.isArray(b.algorithms), `${path}: no algorithms list`);
}

function wrongMethod(method: string): ConformanceCase {
  return c(`wrong-method-${method.toLowerCase()}`, `${method} on an operation path is 405`, async (s) => {
    const res = await s.client.request(method, operationPath(s.target.keys.wrapA, 'wrap'), { token: s.token() });
    expectError(res, 405);
  });
}

export function transportCases(): ConformanceCase[] {
  return [
    c('healthz', 'GET /healthz answers 200 without a token, over TLS 1.2 or newer', async (s) => {
      const res = await s.client.request('GET', HEALTH_PATH);
      assert.ok(res.status === 200, `expected 200, got ${describeAnswer(res)}`);
      assert.ok(res.tlsVersion === 'TLSv1.2' || res.tlsVersion === 'TLSv1.3', `negotiated ${res.tlsVersion}`);
    }),
    c('info', `GET ${INFO_PATH} describes the EKM (vendor, version, operations, algorithms)`, (s) => describesItself(s, INFO_PATH)),
    c('well-known', `GET ${WELL_KNOWN_PATH} describes the EKM`, (s) => describesItself(s, WELL_KNOWN_PATH)),
    ...['GET', 'PUT', 'DELETE'].map(wrongMethod),
  ];
}
