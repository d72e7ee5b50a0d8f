// The proto3 JSON mapping (https://protobuf.dev/programming-guides/json/)
// between JSON values and the internal message shape (see proto/registry.ts),
// driven by protobufjs reflection. Used by the REST transport for request
// bodies (fromJson), query parameters (setQueryParameter) and responses
// (toJson). The mapping is split by concern: reflection.ts (per-type facts,
// names), parse.ts (JSON in), query.ts (query parameters), print.ts (JSON
// out), numbers.ts, errors.ts.
//
// Parsing mirrors what a binary decode gives: fields without explicit presence
// that hold their proto3 default ('' / 0 / false / empty bytes / enum 0 / empty
// list or map) are left absent, so a request reads the same whether it came
// over gRPC or REST. Error messages follow the wording of Google's front ends
// ("Invalid value at 'crypto_key.purpose' (...), "NOPE"").
//
// Every per-type fact (field lookup by either name, kinds, presence, oneofs) is
// computed once per protobufjs Type and cached in WeakMaps: this runs on every
// REST request.
export { fromJson } from './parse';
export { type ToJsonOptions, toJson } from './print';
export { setQueryParameter } from './query';
export { snakeCase } from './reflection';
