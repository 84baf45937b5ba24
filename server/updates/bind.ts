// The installed system's first-boot report carries its /etc/machine-id: bind it to the MAC
// the report was authenticated for, so its Omaha requests (machineid=…) map to the machine.
// A record listener (store/observed.ts): it runs after the report is stored and never fails it.
import type { Logger } from '../log.ts';
import type { Recorded } from '../store/state-store.ts';
import type { UpdateStore } from './client.ts';

export function bindMachineIds(updates: UpdateStore, log: Logger) {
  return async ({ event }: Recorded): Promise<void> => {
    const machineId = event.data['machineId'];
    if (event.type !== 'first-boot' || typeof machineId !== 'string' || machineId === '') return;
    const result = await updates.bind(machineId, event.mac, event.at);
    if (result.ok) log.info({ mac: event.mac, machineId }, 'machine-id bound for updates');
    else
      log.warn(
        { mac: event.mac, machineId, boundTo: result.boundTo },
        `machine-id ${machineId} is already bound to ${result.boundTo}: not rebound (two disks with one machine-id?)`,
      );
  };
}
