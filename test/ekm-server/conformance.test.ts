// The conformance suite against the reference EKM: real TLS on loopback, a
// real token signer, fixture keys made through the admin interface.
import { registerConformanceSuite } from './conformance/suite';
import { conformanceFixture, startReferenceEkm, type ReferenceEkm } from './helpers';

let ekm: ReferenceEkm | undefined;

registerConformanceSuite(
  'reference EKM',
  async () => {
    ekm = await startReferenceEkm();
    return conformanceFixture(ekm);
  },
  () => ekm?.close(),
);
