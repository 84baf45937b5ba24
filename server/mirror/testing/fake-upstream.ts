// Test-only fake Flatcar release server: builds release directories with stand-in files
// (real names, version.txt, DIGESTS, clearsigned DIGESTS.asc, detached binary .sig made
// with a key generated at test time) and serves them on 127.0.0.1 with HEAD and Range.
// Faults can be injected per path: HTTP errors, bodies cut short, slow bodies.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { DEFAULT_FILES } from '../layout.ts';
import { clearsign, signDetached, type TestKey } from './keys.ts';

export interface ReleaseOptions {
  channel?: string;
  board?: string;
  /** Size of each stand-in artifact (version.txt excluded). */
  size?: number;
  /** Extra artifacts (e.g. OEM images). */
  extraFiles?: string[];
  /** Skip the clearsigned `.DIGESTS.asc`. */
  noAsc?: boolean;
  /** Make the `.sig` files another way (default: `signDetached` with the key). */
  sign?: (data: Uint8Array) => Promise<Uint8Array>;
}

export interface Fault {
  /** Answer with this status instead of the file. */
  status?: number;
  /** Send full headers, then only this many body bytes, then cut the connection. */
  truncateAt?: number;
  /** Delay in ms between 16 KiB chunks. */
  slowMs?: number;
  /** How many requests this fault applies to (default 1). */
  times?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
}

export class FakeUpstream {
  readonly root: string;
  readonly requests: RequestRecord[] = [];
  readonly #faults = new Map<string, Fault[]>();
  #server: Server | undefined;
  #url = '';

  constructor(root: string) {
    this.root = root;
  }

  /** `http://127.0.0.1:PORT/{channel}/{board}` */
  get template(): string {
    return `${this.#url}/{channel}/{board}`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((r) => this.#server?.listen(0, '127.0.0.1', r));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r));
  }

  /** Inject a fault for URL path `path` (e.g. /stable/amd64-usr/1.2.3/x.bin). */
  fault(path: string, fault: Fault): void {
    this.#faults.set(path, [...(this.#faults.get(path) ?? []), fault]);
  }

  /** Requests whose path ends with `suffix` (GETs only). */
  gets(suffix = ''): RequestRecord[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path.endsWith(suffix));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path,
      range: req.headers.range,
      status: 200,
    };
    this.requests.push(record);
    const fault = this.#takeFault(path);
    if (fault?.status) return void this.#end(res, record, fault.status);
    const file = join(this.root, normalize(path));
    let body: Buffer;
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      body = readFileSync(file);
    } catch {
      return void this.#end(res, record, 404);
    }
    await this.#send(req, res, record, body, fault);
  }

  #takeFault(path: string): Fault | undefined {
    const list = this.#faults.get(path);
    const fault = list?.[0];
    if (!fault) return undefined;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) list.shift();
    return fault;
  }

  #end(res: ServerResponse, record: RequestRecord, status: number): void {
    record.status = status;
    res.writeHead(status, { 'Content-Length': '0' }).end();
  }

  async #send(req: IncomingMessage, res: ServerResponse, record: RequestRecord, body: Buffer, fault?: Fault) {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start > 0 && start >= body.length) {
      record.status = 416;
      return void res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
    }
    const slice = body.subarray(start);
    record.status = m ? 206 : 200;
    const headers: Record<string, string> = {
      'Content-Length': String(slice.length),
      'Accept-Ranges': 'bytes',
    };
    if (m) headers['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(record.status, headers);
    if (req.method === 'HEAD') return void res.end();
    const cut = fault?.truncateAt;
    const out = cut === undefined ? slice : slice.subarray(0, cut);
    for (let i = 0; i < out.length; i += 16_384) {
      if (res.destroyed) return;
      res.write(out.subarray(i, i + 16_384));
      if (fault?.slowMs) await new Promise((r) => setTimeout(r, fault.slowMs));
    }
    if (cut === undefined) return void res.end();
    await new Promise((r) => setTimeout(r, 50)); // let the client take the bytes sent
    res.destroy();
  }
}

/** Build `<root>/<channel>/<board>/<version>/` with every default file and its companions. */
export async function buildRelease(
  root: string,
  key: TestKey,
  version: string,
  options: ReleaseOptions = {},
) {
  const dir = join(root, options.channel ?? 'stable', options.board ?? 'amd64-usr', version);
  mkdirSync(dir, { recursive: true });
  for (const name of [...DEFAULT_FILES, ...(options.extraFiles ?? [])]) {
    const data =
      name === 'version.txt' ? Buffer.from(versionTxt(version)) : randomBytes(options.size ?? 200_000);
    await writeArtifact(dir, name, data, key, !options.noAsc, options.sign);
  }
  return dir;
}

/** Write an artifact with `.sig`, `.DIGESTS` and (optionally) `.DIGESTS.asc`. */
export async function writeArtifact(
  dir: string,
  name: string,
  data: Buffer,
  key: TestKey,
  asc = true,
  sign = (d: Uint8Array) => signDetached(key, d),
) {
  writeFileSync(join(dir, name), data);
  writeFileSync(join(dir, `${name}.sig`), await sign(data));
  const digests = digestsFor(name, data);
  writeFileSync(join(dir, `${name}.DIGESTS`), digests);
  if (asc) writeFileSync(join(dir, `${name}.DIGESTS.asc`), await clearsign(key, digests));
}

/** Point `<root>/<channel>/<board>/<link>` at `version` (upstream keeps a copy; a link will do). */
export function setLink(
  root: string,
  version: string,
  link = 'current',
  channel = 'stable',
  board = 'amd64-usr',
) {
  const path = join(root, channel, board, link);
  rmSync(path, { force: true });
  symlinkSync(version, path);
}

export function versionTxt(version: string): string {
  const [build, branch, patch] = version.split('.');
  return [
    `FLATCAR_BUILD=${build}`,
    `FLATCAR_BRANCH=${branch}`,
    `FLATCAR_PATCH=${patch}`,
    `FLATCAR_VERSION=${version}`,
    `FLATCAR_VERSION_ID=${version}`,
    'FLATCAR_BUILD_ID="2026-01-01-0000"',
    `FLATCAR_SDK_VERSION=${build}.0.0`,
    '',
  ].join('\n');
}

export function digestsFor(name: string, data: Buffer): string {
  const h = (alg: string) => createHash(alg).update(data).digest('hex');
  return `# MD5 HASH\n${h('md5')}  ${name}\n# SHA1 HASH\n${h('sha1')}  ${name}\n# SHA512 HASH\n${h('sha512')}  ${name}\n`;
}
