// A store ListQuery as a service makes one: filter and order_by text checked
// against the collection's API fields (list/check.ts).
import { checkFilter, checkOrderBy, type ListFields } from '../../src/list/check';
import type { ListQuery } from '../../src/store/store';

export function listQuery(
  fields: ListFields,
  q: { parent: string; filter?: string; orderBy?: string; pageSize: number; after?: ListQuery['after'] },
): ListQuery {
  return { parent: q.parent, filter: checkFilter(q.filter, fields), order: checkOrderBy(q.orderBy, fields), pageSize: q.pageSize, after: q.after };
}
