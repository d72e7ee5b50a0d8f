// Makes what a vendor needs to run the conformance suite against its EKM:
//   node dist/test/ekm-server/conformance/make-signer.js OUT_DIR [ISSUER]
// writes OUT_DIR/signer-key.pem (0600), OUT_DIR/jwks.json (for the EKM to
// trust) and OUT_DIR/target.json (a config skeleton to fill in). Run with no
// arguments (as the test runner does with every file under dist/test) it does
// nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TokenSigner, jwksDocument } from './tokens';

export function makeSigner(outDir: string, issuer = 'https://conformance.test/issuer'): void {
  fs.mkdirSync(outDir, { recursive: true });
  const signer = TokenSigner.generate(issuer, 'ES256');
  fs.writeFileSync(path.join(outDir, 'signer-key.pem'), signer.privateKeyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(outDir, 'jwks.json'), `${JSON.stringify(jwksDocument(signer), null, 2)}\n`);
  const skeleton = {
    url: 'https://ekm.example.com',
    tls: { caFile: 'ekm-ca.pem' },
    audience: 'https://ekm.example.com',
    signer: { issuer, alg: 'ES256', kid: signer.kid, privateKeyFile: 'signer-key.pem' },
    callerEmail: 'service-123456@gcp-sa-ekms.iam.gserviceaccount.com',
    deniedCallerEmail: 'someone-else@example.com',
    allowedReason: 'CUSTOMER_INITIATED_ACCESS',
    deniedReasons: { wrap: ['THIRD_PARTY_DATA_REQUEST'], unwrap: ['THIRD_PARTY_DATA_REQUEST'] },
    keys: { wrapA: 'PATH', wrapB: 'PATH', disabled: 'PATH', destroyed: 'PATH', unknown: 'PATH-THAT-DOES-NOT-EXIST', signing: [] },
    cryptoSpace: 'PATH (or remove)',
  };
  fs.writeFileSync(path.join(outDir, 'target.json'), `${JSON.stringify(skeleton, null, 2)}\n`);
}

if (require.main === module && process.argv.length > 2) {
  makeSigner(process.argv[2], process.argv[3]);
  process.stdout.write(`wrote signer-key.pem, jwks.json and target.json in ${process.argv[2]}\n`);
}
