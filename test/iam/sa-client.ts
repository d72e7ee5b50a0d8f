// A child process for service-account.test.ts: the official client given a
// service account key file (keyFilename), as an application would use it,
// over gRPC (TLS) or REST (HTTPS). Its trust roots come from the environment
// (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, NODE_EXTRA_CA_CERTS), read at load.
// Prints one JSON line: what each step gave.
import { KeyManagementServiceClient } from '@google-cloud/kms';

async function main(): Promise<void> {
  // The test runner loads every file under test/: without its arguments this one does nothing.
  if (process.argv.length < 6) return;
  const [transport, port, keyFile, parent] = process.argv.slice(2);
  const client = transport === 'grpc'
    ? new KeyManagementServiceClient({ apiEndpoint: 'localhost', port: Number(port), keyFilename: keyFile })
    : new KeyManagementServiceClient({ apiEndpoint: 'localhost', port: Number(port), keyFilename: keyFile, fallback: 'rest', protocol: 'https' });
  const out: Record<string, unknown> = {};
  try {
    const [ring] = await client.createKeyRing({ parent, keyRingId: `r-${transport}`, keyRing: {} });
    const [key] = await client.createCryptoKey({ parent: ring.name!, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    const [enc] = await client.encrypt({ name: key.name!, plaintext: Buffer.from('from a key file') });
    const [dec] = await client.decrypt({ name: key.name!, ciphertext: enc.ciphertext });
    out.plaintext = Buffer.from(dec.plaintext as Uint8Array).toString();
    try {
      await client.destroyCryptoKeyVersion({ name: `${key.name}/cryptoKeyVersions/1` });
      out.destroy = 'allowed';
    } catch (err) {
      out.destroy = { code: (err as { code?: number }).code, message: (err as Error).message };
    }
  } catch (err) {
    out.error = { code: (err as { code?: number }).code, message: (err as Error).message };
  } finally {
    await client.close();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

void main();
