// The token signer now lives in src/ekm-conformance; the EKM's and the KMS's
// tests keep importing it from here.
export * from '../../../src/ekm-conformance/tokens';
