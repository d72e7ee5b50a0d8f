// The conformance suite's HTTPS client now lives in src/ekm-conformance; the
// EKM's tests keep importing it from here.
export * from '../../../src/ekm-conformance/client';
