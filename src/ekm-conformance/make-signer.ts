// What a vendor needs before running the conformance suite against its EKM
// (`openekm ekm conformance make-signer OUT_DIR`): a token signing key
// (OUT_DIR/signer-key.pem, 0600), its public half as a JWKS for the EKM to
// trust (OUT_DIR/jwks.json), and a target file skeleton to fill in
// (OUT_DIR/target.json, for --config). It never overwrites a file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TokenSigner, jwksDocument, type SigningAlg } from './tokens';

export const DEFAULT_CONFORMANCE_ISSUER = 'https://conformance.test/issuer';

export interface MadeSigner {
  issuer: string;
  alg: SigningAlg;
  kid: string;
  files: { privateKey: string; jwks: string; target: string };
}

export function makeSigner(outDir: string, issuer = DEFAULT_CONFORMANCE_ISSUER, alg: SigningAlg = 'ES256'): MadeSigner {
  const files = { privateKey: path.join(outDir, 'signer-key.pem'), jwks: path.join(outDir, 'jwks.json'), target: path.join(outDir, 'target.json') };
  const existing = Object.values(files).filter((f) => fs.existsSync(f));
  if (existing.length > 0) throw new Error(`${existing.join(', ')} already exists: choose another directory`);
  fs.mkdirSync(outDir, { recursive: true });
  const signer = TokenSigner.generate(issuer, alg);
  fs.writeFileSync(files.privateKey, signer.privateKeyPem, { mode: 0o600 });
  fs.writeFileSync(files.jwks, `${JSON.stringify(jwksDocument(signer), null, 2)}\n`);
  const skeleton = {
    url: 'https://ekm.example.com',
    tls: { caFile: 'ekm-ca.pem' },
    audience: 'https://ekm.example.com',
    signer: { issuer, alg, kid: signer.kid, privateKeyFile: 'signer-key.pem' },
    callerEmail: 'service-123456@gcp-sa-ekms.iam.gserviceaccount.com',
    deniedCallerEmail: 'someone-else@example.com',
    allowedReason: 'CUSTOMER_INITIATED_ACCESS',
    deniedReasons: { wrap: ['THIRD_PARTY_DATA_REQUEST'], unwrap: ['THIRD_PARTY_DATA_REQUEST'] },
    keys: { wrapA: 'PATH', wrapB: 'PATH', disabled: 'PATH', destroyed: 'PATH', unknown: 'PATH-THAT-DOES-NOT-EXIST', signing: [] },
    cryptoSpace: 'PATH (or remove)',
  };
  fs.writeFileSync(files.target, `${JSON.stringify(skeleton, null, 2)}\n`);
  return { issuer, alg, kid: signer.kid!, files };
}
