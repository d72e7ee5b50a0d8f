// The principals an IAM binding may name, in Cloud IAM's forms: user:,
// serviceAccount:, group: and domain:, allUsers, allAuthenticatedUsers, the
// convenience members projectOwner:/projectEditor:/projectViewer:, deleted
// principals, and workforce or workload identity principals.
import { invalidArgument } from '../../errors';

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const PRINCIPAL = /^principal(Set)?:\/\/[\x21-\x7e]{1,1000}$/;
const DELETED = /^deleted:(user|serviceAccount|group):[^\s?]+\?uid=[0-9]{1,40}$/;

/** The member as stored (the prefix as Cloud IAM spells it); INVALID_ARGUMENT naming the field otherwise. */
export function checkMember(value: unknown, field: string): string {
  const member = typeof value === 'string' ? value : '';
  const bad = () => invalidArgument(`${field}: '${member.slice(0, 200)}' is not a principal (user:EMAIL, serviceAccount:EMAIL, group:EMAIL, domain:DOMAIN, allUsers, allAuthenticatedUsers, projectOwner:PROJECT and friends, principal://..., principalSet://...).`);
  if (member === '') throw invalidArgument(`${field}: required field is empty.`);
  if (member.length > 1100) throw bad();
  if (member === 'allUsers' || member === 'allAuthenticatedUsers') return member;
  if (PRINCIPAL.test(member) || DELETED.test(member)) return member;
  const colon = member.indexOf(':');
  if (colon < 0) throw bad();
  const kind = member.slice(0, colon);
  const rest = member.slice(colon + 1);
  switch (kind) {
    case 'user':
    case 'serviceAccount':
    case 'group':
      if (EMAIL.test(rest)) return `${kind}:${rest}`;
      break;
    case 'domain':
      if (DOMAIN.test(rest)) return member;
      break;
    case 'projectOwner':
    case 'projectEditor':
    case 'projectViewer':
      if (PROJECT.test(rest)) return member;
      break;
    default:
  }
  throw bad();
}
