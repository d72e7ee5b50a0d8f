// What the conformance suite knows about an EKM now lives in
// src/ekm-conformance; test/ekm-server/helpers.ts keeps importing it from here.
export * from '../../../src/ekm-conformance/target';
