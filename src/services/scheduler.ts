// Carries out what is due by the injected clock: scheduled destructions (key
// material erased, state DESTROYED) and automatic rotations (a new primary at
// next_rotation_time). The schedule lives in the store (destroy_time,
// next_rotation_time), so it survives restarts; a server that was down catches
// up on start. Each change is conditional on the revision read, so two
// replicas can't rotate the same key twice.
import type { CryptoKeyRecord, CryptoKeyVersionRecord } from '../store/store';
import type { ServiceContext } from './context';
import { ACCESS_REASON_HEADER } from './external-keys';
import type { CryptoKeysService } from './crypto-keys';
import { retryOnConflict } from './retry';

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
      for (const v of due) result.destroyed += await this.guard(v.name, () => this.destroy(v));
      if (due.length < BATCH) break;
    }
    for (;;) {
      const due = await this.ctx.store.dueRotations(this.ctx.clock.now(), BATCH);
      for (const k of due) result.rotated += await this.guard(k.name, () => this.rotate(k));
      if (due.length < BATCH) break;
    }
    return result;
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

  private async destroy(first: CryptoKeyVersionRecord): Promise<number> {
    const destroyed = await retryOnConflict(async () => {
      const v = (await this.ctx.store.getCryptoKeyVersion(first.name)) ?? first;
      const now = this.ctx.clock.now();
      if (v.state !== 'DESTROY_SCHEDULED' || v.destroyTime == null || v.destroyTime > now) return undefined;
      const written = await this.ctx.store.destroyCryptoKeyVersion({ ...v, state: 'DESTROYED', destroyTime: null, destroyEventTime: now });
      this.ctx.material.forget(v.name);
      this.ctx.log.info('key version destroyed', { resource: v.name });
      return written;
    });
    if (!destroyed) return 0;
    await this.destroyExternal(destroyed);
    return 1;
  }

  /**
   * A CLOUD_KMS-managed version's material is destroyed in the EKM too, once
   * the KMS's own half is gone (the data is unreadable from then on whatever
   * the EKM does). If the EKM fails, the version says so:
   * EXTERNAL_DESTRUCTION_FAILED (the cause goes to the log).
   */
  private async destroyExternal(v: CryptoKeyVersionRecord): Promise<void> {
    if (v.protectionLevel !== 'EXTERNAL_VPC') return;
    const key = await this.ctx.store.getCryptoKey(v.cryptoKey);
    if (!key || !(await this.keys.external.coordinated(key).catch(() => false))) return;
    try {
      const system = { headers: { [ACCESS_REASON_HEADER]: 'GOOGLE_INITIATED_SYSTEM_OPERATION' } };
      const info = this.keys.external.callInfo(key, v.name, system);
      await this.ctx.ekm.destroyKey(await this.keys.external.target(key, v), info);
    } catch (err) {
      this.ctx.log.error('external key destruction failed', { resource: v.name, error: (err as Error).message });
      await retryOnConflict(async () => {
        const current = await this.ctx.store.getCryptoKeyVersion(v.name);
        if (current?.state === 'DESTROYED') await this.ctx.store.updateCryptoKeyVersion({ ...current, state: 'EXTERNAL_DESTRUCTION_FAILED' });
      });
    }
  }

  private async rotate(key: CryptoKeyRecord): Promise<number> {
    const now = this.ctx.clock.now();
    if (key.nextRotationTime == null || key.nextRotationTime > now) return 0;
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
