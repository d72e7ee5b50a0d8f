// The List RPC plumbing shared by every collection: page_size, page_token
// (opaque and MAC'd, bound to the query it came from), and filter and
// order_by checked against the collection's fields (list-fields.ts) and
// handed to the store, which runs them in SQL.
import { listScope, pageSize } from '../list/page-token';
import { checkFilter, checkOrderBy, type ListFields } from '../list/check';
import type { ListRequest } from '../proto/wire';
import type { ListQuery, Page } from '../store/store';
import type { ServiceContext } from './context';

export async function listPage<T>(
  ctx: ServiceContext,
  rpc: string,
  parent: string,
  req: ListRequest,
  fields: ListFields,
  fetch: (query: ListQuery) => Promise<Page<T>>,
): Promise<{ items: T[]; nextPageToken?: string; totalSize: number }> {
  const filter = req.filter || undefined;
  const orderBy = req.orderBy || undefined;
  const checked = checkFilter(filter, fields);
  const order = checkOrderBy(orderBy, fields);
  const scope = listScope(rpc, parent, filter, orderBy);
  const after = req.pageToken ? ctx.pageTokens.decode(req.pageToken, scope) : undefined;
  const page = await fetch({ parent, filter: checked, order, pageSize: pageSize(req.pageSize ?? undefined), after });
  return {
    items: page.items,
    nextPageToken: page.next ? ctx.pageTokens.encode(scope, page.next) : undefined,
    totalSize: page.totalSize,
  };
}
