// List RPCs through the official client: page_size, page_token, filter,
// order_by and total_size; and the Locations catalogue.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { messageType } from '../../src/proto/registry';
import { type Harness, LOCATION, startKms } from '../helpers/kms';

const NO_PAGING = { autoPaginate: false };

describe('lists', () => {
  let kms: Harness;
  let ring: string;
  before(async () => {
    kms = await startKms();
    const [created] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: 'lists', keyRing: {} });
    ring = created.name!;
    for (let i = 0; i < 12; i++) {
      kms.clock.advance(1000);
      const mac = i % 3 === 0;
      await kms.client.createCryptoKey({
        parent: ring,
        cryptoKeyId: `key-${String(i).padStart(2, '0')}`,
        cryptoKey: mac
          ? { purpose: 'MAC', versionTemplate: { algorithm: 'HMAC_SHA256' }, labels: { env: 'prod' } }
          : { purpose: 'ENCRYPT_DECRYPT', labels: { env: i % 2 ? 'dev' : 'prod' } },
      });
    }
  });
  after(() => kms.close());

  test('page_size and page_token walk the collection once, with total_size on every page', async () => {
    const names: string[] = [];
    let pageToken: string | undefined;
    do {
      const [keys, , response] = await kms.client.listCryptoKeys({ parent: ring, pageSize: 5, pageToken }, NO_PAGING);
      assert.equal(response?.totalSize, 12);
      assert.ok(keys.length <= 5);
      names.push(...keys.map((k) => k.name!));
      pageToken = response?.nextPageToken || undefined;
    } while (pageToken);
    assert.equal(names.length, 12);
    assert.deepEqual(names, [...names].sort());
  });

  test('filter on labels, purpose, primary state and create_time', async () => {
    const count = async (filter: string) => {
      const [keys, , response] = await kms.client.listCryptoKeys({ parent: ring, filter }, NO_PAGING);
      assert.equal(response?.totalSize, keys.length);
      return keys.length;
    };
    assert.equal(await count('labels.env=prod'), 8);
    assert.equal(await count('purpose=MAC'), 4);
    assert.equal(await count('purpose=ENCRYPT_DECRYPT AND labels.env=dev'), 4);
    assert.equal(await count('primary.state=ENABLED'), 8);
    assert.equal(await count('version_template.protection_level=SOFTWARE'), 12);
    assert.equal(await count('name:key-1'), 2);
    assert.equal(await count('NOT purpose=MAC'), 8);
    const [all] = await kms.client.listCryptoKeys({ parent: ring });
    const sixth = all[5].createTime!;
    const iso = new Date(Number(sixth.seconds) * 1000).toISOString();
    assert.equal(await count(`create_time > "${iso}"`), 6);
  });

  test('order_by create_time desc, and pages keep that order', async () => {
    const [first, , r1] = await kms.client.listCryptoKeys({ parent: ring, orderBy: 'create_time desc', pageSize: 7 }, NO_PAGING);
    const [rest] = await kms.client.listCryptoKeys(
      { parent: ring, orderBy: 'create_time desc', pageSize: 7, pageToken: r1!.nextPageToken! },
      NO_PAGING,
    );
    const ids = [...first, ...rest].map((k) => k.name!.split('/').pop());
    assert.deepEqual(ids, Array.from({ length: 12 }, (_, i) => `key-${String(11 - i).padStart(2, '0')}`));
  });

  test('versions list in number order and filter by state', async () => {
    const key = `${ring}/cryptoKeys/key-01`;
    for (let i = 0; i < 10; i++) await kms.client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
    await kms.client.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: `${key}/cryptoKeyVersions/3`, state: 'DISABLED' },
      updateMask: { paths: ['state'] },
    });
    const [versions] = await kms.client.listCryptoKeyVersions({ parent: key, view: 'FULL' });
    assert.deepEqual(versions.map((v) => Number(v.name!.split('/').pop())), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const [disabled] = await kms.client.listCryptoKeyVersions({ parent: key, filter: 'state=DISABLED' });
    assert.deepEqual(disabled.map((v) => v.name), [`${key}/cryptoKeyVersions/3`]);
  });

  test('key rings list with total_size', async () => {
    const [, , response] = await kms.client.listKeyRings({ parent: LOCATION }, NO_PAGING);
    assert.equal(response?.totalSize, 1);
  });
});

describe('locations', () => {
  let kms: Harness;
  before(async () => {
    kms = await startKms();
  });
  after(() => kms.close());

  const metadataOf = (location: { metadata?: { value?: Uint8Array | null } | null }) =>
    messageType('google.cloud.kms.v1.LocationMetadata').toObject(
      messageType('google.cloud.kms.v1.LocationMetadata').decode(location.metadata!.value as Uint8Array),
    ) as { hsmAvailable?: boolean; ekmAvailable?: boolean };

  test('catalogue: regions, multi-regions and global, with EKM availability', async () => {
    const [locations] = await kms.client.locationsClient.listLocations({ name: 'projects/test-project' });
    const ids = locations.map((l) => l.locationId);
    for (const id of ['global', 'us', 'europe', 'asia', 'nam-eur-asia1', 'us-east1', 'europe-west1']) {
      assert.ok(ids.includes(id), id);
    }
    const byId = new Map(locations.map((l) => [l.locationId, l]));
    assert.equal(metadataOf(byId.get('us-east1')!).ekmAvailable, true);
    assert.equal(metadataOf(byId.get('us')!).ekmAvailable, true);
    assert.equal(metadataOf(byId.get('global')!).ekmAvailable ?? false, false);
    assert.equal(metadataOf(byId.get('nam-eur-asia1')!).ekmAvailable ?? false, false);
    assert.equal(metadataOf(byId.get('global')!).hsmAvailable, true);
    assert.equal(byId.get('us-east1')!.metadata!.type_url ?? (byId.get('us-east1')!.metadata as { typeUrl?: string }).typeUrl,
      'type.googleapis.com/google.cloud.kms.v1.LocationMetadata');
  });

  test('get one location; an unknown one is NOT_FOUND', async () => {
    // The mixin's typing says a Location; at run time it resolves to [Location] like every other call.
    const [location] = (await kms.client.getLocation({ name: 'projects/test-project/locations/europe-west1' })) as unknown as [{ name?: string }];
    assert.equal(location.name, 'projects/test-project/locations/europe-west1');
    await assert.rejects(kms.client.getLocation({ name: 'projects/test-project/locations/mars-north1' }), { code: 5 });
  });

  test('filter and paging over the catalogue', async () => {
    const [europe] = await kms.client.locationsClient.listLocations({ name: 'projects/test-project', filter: 'location_id:europe' });
    assert.ok(europe.length > 5);
    assert.ok(europe.every((l) => l.locationId!.includes('europe')));
    const [page] = await kms.client.locationsClient.listLocations({ name: 'projects/test-project', pageSize: 3 }, NO_PAGING);
    assert.equal(page.length, 3);
  });
});

