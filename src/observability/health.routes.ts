import express, { Router } from 'express';
import { DataSource } from 'typeorm';
import { withTimeout } from '../common/with-timeout';
import { pendingMigrations } from '../db/migrate';
import { hostPool } from '../db/pool-stats';
import type { Metrics } from './metrics';

const CHECK_TIMEOUT_MS = 2_000;

/**
 * /healthz: the process answers. /readyz: the database (any of its hosts) answers and no migration is pending, and
 * the server is not shutting down; 503 otherwise, so Kubernetes sends traffic elsewhere.
 * /metrics: Prometheus text format.
 */
export function healthRoutes(dataSource: DataSource, metrics: Metrics, isStopping: () => boolean): Router {
  const router = express.Router();
  router.get('/healthz', (_, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_, res) => {
    const checks = await readiness(dataSource, isStopping());
    const ready = Object.values(checks).every((state) => state === 'ok');
    // Several hosts (a Galera cluster): ready while any of them serves; which ones are in turn.
    const hosts = hostPool(dataSource)?.status() ?? [];
    const databaseHosts = hosts.length > 1 ? { databaseHosts: Object.fromEntries(hosts.map(({ address, up }) => [address, up ? 'up' : 'down'])) } : {};
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks, ...databaseHosts });
  });
  router.get('/metrics', async (_, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}

async function readiness(dataSource: DataSource, stopping: boolean): Promise<Record<string, string>> {
  if (stopping) return { server: 'shutting down' };
  try {
    await withTimeout(dataSource.query('SELECT 1'), CHECK_TIMEOUT_MS);
  } catch {
    return { database: 'unreachable' };
  }
  try {
    const pending = await withTimeout(pendingMigrations(dataSource), CHECK_TIMEOUT_MS);
    return { database: 'ok', migrations: pending.length > 0 ? 'pending' : 'ok' };
  } catch {
    return { database: 'ok', migrations: 'unknown' };
  }
}
