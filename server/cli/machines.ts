// railyard machines list|show|reprovision: read and change machine state directly in the
// state store under the data dir (the same database the server uses; safe while it runs).
import { canonicalMac } from '../machines/identity.ts';
import { openStateStore } from '../store/open.ts';
import { machineDetail, requestReprovision } from '../store/queries.ts';
import type { StateStore } from '../store/state-store.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';
import { CONFIG_HELP, CONFIG_OPTIONS, configFromFlags, parseFlags } from './common.ts';

const OPTIONS = { ...CONFIG_OPTIONS, json: { type: 'boolean' } } as const;

export const machinesCommand: Command = {
  name: 'machines',
  summary: 'list machines, show one with its timeline, or request a reprovision',
  help: `Usage:
  railyard machines list [--json] [options]
  railyard machines show <mac> [--json] [options]
  railyard machines reprovision <mac> [options]

list         every machine railyard has seen: MAC, state, profile, last seen
show         one machine: state, facts, profile, timeline, install attempts, events
reprovision  the machine's next PXE boot installs Flatcar again (its open attempt is cancelled)

Works on the state database in the data dir (state.path, default <dataDir>/state.db),
also while the server runs. MACs may be given in any common form.

Options:
      --json            machine-readable output
${CONFIG_HELP}`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, OPTIONS, true);
    const [action, mac, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    if (action !== 'list' && action !== 'show' && action !== 'reprovision') {
      throw new UsageError(`expected list, show or reprovision, got ${JSON.stringify(action ?? '')}`);
    }
    if (action !== 'list' && !mac) throw new UsageError(`machines ${action} needs a MAC address`);
    const store = await openStateStore(configFromFlags(values).state);
    try {
      const out = await runAction(store, action, mac ?? '', values.json === true);
      process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};

async function runAction(store: StateStore, action: string, mac: string, json: boolean): Promise<string> {
  if (action === 'reprovision') {
    const r = await requestReprovision(store, canonicalMac(mac));
    return json
      ? JSON.stringify({ mac: r.machine.mac, state: r.machine.state })
      : `${r.machine.mac}: ${r.machine.state} (installs on its next PXE boot)`;
  }
  if (action === 'show') {
    const d = await machineDetail(store, canonicalMac(mac));
    if (json) return JSON.stringify(d, null, 2);
    const m = d.machine;
    const lines = [
      `mac:      ${m.mac}`,
      `state:    ${m.state}${m.failures ? ` (${m.failures} failed attempts)` : ''}`,
      `profile:  ${m.profile ?? '-'}   group: ${m.group ?? '-'}`,
      `facts:    ${
        Object.entries(m.facts)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || '-'
      }`,
      `seen:     first ${m.firstSeen}, last ${m.lastSeen}`,
    ];
    if (m.failureReason)
      lines.push(`failure:  ${m.failureReason.split('\n').slice(-5).join('\n          ')}`);
    lines.push(
      'timeline:',
      ...d.timeline.map(
        (p) => `  ${p.phase.padEnd(10)} ${p.seconds === null ? 'running' : `${p.seconds.toFixed(1)} s`}`,
      ),
    );
    lines.push(
      'attempts:',
      ...(d.attempts.length ? [] : ['  none']),
      ...d.attempts.map(
        (a) =>
          `  #${a.id} ${a.state.padEnd(11)} ${a.profile} ${a.channel}/${a.board} ${a.version} disk ${a.installDisk}` +
          ` from ${a.clientIp ?? '?'}, opened ${a.openedAt}${a.closedAt ? `, closed ${a.closedAt}` : ''}`,
      ),
    );
    lines.push(
      'events:',
      ...d.events.map(
        (e) =>
          `  ${e.at}  ${e.type.padEnd(24)} ${e.source.padEnd(9)} ${(e.attemptId === null ? '-' : `#${e.attemptId}`).padEnd(6)} ${JSON.stringify(e.data)}`,
      ),
    );
    return lines.join('\n');
  }
  const machines = await store.listMachines();
  if (json) return JSON.stringify(machines, null, 2);
  if (machines.length === 0) return 'no machines yet';
  const rows = machines.map((m) => [m.mac, m.state, m.profile ?? '-', m.lastSeen]);
  return [['MAC', 'STATE', 'PROFILE', 'LAST SEEN'], ...rows]
    .map((r) => `${r[0]?.padEnd(18)} ${r[1]?.padEnd(22)} ${r[2]?.padEnd(16)} ${r[3]}`)
    .join('\n');
}
