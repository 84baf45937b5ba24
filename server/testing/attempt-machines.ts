// Test-only machines dir for the attempt tests: a default group (profile std, smallest
// disk), a `role=db` group whose profile writes /dev/sdb and carries a secret in its
// Ignition, and a `role=kiosk` group that does not phone home.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DB_SECRET = 'DB-SECRET-5f0c2a';

export function writeAttemptMachines(dir: string, version = 'current'): string {
  const machines = join(dir, 'machines');
  mkdirSync(join(machines, 'profiles'), { recursive: true });
  mkdirSync(join(machines, 'groups'), { recursive: true });
  const ign = (extra = '') =>
    `ignition:\n  ignition: {version: 3.3.0}\n  passwd: {users: [{name: core}]}\n${extra}`;
  writeFileSync(
    join(machines, 'profiles', 'std.yaml'),
    `version: ${version}\ninstallDisk: smallest\n${ign()}`,
  );
  writeFileSync(
    join(machines, 'profiles', 'db.yaml'),
    `version: ${version}\ninstallDisk: /dev/sdb\n${ign(
      `  storage: {files: [{path: /etc/db-secret, contents: {source: "data:,${DB_SECRET}"}}]}\n`,
    )}`,
  );
  writeFileSync(
    join(machines, 'profiles', 'kiosk.yaml'),
    `version: ${version}\ninstallDisk: smallest\nphoneHome: false\n${ign()}`,
  );
  writeFileSync(join(machines, 'groups', 'default.yaml'), 'profile: std\n');
  writeFileSync(join(machines, 'groups', 'db.yaml'), 'profile: db\nselector: {role: db}\n');
  writeFileSync(join(machines, 'groups', 'kiosk.yaml'), 'profile: kiosk\nselector: {role: kiosk}\n');
  return machines;
}
