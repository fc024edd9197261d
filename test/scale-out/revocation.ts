import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Instance } from './cluster.ts';
import type { Outcome } from './load.ts';

/** How one instance went from accepting a credential to refusing it. */
export interface Refusal {
  instance: string;
  /** ms after the revocation's change-log entry when the first refusal of this instance came back (null: none). */
  firstRefusalMs: number | null;
  /**
   * ms after the revocation when the last request this instance accepted (200) was sent (null: none was
   * accepted after it). Every request sent later was refused: this is the propagation bound's figure, not
   * distorted by how long answers take on a busy machine.
   */
  lastAcceptedSentMs: number | null;
  /** Whether the instance refused requests sent after the bound (so the figure is backed by answers). */
  refusedAfterBound: boolean;
  /** Answers after the revocation that were neither 200, the refusal, nor 503 (e.g. 500). */
  unexpected: string[];
  /** 503 answers (the instance could not decide: never a 200). */
  unavailable: number;
  answers: number;
}

/**
 * Poll every instance directly (no load balancer in between) with a credential until each refuses it:
 * `revoke()` makes the change and returns the epoch ms of its change-log entry (database time, taken
 * before the commit, so the figures are upper bounds). Polls go on until every instance has refused
 * requests sent after `boundMs`, and `settleMs` more, so an instance that refuses and then accepts again
 * is caught.
 */
export async function measureRefusal(options: {
  cluster: Cluster;
  send: (instance: Instance) => Promise<Outcome>;
  refused: (outcome: Outcome) => boolean;
  /** An answer that is not a verdict but is allowed (503 + Retry-After). */
  unavailable: (outcome: Outcome) => boolean;
  revoke: () => Promise<number>;
  boundMs: number;
  timeoutMs?: number;
  settleMs?: number;
}): Promise<Refusal[]> {
  const { cluster, send, refused, unavailable } = options;
  const seen = new Map<string, Outcome[]>(cluster.instances.map((i) => [i.name, []]));
  let polling = true;
  const pollers = cluster.instances.map(async (instance) => {
    const list = seen.get(instance.name) as Outcome[];
    while (polling) {
      list.push(await send(instance));
      await sleep(5);
    }
  });
  // Every instance must accept the credential before it is revoked, or the figure means nothing.
  const accepting = () =>
    [...seen.values()].every((list) => list.some((o) => o.kind === 'answer' && o.status === 200));
  const deadline = performance.now() + 20_000;
  while (!accepting()) {
    if (performance.now() > deadline) {
      polling = false;
      await Promise.all(pollers);
      throw new Error(`not every instance accepted the credential before its revocation: ${summary(seen)}`);
    }
    await sleep(20);
  }
  const revokedAt = await options.revoke();
  const stopAt = performance.now() + (options.timeoutMs ?? 10_000);
  const boundAt = revokedAt + options.boundMs;
  let allRefusedAt: number | undefined;
  while (performance.now() < stopAt) {
    const all = [...seen.values()].every((list) => list.some((o) => o.sentAt > boundAt && refused(o)));
    if (all && allRefusedAt === undefined) allRefusedAt = performance.now();
    if (allRefusedAt !== undefined && performance.now() - allRefusedAt >= (options.settleMs ?? 500)) break;
    await sleep(20);
  }
  polling = false;
  await Promise.all(pollers);
  return cluster.instances.map((instance) => {
    const after = (seen.get(instance.name) as Outcome[]).filter((o) => o.answeredAt > revokedAt);
    const first = after.find((o) => refused(o));
    const accepted = after.filter((o) => o.kind === 'answer' && o.status === 200);
    const last = accepted.at(-1);
    return {
      instance: instance.name,
      firstRefusalMs: first ? first.answeredAt - revokedAt : null,
      lastAcceptedSentMs: last ? last.sentAt - revokedAt : null,
      refusedAfterBound: after.some((o) => o.sentAt > boundAt && refused(o)),
      unavailable: after.filter(unavailable).length,
      unexpected: after
        .filter((o) => !refused(o) && !unavailable(o) && !(o.kind === 'answer' && o.status === 200))
        .map((o) => (o.kind === 'answer' ? String(o.status) : o.error)),
      answers: after.length,
    };
  });
}

function summary(seen: Map<string, Outcome[]>): string {
  return [...seen]
    .map(([name, list]) => {
      const last = list.at(-1);
      return `${name}: ${last ? (last.kind === 'answer' ? `${last.status} ${last.text.slice(0, 200)}` : last.error) : 'nothing'}`;
    })
    .join('; ');
}

/** Epoch ms of the newest change-log entry for `key` (database time), waiting briefly for it to appear. */
export async function changeLoggedAt(cluster: Cluster, key: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const rows = await cluster.query<{ at: string | null }>(
      'select max(created_at) as at from change_log where key = $1',
      [key],
    );
    const at = rows[0]?.at;
    if (at) return Date.parse(at);
    await sleep(20);
  }
  throw new Error(`no change-log entry for ${key}`);
}
