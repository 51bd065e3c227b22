import { DataSource } from 'typeorm';
import { TimeoutError, withTimeout } from '../common/with-timeout';
import type { RegistryConfig } from '../config';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { PasswordCipher } from '../pull-secrets/password-cipher';
import { normalizeRegistryHost, parseImageReference } from '../registry/image-reference';
import type { Credentials } from '../registry/registry-auth';
import { LoginCheck, ReferenceCheck, RegistryChecks } from '../registry/registry-checks';
import { gpuReferenceOf } from './image-availability';
import { CheckInputs, imageIdsUsingSecret, imagesDueForCheck, readCheckInputs, recordCheck } from './image-availability.store';
import { pullCredentials } from '../pull-secrets/image-pull-secret.service';

/** The actor of checks nobody asked for (after a change, and the scheduled rechecks) in the audit trail. */
export const SYSTEM_CHECK_ACTOR = 'system:registry-check';
/** Rounds of the recheck run at least this often, so a long interval still spreads its work. */
const MAX_ROUND_MS = 60_000;
const STOP_WAIT_MS = 5_000;

/**
 * Checks images against their registries, one process-wide instance: at most `concurrency` at a
 * time, each image queued once however often it changes, the admin's `checkImage` ahead of the
 * queue, and a recheck of the oldest results every round. Nothing here runs inside a database
 * transaction while a registry is asked: inputs are read first, the result written after.
 */
export class AvailabilityChecker {
  private readonly registry: RegistryChecks | null;
  private readonly queued = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly cipher: PasswordCipher,
    private readonly config: RegistryConfig,
    private readonly logger: Logger,
    private readonly metrics?: Pick<Metrics, 'registryChecks' | 'registryCheckBacklog'>,
  ) {
    this.registry = config.checks ? new RegistryChecks(config) : null;
  }

  get enabled(): boolean {
    return this.registry !== null;
  }

  get defaultHost(): string {
    return this.config.defaultHost;
  }

  /** Starts the scheduled rechecks (REGISTRY_RECHECK_INTERVAL); the first round runs at once. */
  start(): void {
    if (!this.registry || this.config.recheckIntervalMs === 0 || this.timer) return;
    const round = () => {
      void this.recheckRound().catch((error: unknown) => this.logger.warn({ error: errorName(error) }, 'registry recheck round failed'));
    };
    this.timer = setInterval(round, Math.min(this.config.recheckIntervalMs, MAX_ROUND_MS));
    this.timer.unref();
    round();
  }

  /** Queues the images' checks; call it after the change that asks for them has committed. */
  enqueue(imageIds: string[]): void {
    if (!this.registry || this.stopped) return;
    for (const id of imageIds) {
      if (this.queued.has(id)) continue;
      // Changed while being checked: what is being checked is already out of date.
      if (this.running.has(id)) {
        this.again.add(id);
        continue;
      }
      this.queued.add(id);
      void this.runQueued(id);
    }
    this.countBacklog();
  }

  /** After a secret's credentials changed: every image using it. */
  async enqueueUsersOf(pullSecretId: string): Promise<void> {
    if (this.registry) this.enqueue(await imageIdsUsingSecret(this.dataSource, pullSecretId));
  }

  /** Checks now, ahead of the queue; false when the image does not exist (any more). */
  async checkNow(imageId: string, actor: string): Promise<boolean> {
    await this.acquire(true);
    try {
      return await this.checkOne(imageId, actor);
    } finally {
      this.release();
    }
  }

  /** A login with the secret's credentials, pulling nothing; null when there is no such secret. */
  async checkLogin(pullSecretId: string): Promise<LoginCheck | null> {
    const registry = this.requireRegistry();
    const secret = await pullCredentials(this.dataSource.manager, this.cipher, pullSecretId);
    if (!secret) return null;
    await this.acquire(true);
    try {
      return await registry.checkLogin(secret.registryHost, { username: secret.username, password: secret.password });
    } finally {
      this.release();
    }
  }

  /** The digest a reference resolves to with the given secret's credentials, or the failed check. */
  async resolve(reference: string, pullSecretId: string | null): Promise<ReferenceCheck> {
    const registry = this.requireRegistry();
    const secret = pullSecretId ? await pullCredentials(this.dataSource.manager, this.cipher, pullSecretId) : null;
    await this.acquire(true);
    try {
      return await registry.checkReference(reference, this.credentialsFor(reference, secret));
    } finally {
      this.release();
    }
  }

  /** One round of the schedule: the images whose results are oldest (or missing), a batch at a time. */
  async recheckRound(): Promise<number> {
    if (!this.registry || this.stopped || this.queued.size >= this.config.recheckBatch) return 0;
    const due = await imagesDueForCheck(this.dataSource, new Date(Date.now() - this.config.recheckIntervalMs), this.config.recheckBatch);
    this.enqueue(due);
    return due.length;
  }

  /** Stops the schedule, drops the queue, cuts requests in flight short and waits (a little) for their checks. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.queued.clear();
    await this.registry?.close({ abort: true });
    await withTimeout(Promise.allSettled([...this.running.values()]), STOP_WAIT_MS).catch((error: unknown) => {
      if (!(error instanceof TimeoutError)) throw error;
    });
    for (const wake of this.waiting.splice(0)) wake();
  }

  private async runQueued(id: string): Promise<void> {
    await this.acquire(false);
    if (this.stopped || !this.queued.delete(id)) return this.release();
    const run = this.checkOne(id, SYSTEM_CHECK_ACTOR)
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn({ imageId: id, error: errorName(error) }, 'registry check failed; the recheck will try again'));
    this.running.set(id, run);
    await run;
    this.running.delete(id);
    this.release();
    if (this.again.delete(id)) this.enqueue([id]);
    this.countBacklog();
  }

  private async checkOne(imageId: string, actor: string): Promise<boolean> {
    const registry = this.requireRegistry();
    const inputs = await readCheckInputs(this.dataSource, this.cipher, imageId);
    if (!inputs) return false;
    const gpuReference = gpuReferenceOf(inputs.image);
    const check = (reference: string, previous: ReferenceCheck | null | undefined) =>
      registry.checkReference(reference, this.credentialsFor(reference, inputs.secret), previous).then((result) => this.explain(result, inputs));
    const [url, urlForGpu] = await Promise.all([
      check(inputs.image.url, inputs.previous?.checks.url),
      gpuReference ? check(gpuReference, inputs.previous?.checks.urlForGpu) : null,
    ]);
    for (const result of [url, urlForGpu]) if (result) this.metrics?.registryChecks.inc({ state: result.state });
    // Shutting down: the answers may be cut short, and the database is about to close.
    if (this.stopped) return true;
    const written = await recordCheck(this.dataSource, inputs, { url, urlForGpu }, actor);
    this.logger.debug({ imageId, state: url.state, gpuState: urlForGpu?.state, written }, 'registry check done');
    return true;
  }

  /**
   * The secret's credentials go only to the registry they are for, as the kubelet sends them:
   * checking with them elsewhere would say nothing about the pull, and would hand them to a stranger.
   */
  private credentialsFor(reference: string, secret: CheckInputs['secret']): Credentials | null {
    if (!secret) return null;
    const registry = parseImageReference(reference, this.config.defaultHost).registry;
    return normalizeRegistryHost(secret.registryHost) === registry ? { username: secret.username, password: secret.password } : null;
  }

  private explain(result: ReferenceCheck, inputs: CheckInputs): ReferenceCheck {
    if (result.state !== 'UNAUTHORIZED' || !inputs.secret || this.credentialsFor(result.reference, inputs.secret)) return result;
    return { ...result, message: `${result.message} (the image's pull secret is for ${inputs.secret.registryHost}, so it was not sent here)` };
  }

  private countBacklog(): void {
    this.metrics?.registryCheckBacklog.set(this.queued.size + this.running.size);
  }

  private requireRegistry(): RegistryChecks {
    if (!this.registry) throw new Error('registry checks are off');
    return this.registry;
  }

  /** A slot of the concurrency cap; `first` goes ahead of the queued background checks. */
  private acquire(first: boolean): Promise<void> {
    if (this.active < this.config.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => (first ? this.waiting.unshift(resolve) : this.waiting.push(resolve)));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

function errorName(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name : typeof error;
}
