// railyard pool list|claim|release: the warm pool (docs/pool.md), directly on the state
// database under the data dir (safe while the server runs: a claim is one transaction, and
// the server's waiting long-polls read it within 2 s). Machines and releases come from the
// same config as the server's (machinesDir, the mirror).
import { join } from 'node:path';
import { loadMachines } from '../catalog/load.ts';
import type { Config } from '../config.ts';
import { silentLogger } from '../log.ts';
import { canonicalMac } from '../machines/identity.ts';
import { MirrorCatalog } from '../mirror/catalog.ts';
import { parseClaimRequest } from '../pool/claim-request.ts';
import { poolListing } from '../pool/listing.ts';
import { PoolService } from '../pool/service.ts';
import { openStateStore } from '../store/open.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';
import { CONFIG_HELP, CONFIG_OPTIONS, configFromFlags, parseFlags } from './common.ts';

const OPTIONS = {
  ...CONFIG_OPTIONS,
  'machines-dir': { type: 'string' },
  json: { type: 'boolean' },
  profile: { type: 'string' },
  count: { type: 'string' },
  mac: { type: 'string' },
  pool: { type: 'string' },
  selector: { type: 'string', multiple: true },
  metadata: { type: 'string', multiple: true },
} as const;

export const poolCommand: Command = {
  name: 'pool',
  summary: 'the warm pool: list it, claim pooled machines into service, release a claim',
  help: `Usage:
  railyard pool list [--json] [options]
  railyard pool claim --profile P [--count N | --mac MAC] [--selector k=v]... [--metadata k=v]... [--pool G] [--json]
  railyard pool release <mac> [options]

list     pool members: state (pooling, pooled, claimed, vanished), release on disk, claim
claim    take pooled machines (oldest pooled first, those holding the profile's release
         first): each gets the profile and metadata from now on and boots into service;
         all of --count or none
release  drop a claim: not yet delivered, the machine is pooled again; otherwise it is
         reprovisioned (its next PXE boot re-enters the pool)

Works on the state database in the data dir, also while the server runs (docs/pool.md).

Options:
      --json            machine-readable output
      --machines-dir D  profiles/ and groups/ directory (machinesDir)
${CONFIG_HELP}`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, OPTIONS, true);
    const [action, mac, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    if (action !== 'list' && action !== 'claim' && action !== 'release')
      throw new UsageError(`expected list, claim or release, got ${JSON.stringify(action ?? '')}`);
    if (action === 'release' && !mac) throw new UsageError('pool release needs a MAC address');
    if (action === 'claim' && !values.profile) throw new UsageError('pool claim needs --profile');
    const config = configFromFlags(values);
    const service = await openService(config);
    try {
      const out = await runAction(service, action, mac ?? '', values);
      process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
      return 0;
    } finally {
      await service.deps.store.close();
    }
  },
};

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>['values'];

async function openService(config: Config): Promise<PoolService> {
  return new PoolService({
    store: await openStateStore(config.state),
    machines: () => loadMachines(config.machinesDir),
    releases: new MirrorCatalog(join(config.dataDir, 'mirror')),
    settings: config.pool,
    log: silentLogger(),
  });
}

async function runAction(service: PoolService, action: string, mac: string, values: Values): Promise<string> {
  const json = values.json === true;
  if (action === 'release') {
    const outcome = await service.release(canonicalMac(mac));
    return json
      ? JSON.stringify({ mac, outcome })
      : `${mac}: ${outcome === 'pooled' ? 'pooled again' : 'left the pool (reprovision requested)'}`;
  }
  if (action === 'claim') {
    const claimed = await service.claim(parseClaimRequest(claimBody(values)));
    if (json) return JSON.stringify({ claimed }, null, 2);
    return claimed
      .map(
        (c) =>
          `${c.mac}: claimed for ${c.profile} (${c.version}, ${c.prewritten ? 'pre-written: config and hand-off' : 'reinstalls'})`,
      )
      .join('\n');
  }
  const listing = await poolListing(service);
  if (json) return JSON.stringify(listing, null, 2);
  const groups = listing.groups.map(
    (g) =>
      `pool ${g.id}: base profile ${g.profile}, release ${g.version ?? 'not mirrored'}, refresh ${g.refresh}`,
  );
  if (listing.members.length === 0) return [...groups, 'no pool members yet'].join('\n');
  const rows = listing.members.map((m) => [
    m.mac,
    m.state,
    m.group,
    m.disk ? `${m.disk.version}${m.current ? '' : ' (old)'}` : '-',
    m.claim ? `${m.claim.profile} ${m.claim.claimedAt}` : '-',
    m.lastPollAt ?? '-',
  ]);
  return [
    ...groups,
    ...[['MAC', 'STATE', 'POOL', 'RELEASE', 'CLAIM', 'LAST POLL'], ...rows].map(
      (r) =>
        `${r[0]?.padEnd(18)} ${r[1]?.padEnd(9)} ${r[2]?.padEnd(12)} ${r[3]?.padEnd(16)} ${r[4]?.padEnd(34)} ${r[5]}`,
    ),
  ].join('\n');
}

/** The flags as a POST /api/v1/pool/claim body (parsed by the same schema). */
function claimBody(values: Values): Record<string, unknown> {
  const pairs = (list: string[] | undefined, flag: string) =>
    Object.fromEntries(
      (list ?? []).map((kv) => {
        const i = kv.indexOf('=');
        if (i < 1) throw new UsageError(`--${flag} expects key=value, got ${JSON.stringify(kv)}`);
        return [kv.slice(0, i), kv.slice(i + 1)];
      }),
    );
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && !Number.isInteger(count)) throw new UsageError('--count expects a whole number');
  return {
    profile: values.profile,
    metadata: pairs(values.metadata, 'metadata'),
    selector: pairs(values.selector, 'selector'),
    ...(count === undefined ? {} : { count }),
    ...(values.mac === undefined ? {} : { mac: values.mac }),
    ...(values.pool === undefined ? {} : { pool: values.pool }),
  };
}
