// Carries out what is due by the injected clock: scheduled destructions (key
// material erased, state DESTROYED, or for a CLOUD_KMS-managed external key
// PENDING_EXTERNAL_DESTRUCTION until the EKM has destroyed its half) and
// automatic rotations (a new primary at next_rotation_time). The schedule
// lives in the store (destroy_time, next_rotation_time), so it survives
// restarts; a server that was down catches up on start. Replicas on one
// database share the schedule: each job (a version's destruction, a key's
// rotation) runs under the store's claim on it and first reads its resource
// again, so it is done once however many replicas found it due, and a job
// whose replica died mid-way is left to the next run of another. Each change
// is also conditional on the revision read.
import type { CryptoKeyRecord, CryptoKeyVersionRecord } from '../store/store';
import type { ServiceContext } from './context';
import type { CryptoKeysService } from './crypto-keys';
import { retryOnConflict } from './retry';
import { SYSTEM_REASON } from './external-keys';

const BATCH = 100;

export interface SchedulerRun {
  destroyed: number;
  rotated: number;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SchedulerRun> | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly keys: CryptoKeysService,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.runDue().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Runs everything due now; concurrent calls share one run. */
  runDue(): Promise<SchedulerRun> {
    this.running ??= this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runOnce(): Promise<SchedulerRun> {
    const result = { destroyed: 0, rotated: 0 };
    for (;;) {
      const due = await this.ctx.store.dueDestructions(this.ctx.clock.now(), BATCH);
      for (const v of due) result.destroyed += await this.guard(v.name, () => this.claimed(`destroy ${v.name}`, () => this.destroy(v)));
      if (due.length < BATCH) break;
    }
    // Only left by a stop mid-destruction; each is settled (DESTROYED or FAILED) below, so the loop ends.
    for (;;) {
      const pending = await this.ctx.store.pendingExternalDestructions(BATCH);
      let settled = 0;
      for (const v of pending) settled += await this.guard(v.name, () => this.claimed(`destroy ${v.name}`, () => this.resumeExternal(v)));
      if (pending.length < BATCH || settled === 0) break;
    }
    for (;;) {
      const due = await this.ctx.store.dueRotations(this.ctx.clock.now(), BATCH);
      for (const k of due) result.rotated += await this.guard(k.name, () => this.claimed(`rotate ${k.name}`, () => this.rotate(k.name)));
      if (due.length < BATCH) break;
    }
    return result;
  }

  /** fn under the store's claim on `job`; 0 when another replica holds it (it is doing the job). */
  private async claimed(job: string, fn: () => Promise<number>): Promise<number> {
    return (await this.ctx.store.claim(job, fn)) ?? 0;
  }

  // One failing item must not stop the others; it is logged and retried next run.
  private async guard(name: string, fn: () => Promise<number>): Promise<number> {
    try {
      return await fn();
    } catch (err) {
      this.ctx.log.error('scheduled work failed', { resource: name, error: (err as Error).message });
      return 0;
    }
  }

  /**
   * Destroys a version whose schedule ran out: its key material in the KMS is
   * erased. A version of a CLOUD_KMS-managed external key then goes
   * PENDING_EXTERNAL_DESTRUCTION until the EKM has destroyed its half too
   * (the data is unreadable from the first step on, whatever the EKM does).
   * The pending state is in the store, so a server stopped between the two
   * steps asks the EKM on its next run.
   */
  private async destroy(first: CryptoKeyVersionRecord): Promise<number> {
    const external = await this.coordinatedKey(first);
    const destroyed = await retryOnConflict(async () => {
      const v = (await this.ctx.store.getCryptoKeyVersion(first.name)) ?? first;
      const now = this.ctx.clock.now();
      if (v.state !== 'DESTROY_SCHEDULED' || v.destroyTime == null || v.destroyTime > now) return undefined;
      const state = external ? 'PENDING_EXTERNAL_DESTRUCTION' : 'DESTROYED';
      const written = await this.ctx.store.destroyCryptoKeyVersion({ ...v, state, destroyTime: null, destroyEventTime: now });
      this.ctx.material.forget(v.name);
      this.ctx.log.info('key version destroyed', { resource: v.name, state });
      return written;
    });
    if (!destroyed) return 0;
    if (external) await this.destroyExternal(external, destroyed);
    return 1;
  }

  /** The key of a version whose external half the KMS must destroy (EXTERNAL_VPC on a CLOUD_KMS connection). */
  private async coordinatedKey(v: CryptoKeyVersionRecord): Promise<CryptoKeyRecord | undefined> {
    if (v.protectionLevel !== 'EXTERNAL_VPC') return undefined;
    const key = await this.ctx.store.getCryptoKey(v.cryptoKey);
    return key && (await this.keys.external.versionCoordinated(key, v)) ? key : undefined;
  }

  /**
   * Asks the EKM to destroy the version's key: DESTROYED when it has, else
   * EXTERNAL_DESTRUCTION_FAILED with the cause in
   * external_destruction_failure_reason (and the log).
   */
  private async destroyExternal(key: CryptoKeyRecord, v: CryptoKeyVersionRecord): Promise<void> {
    let state = 'DESTROYED';
    let reason = '';
    try {
      await this.keys.external.call(key, v, SYSTEM_REASON, (target, info) => this.ctx.ekm.destroyKey(target, info));
    } catch (err) {
      state = 'EXTERNAL_DESTRUCTION_FAILED';
      reason = `The external key manager did not confirm destroying ${v.ekmConnectionKeyPath || 'the key'}: ${
        String((err as Error)?.message ?? err).slice(0, 500)}`;
      this.ctx.log.error('external key destruction failed', { resource: v.name, error: reason });
    }
    await retryOnConflict(async () => {
      const current = await this.ctx.store.getCryptoKeyVersion(v.name);
      if (current?.state !== 'PENDING_EXTERNAL_DESTRUCTION') return;
      await this.ctx.store.updateCryptoKeyVersion({ ...current, state, externalDestructionFailureReason: reason });
    });
  }

  /** Versions left PENDING_EXTERNAL_DESTRUCTION by a server that stopped before the EKM answered. */
  private async resumeExternal(listed: CryptoKeyVersionRecord): Promise<number> {
    // Another replica may have settled it since the list was read.
    const v = await this.ctx.store.getCryptoKeyVersion(listed.name);
    if (v?.state !== 'PENDING_EXTERNAL_DESTRUCTION') return 0;
    const key = await this.ctx.store.getCryptoKey(v.cryptoKey);
    if (!key) return 0;
    await this.destroyExternal(key, v);
    return 1;
  }

  private async rotate(name: string): Promise<number> {
    // Read again under the claim: another replica may have rotated it since the list was read.
    const key = await this.ctx.store.getCryptoKey(name);
    const now = this.ctx.clock.now();
    if (!key || key.nextRotationTime == null || key.nextRotationTime > now) return 0;
    let next: number | null = null;
    if (key.rotationPeriodMs != null) {
      // Advance by whole periods past now: a server that was down rotates once, not once per missed period.
      const missed = Math.floor((now - key.nextRotationTime) / key.rotationPeriodMs) + 1;
      next = key.nextRotationTime + missed * key.rotationPeriodMs;
    }
    const { version, raw } = await this.keys.newVersion(key);
    const created = await this.ctx.store.createCryptoKeyVersion(key.name, version, this.ctx.material.sealer(raw), {
      setPrimary: true,
      nextRotationTime: next,
      expectKeyRevision: key.revision,
    });
    this.ctx.log.info('key rotated', { resource: key.name, version: created.version.version });
    return 1;
  }
}
