// A process that takes a scheduler claim on a PostgreSQL store and holds it
// until it is killed (pg-replicas.test.ts kills it with SIGKILL). The test
// runner also loads it as a file under test/: without arguments it does nothing.
import { openPgStore } from '../../src/store/pg-store';

const [url, job] = process.argv.slice(2);
if (url && job) void openPgStore(url).then((store) =>
  store.claim(job, () => {
    process.stdout.write('held\n');
    return new Promise<never>(() => undefined);
  }),
);
