// statusName (the canonical code's name of an EKM error body) now lives in
// src/ekm-conformance; the EKM's tests keep importing it from here.
export { statusName } from '../../../src/ekm-conformance/session';
