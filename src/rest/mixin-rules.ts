// The http rules Cloud KMS's service configuration gives its mixins, where
// they differ from the mixin protos' own annotations: google.iam.v1.IAMPolicy
// annotates `/v1/{resource=**}:...` (every method a POST with the request as
// its body), while Cloud KMS serves it on its five resource kinds,
// GetIamPolicy as a GET (the `httpRules` of the KMS client's IAM mixin; gcloud
// sends these). The official Node client's IAM mixin sends GetIamPolicy as
// the proto annotates it, a POST with a body, so that binding is served on
// the same five resources too. routes.ts compiles these like any annotation.
import type { HttpRule } from './routes';

const RESOURCES = [
  'projects/*/locations/*/keyRings/*',
  'projects/*/locations/*/keyRings/*/cryptoKeys/*',
  'projects/*/locations/*/keyRings/*/importJobs/*',
  'projects/*/locations/*/ekmConfig',
  'projects/*/locations/*/ekmConnections/*',
];

const OPERATION = 'projects/*/locations/*/operations/*';

const each = (verb: 'get' | 'post', action: string, body?: string): HttpRule[] =>
  RESOURCES.map((r): HttpRule => ({ [verb]: `/v1/{resource=${r}}:${action}`, ...(body ? { body } : {}) }));

function onEach(verb: 'get' | 'post', action: string, body?: string, more: HttpRule[] = []): HttpRule {
  const [first, ...rest] = each(verb, action, body);
  return { ...first, additional_bindings: [...rest, ...more] };
}

export const MIXIN_RULES: ReadonlyMap<string, HttpRule> = new Map([
  ['google.iam.v1.IAMPolicy.GetIamPolicy', onEach('get', 'getIamPolicy', undefined, each('post', 'getIamPolicy', '*'))],
  ['google.iam.v1.IAMPolicy.SetIamPolicy', onEach('post', 'setIamPolicy', '*')],
  ['google.iam.v1.IAMPolicy.TestIamPermissions', onEach('post', 'testIamPermissions', '*')],
  // Cloud KMS serves GetOperation on a location's operations (the KMS
  // client's `httpRules`); the other Operations methods get the same shape
  // so that they answer 501 UNIMPLEMENTED rather than 404.
  ['google.longrunning.Operations.GetOperation', { get: `/v1/{name=${OPERATION}}` }],
  ['google.longrunning.Operations.ListOperations', { get: '/v1/{name=projects/*/locations/*}/operations' }],
  ['google.longrunning.Operations.DeleteOperation', { delete: `/v1/{name=${OPERATION}}` }],
  ['google.longrunning.Operations.CancelOperation', { post: `/v1/{name=${OPERATION}}:cancel`, body: '*' }],
]);
