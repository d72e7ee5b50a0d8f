// `serve --auth required`: every call carries `Authorization: Bearer <JWT>`
// (gRPC metadata or HTTP header) from an issuer the operator trusts, and
// then needs the permission Cloud KMS checks for it (docs/iam.md). Two
// wrappers over the method table, one per step, so that a call that is not
// authenticated is refused before anything (project aliases included) reads
// its names, and authorization sees the names as the services do:
//   withAuthentication(withProjectAliases(withAuthorization(table)))
import { KmsError, Code } from '../errors';
import type { TokenVerifier, VerifiedCaller } from '../jwt';
import type { Msg } from '../proto/registry';
import type { CallContext } from '../services/context';
import type { Authorizer, Principal } from '../services/iam/authorize';
import { isKmsMethod, requirementOf } from '../services/iam/permissions';
import type { Handler } from './methods';
import { isServiceAccountToken, type ServiceAccountTokens } from './service-accounts';

/** The member a verified email is: Google's service accounts are serviceAccount:, everyone else user:. */
export function principalOf(email: string): Principal {
  const kind = /\.gserviceaccount\.com$/.test(email) ? 'serviceAccount' : 'user';
  return { member: `${kind}:${email}`, email };
}

const header = (call: CallContext): string | undefined => {
  const value = call.headers.authorization;
  return typeof value === 'string' ? value : undefined;
};

/** The call with its principal: plain data properties (accessors on the call object cost REST Encrypt about 30 us per call, measured). */
const withPrincipal = (call: CallContext, principal: Principal): CallContext => ({ headers: call.headers, peer: call.peer, principal });

/** Every call verified first: UNAUTHENTICATED without a valid token; the principal rides on the call. */
export function withAuthentication(table: ReadonlyMap<string, Handler>, verifier: TokenVerifier, accounts?: ServiceAccountTokens): ReadonlyMap<string, Handler> {
  /** A service account's own token goes to its registered key; any other to the trusted issuers. */
  const verify = (authorization: string | undefined): Promise<VerifiedCaller> => {
    const token = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    return accounts && token && isServiceAccountToken(token) ? accounts.verify(token) : verifier.verify(authorization);
  };
  // The verifier hands out the same caller while a token is cached: its principal is made once.
  const principals = new WeakMap<VerifiedCaller, Principal>();
  const principalFor = (caller: VerifiedCaller): Principal => {
    let principal = principals.get(caller);
    if (!principal) {
      principal = principalOf(caller.email);
      principals.set(caller, principal);
    }
    return principal;
  };
  // A token seen before is known without waiting: the call goes on in the same turn.
  const wrap = (handler: Handler): Handler => (request: Msg, call: CallContext) => {
    const known = verifier.cachedCaller(header(call)) ?? accounts?.cached(header(call));
    if (known) return handler(request, withPrincipal(call, principalFor(known)));
    return verify(header(call)).then((caller) => handler(request, withPrincipal(call, principalFor(caller))));
  };
  return new Map([...table].map(([method, handler]) => [method, wrap(handler)]));
}

/** Cloud KMS's wording, the same whether the resource exists or not. */
export const denied = (permission: string, resource: string): KmsError =>
  new KmsError(Code.PERMISSION_DENIED, `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`);

/**
 * Each call holds its permission on its resource, or is PERMISSION_DENIED
 * before the service runs (an external key's EKM is never reached). Calls
 * outside Cloud KMS (Service Directory) are for the server's admins.
 */
export function withAuthorization(table: ReadonlyMap<string, Handler>, authorizer: Authorizer, admins: ReadonlySet<string>): ReadonlyMap<string, Handler> {
  const check = async (principal: Principal, permission: string, resource: string, run: () => Promise<Msg>): Promise<Msg> => {
    if (!(await authorizer.allowed(principal, permission, resource))) throw denied(permission, resource);
    return run();
  };
  const wrap = (method: string, handler: Handler): Handler => (request: Msg, call: CallContext) => {
    try {
      const principal = call.principal;
      if (!principal) throw new KmsError(Code.UNAUTHENTICATED, 'The request has no Authorization: Bearer token.');
      if (!isKmsMethod(method)) {
        if (!admins.has(principal.member)) throw new KmsError(Code.PERMISSION_DENIED, `${method.slice(method.lastIndexOf('.') + 1)}: only the server's --admin principals may call Service Directory here.`);
        return handler(request, call);
      }
      const need = requirementOf(method, request);
      if (!need) return handler(request, call);
      // A call that needs a second permission (ImportCryptoKeyVersion) checks it after the first.
      const second = need.and;
      const next = second ? () => check(principal, second.permission, second.resource, () => handler(request, call)) : () => handler(request, call);
      // A decision already made under the same policies is known at once; otherwise the policies are read.
      const known = authorizer.knownDecision(principal, need.permission, need.resource);
      if (known === true) return next();
      if (known === false) throw denied(need.permission, need.resource);
      return check(principal, need.permission, need.resource, next);
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return new Map([...table].map(([method, handler]) => [method, wrap(method, handler)]));
}
