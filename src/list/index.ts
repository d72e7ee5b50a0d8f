// The list toolkit in one import: filter parsing, SQL compilation, keyset
// paging and page tokens shared by every List RPC.
export { CmpOp, FilterNode, parseFilter } from './filter';
export {
  CollectionSpec,
  FieldSpec,
  FieldType,
  OrderTerm,
  SqlFragment,
  SqlParam,
  compileFilter,
  compileOrderBy,
  keysetAfter,
  matchesFilter,
  orderBySql,
  readOrderValues,
  selectOrderValues,
  validateFilterFields,
} from './query';
export { PageTokenCodec, TokenValue, listScope, pageSize } from './page-token';
