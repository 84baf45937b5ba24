// pxe-probe: act as a PXE ROM against a proxyDHCP server, and print what it would boot.
// Sends a PXE DHCPDISCOVER (broadcast, port 68), reads the PXE menu from the proxy offer
// (option 43), then asks the boot server on port 4011 for the first menu item, as PXE
// firmware does; takes the file from the offer when it has no menu. Prints JSON:
// { menu, file, siaddr } or { error }. Needs root (port 68) and
// a route for 255.255.255.255 out of the interface to probe.
//   node --import tsx scripts/pxe-probe.ts --client-ip 10.98.0.50 --arch 0 [--ipxe]
import { createSocket, type Socket } from 'node:dgram';
import { parseArgs } from 'node:util';

const MAGIC = [99, 130, 83, 99];
const MAC = Buffer.from('525400ab0c01', 'hex');

interface Reply {
  file: string;
  siaddr: string;
  options: Map<number, Buffer>;
}

function packet(type: number, arch: number, ipxe: boolean, ciaddr: string, bootItem?: number): Buffer {
  const head = Buffer.alloc(236);
  head.writeUInt8(1, 0); // BOOTREQUEST
  head.writeUInt8(1, 1); // Ethernet
  head.writeUInt8(6, 2);
  head.writeUInt32BE(0x5eed0000 + arch * 16 + type, 4); // xid
  if (ciaddr === '0.0.0.0') head.writeUInt16BE(0x8000, 10); // broadcast flag
  Buffer.from(ciaddr.split('.').map(Number)).copy(head, 12);
  MAC.copy(head, 28);
  const vendor = Buffer.from(`PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`);
  const opts: number[] = [...MAGIC, 53, 1, type, 60, vendor.length, ...vendor];
  opts.push(93, 2, arch >> 8, arch & 0xff, 94, 3, 1, 2, 1, 97, 17, 0, ...new Array(16).fill(0));
  if (ipxe) opts.push(77, 4, ...Buffer.from('iPXE'), 175, 3, 0xeb, 1, 1);
  if (bootItem !== undefined) opts.push(43, 7, 71, 4, bootItem >> 8, bootItem & 0xff, 0, 0, 255);
  opts.push(55, 4, 43, 60, 66, 67, 255);
  return Buffer.concat([head, Buffer.from(opts)]);
}

function parseReply(data: Buffer): Reply {
  const options = new Map<number, Buffer>();
  for (let i = 240; i < data.length && data[i] !== 255; ) {
    const code = data[i] as number;
    if (code === 0) {
      i++;
      continue;
    }
    const len = data[i + 1] as number;
    options.set(code, data.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  const file = data.subarray(108, 236).toString('latin1').replace(/\0.*$/s, '');
  return { file, siaddr: [...data.subarray(20, 24)].join('.'), options };
}

/** PXE menu items (option 43 sub-option 9): boot server type and text. */
function menuOf(reply: Reply): { type: number; text: string }[] {
  const o43 = reply.options.get(43) ?? Buffer.alloc(0);
  const items: { type: number; text: string }[] = [];
  for (let i = 0; i + 1 < o43.length && o43[i] !== 255; i += 2 + (o43[i + 1] as number)) {
    if (o43[i] !== 9) continue;
    const sub = o43.subarray(i + 2, i + 2 + (o43[i + 1] as number));
    for (let j = 0; j + 3 <= sub.length; j += 3 + (sub[j + 2] as number)) {
      items.push({
        type: sub.readUInt16BE(j),
        text: sub.subarray(j + 3, j + 3 + (sub[j + 2] as number)).toString(),
      });
    }
  }
  return items;
}

function exchange(socket: Socket, out: Buffer, host: string, port: number, ms: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from ${host}:${port} in ${ms} ms`)), ms);
    socket.on('message', (data) => {
      if (data.length < 240 || data.readUInt32BE(4) !== out.readUInt32BE(4)) return;
      clearTimeout(timer);
      socket.removeAllListeners('message');
      resolve(parseReply(data));
    });
    socket.send(out, port, host);
  });
}

async function probe(arch: number, ipxe: boolean, clientIp: string) {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(68, '0.0.0.0', resolve));
  socket.setBroadcast(true);
  try {
    const offer = await exchange(socket, packet(1, arch, ipxe, '0.0.0.0'), '255.255.255.255', 67, 4000);
    const menu = menuOf(offer);
    const server = [...(offer.options.get(54) ?? [])].join('.');
    const first = menu[0];
    // No menu (dnsmasq does this for UEFI archs with one service): UEFI firmware then asks
    // the proxy on port 4011 without a boot item.
    const ack = await exchange(socket, packet(3, arch, ipxe, clientIp, first?.type), server, 4011, 4000);
    return { menu, file: ack.file, siaddr: ack.siaddr };
  } finally {
    socket.close();
  }
}

const { values } = parseArgs({
  options: {
    'client-ip': { type: 'string' },
    arch: { type: 'string', default: '0' },
    ipxe: { type: 'boolean' },
  },
});
try {
  const result = await probe(Number(values.arch), values.ipxe === true, values['client-ip'] ?? '0.0.0.0');
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
}
